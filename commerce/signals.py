"""Named domain signals of the commerce app.

Sent explicitly by `commerce.services` inside `transaction.on_commit`, never from `post_save`, so a
receiver only ever sees committed orders. Receivers should only enqueue work.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.dispatch import Signal

_held: ContextVar[bool] = ContextVar("commerce_bulk_announcements_held", default=False)


class _HoldableSignal(Signal):
    """A signal whose sending a bulk writer can hold (`bulk_announcements_held`) when it
    announces the same orders otherwise, once, at the end."""

    def send(self, sender, **named):
        if _held.get():
            return []
        return super().send(sender, **named)

    def send_robust(self, sender, **named):
        if _held.get():
            return []
        return super().send_robust(sender, **named)


@contextmanager
def bulk_announcements_held():
    """Inside, `orders_bulk_written` is not sent (in this thread or task only). For a store's
    history import (`commerce.services.history`), which sends `store_orders_imported` once for
    everything it wrote, so its orders are attributed in one recalculation of their range
    rather than page by page through the live path."""
    token = _held.set(True)
    try:
        yield
    finally:
        _held.reset(token)


order_recorded = Signal()
"""An order was stored for the first time.

Arguments: `order` (CommerceOrder), `sender` (the CommerceOrder class).
"""

order_changed = Signal()
"""An already stored order changed its amounts, status, refunds or exchange rate.

Arguments: `order` (CommerceOrder), `sender` (the CommerceOrder class).
"""

orders_bulk_written = _HoldableSignal()
"""A bulk path (order import, exchange-rate loading) created or changed many orders at once.

Sent once per batch instead of `order_recorded` / `order_changed` per row. Arguments:
`store` (StoreConnection, or None when several stores are concerned), `order_ids` (list of
CommerceOrder ids), `sender` (the CommerceOrder class). Not sent inside
`bulk_announcements_held` (a history import, which sends `store_orders_imported` instead).
"""

store_orders_imported = Signal()
"""A store's history import (`commerce.services.history`) wrote orders: every order created
from `since` on may have been created or changed, and is to be attributed again in one
recalculation of that range. Sent once, after the import ended (done or failed) having
written something; its pages' `orders_bulk_written` are held meanwhile.

Arguments: `store` (StoreConnection), `since` (aware datetime: the import's first creation
time), `orders` (how many orders it created or changed), `sender` (the StoreImport class).
"""
