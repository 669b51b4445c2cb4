"""Bulk import of many orders (backfill files, a platform's export): the live order rules
(`orders`) applied a batch at a time, without a signal per order."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Sum

from commerce import signals
from commerce.attribution_values import OrderData
from commerce.models import (
    CommerceOrder,
    OrderLine,
    Refund,
    StoreConnection,
)
from commerce.services.orders import (
    lines_for,
    order_apply,
    refund_row,
    refunded_amount_refresh,
    refunds_cap,
    returning_mark,
)
from commerce.services.rates import RateBook
from omnisocial.money import ZERO


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    order_ids: list[int] = field(default_factory=list)
    # Refunds capped at what remained of their order: "order <id>: <note>" (see `refunds_cap`).
    notes: list[str] = field(default_factory=list)


def order_import(
    *, store: StoreConnection, orders: Iterable[OrderData], batch_size: int = 1000
) -> ImportResult:
    """Imports many orders in batches, without per-order signals.

    Same rules as `order_save` (an older version never overwrites a newer one, refunds by id,
    a customer who ordered before marked returning where the platform does not say),
    but rows are written with `bulk_create` / `bulk_update`. Each batch commits on its own and
    then sends `orders_bulk_written` once with the ids it created or changed: the attribution
    engine is run for those orders directly, not per signal. Re-importing the same file changes
    nothing.
    """
    result = ImportResult()
    rates = RateBook(store.workspace.reporting_currency, store.workspace_id)
    batch: list[OrderData] = []
    for data in orders:
        batch.append(data)
        if len(batch) >= batch_size:
            _import_batch(store, batch, rates, result)
            batch = []
    if batch:
        _import_batch(store, batch, rates, result)
    return result


_UPDATABLE = [
    "order_number", "currency", "presentment_currency", "financial_status", "created_at",
    "updated_at_source", "total_price", "subtotal", "total_tax", "total_shipping",
    "shipping_tax", "total_discounts", "taxes_included", "cancelled_at", "status", "utm_source",
    "utm_medium", "utm_campaign",
    "utm_content", "utm_term", "referrer_url", "landing_page", "osc_click", "osc_clicks",
    "fbclid", "gclid",
    "ttclid", "visitor_id", "coupon_codes", "customer_key", "customer_tags",
    "is_returning_customer", "reporting_currency", "exchange_rate", "reporting_total",
    "is_converted",
]  # fmt: skip


@transaction.atomic
def _import_batch(store, batch: list[OrderData], rates: RateBook, result: ImportResult) -> None:
    # The last version of an order in the batch wins, like the newest delivery does.
    latest: dict[str, OrderData] = {}
    for data in batch:
        seen = latest.get(data.external_id)
        if seen is None or data.updated_at >= seen.updated_at:
            latest[data.external_id] = data
    existing = {
        order.external_id: order
        for order in CommerceOrder.objects.filter(store=store, external_id__in=list(latest))
    }
    new_orders, changed, lines_of = [], [], {}
    for external_id, data in latest.items():
        order = existing.get(external_id)
        if order is None:
            order = CommerceOrder(
                workspace_id=store.workspace_id, store=store, external_id=external_id
            )
            order_apply(order, data, store=store, rates=rates)
            new_orders.append(order)
        elif data.updated_at > order.updated_at_source:
            order_apply(order, data, store=store, rates=rates)
            changed.append(order)
        else:
            continue
        lines_of[external_id] = data
    unsaid = [o for o in new_orders if latest[o.external_id].is_returning_customer is None]
    returning_mark(new_orders, unsaid=unsaid)
    CommerceOrder.objects.bulk_create(new_orders, batch_size=1000)
    if changed:
        CommerceOrder.objects.bulk_update(changed, _UPDATABLE, batch_size=500)
        OrderLine.objects.filter(order__in=changed).delete()
    if new_orders and new_orders[0].pk is None:  # backends that return no ids (none of ours)
        existing_ids = dict(
            CommerceOrder.objects.filter(store=store, external_id__in=list(lines_of)).values_list(
                "external_id", "pk"
            )
        )
        for order in new_orders:
            order.pk = existing_ids[order.external_id]
    lines = []
    for order in new_orders + changed:
        lines.extend(lines_for(order, lines_of[order.external_id]))
    OrderLine.objects.bulk_create(lines, batch_size=2000)

    # Refunds of every order in the batch, recorded once by id.
    orders_by_id = {o.external_id: o for o in [*existing.values(), *new_orders]}
    wanted = [
        (orders_by_id[ext], refund) for ext, data in latest.items() for refund in data.refunds
    ]
    refunded_ids = set()
    if wanted:
        known = set(
            Refund.objects.filter(order__in=[o for o, _ in wanted]).values_list(
                "order_id", "external_id"
            )
        )
        rows = [
            refund_row(order, refund)
            for order, refund in wanted
            if (order.pk, refund.external_id[:64]) not in known
        ]
        refunded = dict(
            Refund.objects.filter(order__in={row.order_id for row in rows})
            .values("order_id")
            .annotate(total=Sum("amount"))
            .values_list("order_id", "total")
        )
        rows_of: dict[int, list[Refund]] = {}
        for row in rows:
            if (row.order_id, row.external_id) not in known:  # listed twice: the first counts
                known.add((row.order_id, row.external_id))
                rows_of.setdefault(row.order_id, []).append(row)
        rows = [row for order_rows in rows_of.values() for row in order_rows]
        for order_rows in rows_of.values():
            order = order_rows[0].order
            for note in refunds_cap(order, order_rows, refunded.get(order.pk) or ZERO):
                result.notes.append(f"order {order.external_id}: {note}")
        Refund.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
        refunded_ids = {row.order_id for row in rows}
        for order_id in refunded_ids:
            refunded_amount_refresh(order_id)

    touched = {o.pk for o in new_orders} | {o.pk for o in changed} | refunded_ids
    result.created += len(new_orders)
    result.updated += len(changed)
    result.unchanged += len(latest) - len(new_orders) - len(changed)
    result.order_ids.extend(sorted(touched))
    if touched:
        ids = sorted(touched)
        transaction.on_commit(
            lambda: signals.orders_bulk_written.send(
                sender=CommerceOrder, store=store, order_ids=ids
            )
        )
