"""Orders and refunds as the stores send them, one version at a time (webhooks, the test
delivery, REST exports): the rules every path that writes an order shares."""

from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Min, Sum
from django.utils import timezone

from commerce import signals
from commerce.attribution_values import OrderData, RefundData, customer_key
from commerce.models import (
    CommerceOrder,
    OrderLine,
    Refund,
    StoreConnection,
)
from commerce.platforms import adapter
from commerce.services.rates import RateBook
from omnisocial.money import ZERO, round_money

_TRACKED = (
    "currency", "total_price", "subtotal", "total_tax", "total_shipping", "shipping_tax",
    "total_discounts", "taxes_included", "refunded_amount", "financial_status", "cancelled_at",
    "status", "exchange_rate",
)  # fmt: skip


def _snapshot(order: CommerceOrder) -> tuple:
    return tuple(getattr(order, name) for name in _TRACKED)


def order_apply(
    order: CommerceOrder, data: OrderData, *, store: StoreConnection, rates: RateBook
) -> None:
    """Copies one order version onto the row (not its lines or refunds)."""
    for name in ("order_number", "currency", "presentment_currency", "financial_status"):
        setattr(order, name, getattr(data, name)[:64])
    if not order.currency:
        order.currency = store.currency
    order.created_at = data.created_at
    order.updated_at_source = data.updated_at
    for name in (
        "total_price", "subtotal", "total_tax", "total_shipping", "shipping_tax", "total_discounts",
    ):  # fmt: skip
        setattr(order, name, round_money(getattr(data, name), order.currency))
    order.taxes_included = data.taxes_included
    order.cancelled_at = data.cancelled_at
    order.status = (
        CommerceOrder.Status.CANCELLED if data.cancelled_at else CommerceOrder.Status.OPEN
    )
    for name, value in vars(data.attribution).items():
        setattr(order, name, value)
    order.coupon_codes = data.coupon_codes
    order.customer_key = customer_key(
        store_id=store.pk, customer_id=data.customer_id, email=data.customer_email
    )
    order.customer_tags = data.customer_tags
    if data.is_returning_customer is not None:
        order.is_returning_customer = data.is_returning_customer
    order.reporting_currency = rates.reporting_currency
    order.exchange_rate = rates.rate(order.currency, data.created_at.date())
    order.is_converted = order.exchange_rate is not None
    order.reporting_total = (
        round_money(order.total_price * order.exchange_rate, order.reporting_currency)
        if order.is_converted
        else None
    )


def lines_for(order: CommerceOrder, data: OrderData) -> list[OrderLine]:
    return [
        OrderLine(
            order=order,
            external_id=line.external_id[:64],
            product_id=line.product_id[:64],
            variant_id=line.variant_id[:64],
            sku=line.sku,
            title=line.title,
            quantity=max(line.quantity, 0),
            price=round_money(line.price, order.currency),
        )
        for line in data.lines
    ]


def returning_mark(orders: list[CommerceOrder], *, unsaid: list[CommerceOrder] | None = None):
    """Marks the new orders in `unsaid` (all of `orders`, one workspace's new orders not saved
    yet, when not given), whose platform did not say (WooCommerce), as returning when another
    order of the same customer was placed before theirs: one we hold, or another of `orders`.
    One query for all of them: the live path marks one order, a bulk import a batch."""
    keyed = [order for order in orders if order.customer_key]
    if not keyed:
        return
    first_held = dict(
        CommerceOrder.objects.filter(
            workspace_id=keyed[0].workspace_id,
            customer_key__in={order.customer_key for order in keyed},
        )
        .exclude(pk__in=[order.pk for order in keyed if order.pk is not None])
        .values("customer_key")
        .annotate(first=Min("created_at"))
        .values_list("customer_key", "first")
    )
    first_new = {}
    for order in sorted(keyed, key=lambda order: order.created_at, reverse=True):
        first_new[order.customer_key] = order.created_at
    for order in orders if unsaid is None else unsaid:
        if order.customer_key:
            earlier = (first_held.get(order.customer_key), first_new[order.customer_key])
            order.is_returning_customer = any(
                moment is not None and moment < order.created_at for moment in earlier
            )
        else:
            order.is_returning_customer = False


def order_record(*, store: StoreConnection, payload: dict) -> CommerceOrder:
    """Records an order from a store's own payload (webhook body or REST export entry)."""
    data = adapter(store.platform).order_from_payload(payload)
    return order_save(store=store, data=data)


def order_save(*, store: StoreConnection, data: OrderData) -> CommerceOrder:
    """Creates or updates one order from one version of it.

    A version older than (or as old as) the stored one never overwrites it: deliveries arrive
    unordered and more than once. Refunds are recorded by id whichever version brings them. Sends
    `order_recorded` for a new order and `order_changed` when amounts, status or refunds moved.
    """
    try:
        return _order_save(store=store, data=data)
    except IntegrityError:
        # Two workers created the same order at once: the loser updates the winner's row.
        return _order_save(store=store, data=data)


@transaction.atomic
def _order_save(*, store: StoreConnection, data: OrderData) -> CommerceOrder:
    if data.created_at is None:
        raise ValueError("the order has no creation time")
    workspace = store.workspace
    rates = RateBook(workspace.reporting_currency, workspace)
    order = (
        CommerceOrder.objects.select_for_update()
        .filter(store=store, external_id=data.external_id)
        .first()
    )
    created = order is None
    before = None if created else _snapshot(order)
    if created:
        order = CommerceOrder(workspace=workspace, store=store, external_id=data.external_id)
    if created or data.updated_at > order.updated_at_source:
        order_apply(order, data, store=store, rates=rates)
        if created and data.is_returning_customer is None:
            returning_mark([order])
        order.save()  # a concurrent create's IntegrityError rolls back this atomic: see order_save
        if not created:
            order.lines.all().delete()
        OrderLine.objects.bulk_create(lines_for(order, data))
    if _refunds_add(order, data.refunds):
        _refunded_amount_refresh(order)
    if created:
        transaction.on_commit(
            lambda: signals.order_recorded.send(sender=CommerceOrder, order=order)
        )
    elif before != _snapshot(order):
        transaction.on_commit(lambda: signals.order_changed.send(sender=CommerceOrder, order=order))
    return order


def refund_row(order: CommerceOrder, refund: RefundData) -> Refund:
    """The Refund row of one refund of `order`: the one rule the live path and bulk imports
    share (amounts rounded in the order's currency, a refund without a date dated by the order
    version that first showed it)."""
    return Refund(
        order=order,
        external_id=refund.external_id[:64],
        amount=round_money(refund.amount, order.currency),
        units=max(refund.units, 0),
        items_subtotal=None
        if refund.items_subtotal is None
        else round_money(refund.items_subtotal, order.currency),
        items_tax=round_money(refund.items_tax, order.currency),
        created_at=refund.created_at or order.updated_at_source,
        reason=refund.reason,
    )


def refunds_cap(order: CommerceOrder, rows: list[Refund], refunded: Decimal) -> list[str]:
    """Caps each new refund of `order` (in turn) at what remains of the order: its total less
    `refunded` (the refunds recorded before) and the new refunds before it. A store's refund
    beyond the order (a refund of 99999999999.99 on an order of 50.00) would otherwise count
    as that much revenue lost. The store's figure stays in the refund's reason; returns one note
    per capped refund, for the inbox or the import's report."""
    notes = []
    for row in rows:
        remaining = max(order.total_price - refunded, ZERO)
        if row.amount > remaining:
            said = row.amount
            notes.append(
                f"refund {row.external_id} capped at {remaining} {order.currency}, what remained "
                f"of the order's {order.total_price}: the store's figure was {said}"
            )
            row.reason = f"[capped at {remaining}: the store's figure was {said}] {row.reason}"
            row.reason = row.reason.strip()[:300]
            row.amount = remaining
        refunded += row.amount
    return notes


def _refunds_add(order: CommerceOrder, refunds: Iterable[RefundData]) -> bool:
    """Records the refunds `order` does not have yet (capped, see `refunds_cap`: the notes are
    left on `order.refund_notes`); True when there were any."""
    order.refund_notes = []
    rows = [refund_row(order, refund) for refund in refunds]
    if not rows:
        return False
    known = set(
        order.refunds.filter(external_id__in=[r.external_id for r in rows]).values_list(
            "external_id", flat=True
        )
    )
    new = []
    for row in rows:
        if row.external_id not in known:
            known.add(row.external_id)  # listed twice in one payload: the first one counts
            new.append(row)
    refunded = order.refunds.aggregate(total=Sum("amount"))["total"] or ZERO
    order.refund_notes = refunds_cap(order, new, refunded)
    Refund.objects.bulk_create(new, ignore_conflicts=True)
    return bool(new)


def refunded_amount_refresh(order_id: int) -> Decimal:
    """Stores the order's refunded amount as the sum of its refunds, and returns it. Its
    updated_at moves with it (a queryset update skips auto_now): the safety net re-attributes
    orders changed since they were last attributed, a new refund included."""
    total = Refund.objects.filter(order_id=order_id).aggregate(total=Sum("amount"))["total"]
    CommerceOrder.objects.filter(pk=order_id).update(
        refunded_amount=total or ZERO, updated_at=timezone.now()
    )
    return total or ZERO


def _refunded_amount_refresh(order: CommerceOrder) -> None:
    order.refunded_amount = refunded_amount_refresh(order.pk)


@transaction.atomic
def refund_record(
    *, store: StoreConnection, order_external_id: str, refund: RefundData
) -> CommerceOrder | None:
    """Records a refund by its id; None when its order has not arrived yet (the caller waits).
    A refund beyond what remains of the order is capped (`order.refund_notes` says so)."""
    order = (
        CommerceOrder.objects.select_for_update()
        .filter(store=store, external_id=order_external_id)
        .first()
    )
    if order is None:
        return None
    if _refunds_add(order, [refund]):
        _refunded_amount_refresh(order)
        transaction.on_commit(lambda: signals.order_changed.send(sender=CommerceOrder, order=order))
    return order
