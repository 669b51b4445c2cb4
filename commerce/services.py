"""Writes of the commerce app: stores, the webhook inbox, orders, refunds, coupons, rates.

Every write is one transaction. Outside effects (tasks, domain signals) run in
`transaction.on_commit`, so nobody ever sees an order that was rolled back.
"""

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.datastructures import CaseInsensitiveMapping
from django_q.conf import Conf
from django_q.tasks import async_task

from commerce import signals
from commerce.attribution_values import OrderData, RefundData, customer_key
from commerce.models import (
    CommerceOrder,
    Coupon,
    ExchangeRate,
    OrderLine,
    Refund,
    StoreConnection,
    StorePlatform,
    WebhookDelivery,
    custom_store_secret,
)
from commerce.platforms import ORDER, OTHER, REFUND, Envelope, adapter, woocommerce
from omnisocial.db import hot_cursor
from omnisocial.models import Campaign, Post, Workspace
from omnisocial.money import ZERO, round_money

logger = logging.getLogger(__name__)

# Headers never kept in the inbox: they authenticate people, not stores.
_DROPPED_HEADERS = {"cookie", "authorization", "proxy-authorization"}


# Stores ------------------------------------------------------------------------------------------


def _clean_domain(value: str) -> str:
    value = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    return value.strip("/")


@transaction.atomic
def store_connect(
    *,
    workspace: Workspace,
    platform: str,
    shop_domain: str,
    currency: str = "",
    webhook_secret: str = "",
    name: str = "",
) -> StoreConnection:
    """Connects a store. Custom stores get a generated Standard Webhooks secret.

    Shopify and WooCommerce sign with a secret the store owns (the app's client secret, the
    webhook's secret), which the user pastes here.
    """
    if platform not in StorePlatform.values:
        raise ValidationError({"platform": f"{platform!r} is not one of {StorePlatform.values}."})
    domain = _clean_domain(shop_domain)
    if not domain:
        raise ValidationError({"shop_domain": "The store's domain is required."})
    secret = webhook_secret.strip()
    if platform == StorePlatform.CUSTOM and not secret:
        secret = custom_store_secret()
    if not secret:
        raise ValidationError({"webhook_secret": "Paste the secret the store signs webhooks with."})
    store = StoreConnection(
        workspace=workspace,
        platform=platform,
        shop_domain=domain,
        currency=(currency or workspace.reporting_currency).upper(),
        webhook_secret=secret,
        name=name.strip(),
    )
    store.full_clean()
    store.save()
    return store


@transaction.atomic
def store_secret_rotate(
    *, store: StoreConnection, new_secret: str = "", grace: timedelta = timedelta(hours=1)
) -> StoreConnection:
    """Replaces the webhook secret; the previous one stays valid for `grace` (default one hour).

    The platforms overlap old and new secrets for a while (retries of earlier deliveries are
    signed with the old one), so cutting it at once would reject real orders.
    """
    store = StoreConnection.objects.select_for_update().get(pk=store.pk)
    secret = new_secret.strip()
    if not secret:
        if store.platform != StorePlatform.CUSTOM:
            raise ValidationError({"webhook_secret": "Paste the store's new secret."})
        secret = custom_store_secret()
    if grace < timedelta(0) or grace > timedelta(days=7):
        raise ValidationError({"grace": "The grace period is between 0 and 7 days."})
    store.previous_webhook_secret = store.webhook_secret
    store.previous_secret_expires_at = timezone.now() + grace
    store.webhook_secret = secret
    store.save(
        update_fields=["webhook_secret", "previous_webhook_secret", "previous_secret_expires_at"]
    )
    return store


# The inbox ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reception:
    status_code: int
    delivery: WebhookDelivery
    message: str = ""


def delivery_receive(
    *,
    store: StoreConnection,
    body: bytes,
    headers,
    store_reload: Callable[[], StoreConnection | None] | None = None,
) -> Reception:
    """Stores one webhook request in the inbox and says how to answer it.

    The signature is checked in constant time over the exact raw bytes before anything is
    parsed; the body is kept as received (never re-serialised). Rejected requests are kept too,
    marked unverified, so a wrong secret shows in the inbox, with their headers and the first
    `WebhookDelivery.UNVERIFIED_BODY_KEPT` bytes of their body only (`body_truncated`). The row
    is written with one INSERT (committed before this returns); a verified order or refund
    delivery is then left `received` for the sweep task, which `deliveries_sweep_soon` asks for.

    `store` may come from a short per-process cache (`selectors.webhook_store`): when it is
    rejected on its secret or its domain, `store_reload` reads the row again and the checks run
    once more, so a secret rotated a moment ago in another process is never refused.
    """
    kept = {k: v for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS}
    if store.platform == StorePlatform.WOOCOMMERCE and woocommerce.is_ping(
        body=body, headers=headers
    ):
        delivery = WebhookDelivery(
            store=store, raw_body=body, body_size=len(body), headers=kept, topic="ping",
            status=WebhookDelivery.Status.IGNORED,
        )  # fmt: skip
        delivery.save()
        return Reception(200, delivery, "ping")

    verdict = _delivery_inspect(store=store, body=body, headers=headers)
    if verdict.status_code == 401 and store_reload is not None:
        fresh = store_reload()
        if fresh is not None:
            store = fresh
            verdict = _delivery_inspect(store=store, body=body, headers=headers)
    # Anybody can post an unverified body: only its first bytes are kept, so forged deliveries
    # cannot fill the inbox (a verified one is kept whole, for replays).
    truncated = not verdict.verified and len(body) > WebhookDelivery.UNVERIFIED_BODY_KEPT
    delivery = WebhookDelivery(
        store=store,
        raw_body=body[: WebhookDelivery.UNVERIFIED_BODY_KEPT] if truncated else body,
        body_truncated=truncated,
        body_size=len(body),
        headers=kept,
        verified=verdict.verified,
        status=verdict.status,
        error=verdict.error,
    )
    if verdict.envelope is not None:
        delivery.topic = verdict.envelope.topic[:80]
        delivery.delivery_id = verdict.envelope.delivery_id[:120]
        delivery.event_key = verdict.envelope.event_key[:200]
    _delivery_insert(delivery)
    if verdict.status == WebhookDelivery.Status.RECEIVED:
        transaction.on_commit(deliveries_sweep_soon)
    return Reception(verdict.status_code, delivery, verdict.error)


# The inbox row's columns, in the order `_delivery_insert` writes them.
_DELIVERY_COLUMNS = [
    "store_id", "topic", "delivery_id", "event_key", "order_external_id", "raw_body",
    "body_truncated", "body_size", "headers", "received_at", "verified", "status", "attempts",
    "error",
]  # fmt: skip


def _delivery_insert(delivery: WebhookDelivery) -> None:
    """The webhook's one statement, written out: the ORM's save costs as much again as the
    round trip on the hot path. Fields are prepared by their own fields (bytes, JSON, times), so
    the row is what `delivery.save()` would write."""
    fields = {f.attname: f for f in WebhookDelivery._meta.concrete_fields}
    values = [
        fields[name].get_db_prep_save(getattr(delivery, name), connection)
        for name in _DELIVERY_COLUMNS
    ]
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in _DELIVERY_COLUMNS)
    placeholders = ", ".join(["%s"] * len(values))
    with hot_cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id",  # noqa: S608
                values,
            )
            delivery.pk = cursor.fetchone()[0]
        else:
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values)  # noqa: S608
            delivery.pk = cursor.lastrowid
    delivery._state.adding = False
    delivery._state.db = connection.alias


@dataclass(frozen=True)
class _Verdict:
    status_code: int
    status: str
    verified: bool = False
    error: str = ""
    envelope: Envelope | None = None


def _delivery_inspect(*, store: StoreConnection, body: bytes, headers) -> _Verdict:
    """How to store and answer a (non-ping) delivery; reads nothing from the database."""
    Status = WebhookDelivery.Status
    module = adapter(store.platform)
    try:
        # JSON is UTF-8 (RFC 8259), and Standard Webhooks signs text: no signature can cover
        # other bytes, so they are refused as malformed before the signature check.
        body.decode("utf-8")
    except UnicodeDecodeError:
        return _Verdict(400, Status.REJECTED, error="The body is not UTF-8 text.")
    if not any(
        module.verify(secret=secret, body=body, headers=headers) for secret in store.valid_secrets()
    ):
        return _Verdict(
            401, Status.REJECTED, error="The signature does not match the store's webhook secret."
        )
    try:
        payload = json.loads(body)
    except ValueError:  # invalid JSON
        return _Verdict(400, Status.REJECTED, verified=True, error="The body is not valid JSON.")
    except RecursionError:  # nested deeper than any order: refused, never a 500
        return _Verdict(
            400, Status.REJECTED, verified=True, error="The body's JSON is nested too deeply."
        )
    envelope = module.describe(store=store, payload=payload, headers=headers)
    if not envelope.sender_matches:
        return _Verdict(
            401, Status.REJECTED, verified=True, envelope=envelope,
            error="The sending shop is not the connected store.",
        )  # fmt: skip
    if envelope.kind == OTHER:
        return _Verdict(200, Status.IGNORED, verified=True, envelope=envelope)
    return _Verdict(200, Status.RECEIVED, verified=True, envelope=envelope)


# The sweep -----------------------------------------------------------------------------------
#
# Accepting a delivery does not enqueue a task of its own (that was a second INSERT into the
# broker, plus pickling and signing, on every request). It asks for a sweep instead, at most once
# per SWEEP_INTERVAL per web process, and the sweep processes every delivery still `received`.
# A request that falls inside the interval is covered by the sweep already asked for: that task
# is told when the interval ends and, if it finishes earlier, waits until then and looks again.
# The `sweep-webhook-deliveries` schedule sweeps every minute too, for an enqueue that was lost.

SWEEP_INTERVAL = 1.0  # seconds
SWEEP_BATCH = 50
SWEEP_TIME_BUDGET = 30.0  # seconds, then the sweep hands over to a fresh task
_sweep_lock = threading.Lock()
_sweep_asked_at = -SWEEP_INTERVAL  # time.monotonic() of this process's last enqueue


def deliveries_sweep_soon() -> None:
    """Enqueues `commerce.tasks.deliveries_sweep`, at most once per SWEEP_INTERVAL per process.

    Called after the delivery's row is committed. A failure to enqueue is logged, never raised:
    the delivery is stored and answered, and the next request or the minute schedule sweeps it.
    """
    global _sweep_asked_at
    if Conf.SYNC:
        # Tasks run inline (the test suite): nothing to save, and each delivery is processed now.
        async_task("commerce.tasks.deliveries_sweep")
        return
    now = time.monotonic()
    with _sweep_lock:
        if now - _sweep_asked_at < SWEEP_INTERVAL:
            return
        _sweep_asked_at = now
    try:
        async_task("commerce.tasks.deliveries_sweep", time.time() + SWEEP_INTERVAL)
    except Exception:  # noqa: BLE001 - the delivery is safe; the schedule will sweep it
        logger.exception("could not enqueue the webhook delivery sweep")
        with _sweep_lock:
            _sweep_asked_at = -SWEEP_INTERVAL


def deliveries_sweep(
    *, batch_size: int = SWEEP_BATCH, time_budget: float | None = SWEEP_TIME_BUDGET
) -> int:
    """Processes every delivery still `received`, oldest first; returns how many it processed.

    Each batch is one transaction (`delivery_process` keeps a savepoint of its own). On PostgreSQL
    the batch is
    claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so several workers sweep side by side and
    never take the same delivery; on SQLite (IMMEDIATE transactions) the sweeps take turns. After
    `time_budget` seconds, with deliveries left, it enqueues another sweep and returns, so a long
    backlog never runs into the task timeout.
    """
    Status = WebhookDelivery.Status
    started = time.monotonic()
    done = 0
    while True:
        current = None
        try:
            with transaction.atomic():
                pending = WebhookDelivery.objects.filter(status=Status.RECEIVED).order_by("id")
                if connection.features.has_select_for_update_skip_locked:
                    pending = pending.select_for_update(skip_locked=True, of=("self",))
                batch = list(pending.select_related("store__workspace")[:batch_size])
                for current in batch:
                    delivery_process(delivery=current)
        except Exception as exc:
            # `delivery_process` keeps its own failures; this is one it could not (a database
            # error). The batch was rolled back: mark that delivery failed (so it cannot come back
            # forever) and sweep the rest again.
            if current is None:
                raise
            logger.exception("webhook delivery %s failed", current.pk)
            WebhookDelivery.objects.filter(pk=current.pk).update(
                status=Status.FAILED,
                attempts=F("attempts") + 1,
                processed_at=timezone.now(),
                error="".join(traceback.format_exception_only(exc)).strip()[:4000],
            )
            continue
        done += len(batch)
        if len(batch) < batch_size:
            return done
        if time_budget is not None and time.monotonic() - started > time_budget:
            async_task("commerce.tasks.deliveries_sweep")
            return done


def delivery_process(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Turns a verified delivery into an order, an order update or a refund. Idempotent.

    A delivery whose event was already processed is marked duplicate and changes nothing. A
    refund that arrives before its order waits, and is processed when the order is recorded. A
    failure keeps its error on the delivery, which can be replayed after the fix.
    """
    Status = WebhookDelivery.Status
    if not delivery.verified or delivery.status in {Status.PROCESSED, Status.DUPLICATE}:
        return delivery
    store = delivery.store
    if (
        delivery.event_key
        and WebhookDelivery.objects.filter(
            store=store, event_key=delivery.event_key, status=Status.PROCESSED
        )
        .exclude(pk=delivery.pk)
        .exists()
    ):
        return _delivery_finish(delivery, Status.DUPLICATE)
    module = adapter(store.platform)
    notes: list[str] = []
    try:
        with transaction.atomic():
            payload = json.loads(bytes(delivery.raw_body))
            # Header names arrive in any case; stored ones are read case-insensitively too.
            headers = CaseInsensitiveMapping(delivery.headers)
            envelope = module.describe(store=store, payload=payload, headers=headers)
            if envelope.kind == ORDER:
                order = order_record(store=store, payload=payload)
                delivery.order = order
                delivery.order_external_id = order.external_id
                status = Status.PROCESSED
                notes = order.refund_notes
                transaction.on_commit(lambda: _deliveries_waiting_release(order=order))
            elif envelope.kind == REFUND:
                order_external_id, refund = module.refund_from_payload(payload)
                delivery.order_external_id = order_external_id
                order = refund_record(
                    store=store, order_external_id=order_external_id, refund=refund
                )
                delivery.order = order
                status = Status.PROCESSED if order else Status.WAITING
                notes = order.refund_notes if order else []
            else:
                status = Status.IGNORED
    except Exception as exc:  # noqa: BLE001 - any failure must stay visible in the inbox
        logger.exception("webhook delivery %s failed", delivery.pk)
        delivery.error = "".join(traceback.format_exception_only(exc)).strip()[:4000]
        return _delivery_finish(delivery, Status.FAILED)
    # A processed delivery keeps a note here when its figures were corrected (a refund capped).
    delivery.error = "; ".join(notes)[:4000]
    return _delivery_finish(delivery, status)


def _delivery_finish(delivery: WebhookDelivery, status: str) -> WebhookDelivery:
    delivery.status = status
    delivery.attempts += 1
    delivery.processed_at = timezone.now()
    delivery.save(
        update_fields=[
            "status", "attempts", "processed_at", "error", "order", "order_external_id"
        ]
    )  # fmt: skip
    return delivery


def _deliveries_waiting_release(*, order: CommerceOrder) -> None:
    waiting = WebhookDelivery.objects.filter(
        store_id=order.store_id,
        order_external_id=order.external_id,
        status=WebhookDelivery.Status.WAITING,
    ).values_list("pk", flat=True)
    for pk in list(waiting):
        async_task("commerce.tasks.delivery_process", pk)


def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Processes a failed (or waiting) delivery again, from its stored raw body."""
    if not delivery.verified:
        raise ValidationError("Only verified deliveries can be replayed.")
    if delivery.status in {WebhookDelivery.Status.PROCESSED, WebhookDelivery.Status.DUPLICATE}:
        return delivery
    delivery.status = WebhookDelivery.Status.RECEIVED
    return delivery_process(delivery=delivery)


# Orders ------------------------------------------------------------------------------------------


class RateBook:
    """Exchange rates by (currency, day) for one workspace, read once per bulk run."""

    def __init__(self, reporting_currency: str, workspace: Workspace | int | None = None):
        self.reporting_currency = reporting_currency
        self.workspace_id = getattr(workspace, "pk", workspace)
        self._cache: dict[tuple[str, date], Decimal | None] = {}

    def rate(self, currency: str, day: date) -> Decimal | None:
        """The latest rate on or before the order's day, at most `ExchangeRate.MAX_AGE` old;
        on the same day the workspace's own rate wins over a shared one."""
        if currency == self.reporting_currency:
            return Decimal(1)
        key = (currency, day)
        if key not in self._cache:
            self._cache[key] = (
                ExchangeRate.objects.filter(
                    Q(workspace__isnull=True) | Q(workspace_id=self.workspace_id),
                    from_currency=currency,
                    to_currency=self.reporting_currency,
                    day__lte=day,
                    day__gte=day - ExchangeRate.MAX_AGE,
                )
                .order_by("-day", F("workspace_id").asc(nulls_last=True))
                .values_list("rate", flat=True)
                .first()
            )
        return self._cache[key]


_TRACKED = (
    "currency", "total_price", "subtotal", "total_tax", "total_shipping", "total_discounts",
    "taxes_included", "refunded_amount", "financial_status", "cancelled_at", "status",
    "exchange_rate",
)  # fmt: skip


def _snapshot(order: CommerceOrder) -> tuple:
    return tuple(getattr(order, name) for name in _TRACKED)


def _order_apply(
    order: CommerceOrder, data: OrderData, *, store: StoreConnection, rates: RateBook
) -> None:
    """Copies one order version onto the row (not its lines or refunds)."""
    for name in ("order_number", "currency", "presentment_currency", "financial_status"):
        setattr(order, name, getattr(data, name)[:64])
    if not order.currency:
        order.currency = store.currency
    order.created_at = data.created_at
    order.updated_at_source = data.updated_at
    for name in ("total_price", "subtotal", "total_tax", "total_shipping", "total_discounts"):
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


def _lines_for(order: CommerceOrder, data: OrderData) -> list[OrderLine]:
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


def _is_returning(order: CommerceOrder) -> bool:
    """Platforms that do not say (WooCommerce) are answered from the orders we hold."""
    if not order.customer_key:
        return False
    return (
        CommerceOrder.objects.filter(
            workspace_id=order.workspace_id,
            customer_key=order.customer_key,
            created_at__lt=order.created_at,
        )
        .exclude(pk=order.pk)
        .exists()
    )


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
        _order_apply(order, data, store=store, rates=rates)
        if created and data.is_returning_customer is None:
            order.is_returning_customer = _is_returning(order)
        order.save()  # a concurrent create's IntegrityError rolls back this atomic: see order_save
        if not created:
            order.lines.all().delete()
        OrderLine.objects.bulk_create(_lines_for(order, data))
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


def _refunded_amount_refresh(order: CommerceOrder) -> None:
    total = order.refunds.aggregate(total=Sum("amount"))["total"] or ZERO
    order.refunded_amount = total
    # updated_at moves with it (a queryset update skips auto_now): the safety net re-attributes
    # orders changed since they were last attributed, a new refund included.
    CommerceOrder.objects.filter(pk=order.pk).update(
        refunded_amount=total, updated_at=timezone.now()
    )


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


# Bulk import -------------------------------------------------------------------------------------


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

    Same rules as `order_save` (an older version never overwrites a newer one, refunds by id),
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
    "total_discounts", "taxes_included", "cancelled_at", "status", "utm_source", "utm_medium",
    "utm_campaign",
    "utm_content", "utm_term", "referrer_url", "landing_page", "osc_click", "fbclid", "gclid",
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
            _order_apply(order, data, store=store, rates=rates)
            new_orders.append(order)
        elif data.updated_at > order.updated_at_source:
            _order_apply(order, data, store=store, rates=rates)
            changed.append(order)
        else:
            continue
        lines_of[external_id] = data
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
        lines.extend(_lines_for(order, lines_of[order.external_id]))
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
            total = Refund.objects.filter(order_id=order_id).aggregate(t=Sum("amount"))["t"]
            CommerceOrder.objects.filter(pk=order_id).update(
                refunded_amount=total or ZERO, updated_at=timezone.now()
            )

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


# Coupons and exchange rates ----------------------------------------------------------------------


@transaction.atomic
def coupon_save(
    *,
    workspace: Workspace,
    code: str,
    campaign: Campaign | None = None,
    posts: Iterable[Post] = (),
) -> Coupon:
    """Creates or updates a coupon; codes are kept lower-cased and compared that way."""
    code = code.strip().lower()
    if not code:
        raise ValidationError({"code": "A coupon needs a code."})
    posts = list(posts)
    if campaign is not None and campaign.workspace_id != workspace.pk:
        raise ValidationError("The campaign belongs to another workspace.")
    if any(post.workspace_id != workspace.pk for post in posts):
        raise ValidationError("A post belongs to another workspace.")
    coupon, _ = Coupon.objects.update_or_create(
        workspace=workspace, code=code, defaults={"campaign": campaign}
    )
    if posts:
        coupon.posts.add(*posts)
    return coupon


@transaction.atomic
def exchange_rates_load(
    *, rates: Iterable[tuple[date, str, str, Decimal]], workspace: Workspace | None = None
) -> int:
    """Stores (day, from, to, rate) rows, replacing the same day's earlier rate of the same scope
    (shared when `workspace` is None, else that workspace's own); then re-converts the orders the
    new rates apply to, in that scope only. Returns the number of rows written."""
    wanted: dict[tuple[date, str, str], Decimal] = {
        (day, src.upper(), dst.upper()): rate for day, src, dst, rate in rates
    }
    if not wanted:
        return 0
    scope = ExchangeRate.objects.filter(workspace=workspace)
    days = [day for day, _, _ in wanted]
    existing = {
        (row.day, row.from_currency, row.to_currency): row
        for row in scope.filter(
            day__gte=min(days),
            day__lte=max(days),
            from_currency__in={src for _, src, _ in wanted},
            to_currency__in={dst for _, _, dst in wanted},
        )
    }
    changed, created = [], []
    for key, rate in wanted.items():
        row = existing.get(key)
        if row is None:
            created.append(
                ExchangeRate(
                    workspace=workspace,
                    day=key[0],
                    from_currency=key[1],
                    to_currency=key[2],
                    rate=rate,
                )  # fmt: skip
            )
        elif row.rate != rate:
            row.rate = rate
            changed.append(row)
    ExchangeRate.objects.bulk_create(created, batch_size=1000)
    ExchangeRate.objects.bulk_update(changed, ["rate"], batch_size=1000)
    windows: dict[tuple[str, str], tuple[date, date]] = {}
    for day, src, dst in wanted:
        first, last = windows.get((src, dst), (day, day))
        windows[(src, dst)] = (min(first, day), max(last, day))
    order_conversions_refresh(windows=windows, workspace=workspace)
    return len(wanted)


def order_conversions_refresh(
    *,
    windows: dict[tuple[str, str], tuple[date, date]],
    workspace: Workspace | None = None,
) -> list[int]:
    """Re-converts the orders a rate change can reach: per (from, to) pair, the unconverted ones
    and those dated from the first changed day to `MAX_AGE` past the last (an order reads the
    latest rate up to that old). With `workspace`, only that workspace's orders; a shared rate
    reaches every workspace. Orders whose rate moved are saved and re-attributed."""
    changed = []
    books: dict[tuple[int, str], RateBook] = {}
    for (src, dst), (first, last) in windows.items():
        start = datetime.combine(first, clock.min, tzinfo=UTC)
        end = datetime.combine(last + ExchangeRate.MAX_AGE, clock.max, tzinfo=UTC)
        reached = CommerceOrder.objects.filter(currency=src, reporting_currency=dst).filter(
            Q(is_converted=False) | Q(created_at__gte=start, created_at__lte=end)
        )
        if workspace is not None:
            reached = reached.filter(workspace=workspace)
        for order in reached.only(
            "id", "workspace_id", "currency", "created_at", "total_price", "exchange_rate",
            "is_converted", "reporting_total", "reporting_currency",
        ).iterator():  # fmt: skip
            book = books.setdefault((order.workspace_id, dst), RateBook(dst, order.workspace_id))
            rate = book.rate(order.currency, order.created_at.date())
            if rate == order.exchange_rate and order.is_converted == (rate is not None):
                continue
            order.exchange_rate = rate
            order.is_converted = rate is not None
            order.reporting_total = (
                round_money(order.total_price * rate, dst) if rate is not None else None
            )
            order.save(update_fields=["exchange_rate", "is_converted", "reporting_total"])
            changed.append(order.pk)
    if changed:
        transaction.on_commit(
            lambda: signals.orders_bulk_written.send(
                sender=CommerceOrder, store=None, order_ids=changed
            )
        )
    return changed
