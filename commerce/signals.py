"""Named domain signals of the commerce app.

Sent explicitly by `commerce.services` inside `transaction.on_commit`, never from `post_save`, so a
receiver only ever sees committed orders. Receivers should only enqueue work.
"""

from django.dispatch import Signal

order_recorded = Signal()
"""An order was stored for the first time.

Arguments: `order` (CommerceOrder), `sender` (the CommerceOrder class).
"""

order_changed = Signal()
"""An already stored order changed its amounts, status, refunds or exchange rate.

Arguments: `order` (CommerceOrder), `sender` (the CommerceOrder class).
"""

orders_bulk_written = Signal()
"""A bulk path (order import, exchange-rate loading) created or changed many orders at once.

Sent once per batch instead of `order_recorded` / `order_changed` per row. Arguments:
`store` (StoreConnection, or None when several stores are concerned), `order_ids` (list of
CommerceOrder ids), `sender` (the CommerceOrder class).
"""
