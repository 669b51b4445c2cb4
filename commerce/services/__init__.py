"""Writes of the commerce app, one module per subject: `stores` (connecting a store, its
secret), `inbox` (webhook deliveries: received, swept, replayed), `orders` (an order or refund
as a store sends it: the rules every path shares), `imports` (many orders at once, by the same
rules), `history` (a store's orders from its own API: the history import and the missed-webhook
sync), `rates` (exchange rates and the orders they convert) and `coupons`.

Every write is one transaction. Outside effects (tasks, domain signals) run in
`transaction.on_commit`, so nobody ever sees an order that was rolled back. The names below are
what other apps and the commands call.
"""

from commerce.services.coupons import coupon_save
from commerce.services.history import (
    credentials_missing,
    history_days_limit,
    import_request,
    import_run,
    stores_sync,
)
from commerce.services.imports import ImportResult, order_import
from commerce.services.inbox import (
    Reception,
    deliveries_sweep,
    deliveries_sweep_soon,
    delivery_process,
    delivery_receive,
    delivery_replay,
)
from commerce.services.orders import order_record, order_save, refund_record
from commerce.services.rates import RateBook, exchange_rates_load, order_conversions_refresh
from commerce.services.stores import store_connect, store_secret_rotate

__all__ = [
    "ImportResult", "RateBook", "Reception", "coupon_save", "credentials_missing",
    "deliveries_sweep", "deliveries_sweep_soon", "delivery_process", "delivery_receive",
    "delivery_replay", "exchange_rates_load", "history_days_limit", "import_request",
    "import_run", "order_conversions_refresh", "order_import", "order_record", "order_save",
    "refund_record", "store_connect", "store_secret_rotate", "stores_sync",
]  # fmt: skip
