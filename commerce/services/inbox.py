"""The webhook inbox: a delivery is verified and stored as it arrives (one statement), then
processed by the sweep into orders and refunds; failed ones can be replayed."""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.datastructures import CaseInsensitiveMapping
from django_q.conf import Conf
from django_q.tasks import async_task

from commerce.models import (
    CommerceOrder,
    StoreConnection,
    StorePlatform,
    WebhookDelivery,
)
from commerce.platforms import ORDER, OTHER, REFUND, Envelope, adapter, woocommerce
from commerce.services.orders import order_record, refund_record
from omnisocial.db import hot_cursor

logger = logging.getLogger(__name__)

# Headers never kept in the inbox: they authenticate people, not stores.
_DROPPED_HEADERS = {"cookie", "authorization", "proxy-authorization"}


@dataclass(frozen=True)
class Reception:
    """How a kept delivery is answered, and its row: `row` holds the stored columns by name
    (`_DELIVERY_COLUMNS`), and `delivery` builds the model from them when a caller asks (the
    webhook endpoint never does: it answers from `status_code` and `message`)."""

    status_code: int
    delivery_pk: int
    row: dict
    message: str = ""

    @cached_property
    def delivery(self) -> WebhookDelivery:
        delivery = WebhookDelivery(pk=self.delivery_pk, **self.row)
        delivery._state.adding = False
        delivery._state.db = DEFAULT_DB_ALIAS
        return delivery


@dataclass(frozen=True)
class Inspection:
    """A delivery's verdict before anything is stored (`delivery_inspect`): the store it was
    checked against (reloaded when the cached one refused it) and how to store and answer it."""

    store: StoreConnection
    verdict: _Verdict
    ping: bool = False

    @property
    def verified(self) -> bool:
        return self.verdict.verified


def delivery_inspect(
    *,
    store: StoreConnection,
    body: bytes,
    headers,
    store_reload: Callable[[], StoreConnection | None] | None = None,
) -> Inspection:
    """The signature (in constant time, over the exact raw bytes), the body and the sender
    checked before anything is stored or counted, reading nothing from the database unless the
    cached store refused it: `store` may come from a short per-process cache
    (`selectors.webhook_store`), so when it is rejected on its secret or its domain,
    `store_reload` reads the row again and the checks run once more (a secret rotated a moment
    ago in another process is never refused). The webhook endpoint counts the delivery against
    the right limit from this verdict, then keeps it (`delivery_keep`)."""
    if store.platform == StorePlatform.WOOCOMMERCE and woocommerce.is_ping(
        body=body, headers=headers
    ):
        return Inspection(store, _Verdict(200, WebhookDelivery.Status.IGNORED), ping=True)
    verdict = _delivery_inspect(store=store, body=body, headers=headers)
    if verdict.status_code == 401 and store_reload is not None:
        fresh = store_reload()
        if fresh is not None:
            store = fresh
            verdict = _delivery_inspect(store=store, body=body, headers=headers)
    return Inspection(store, verdict)


def delivery_keep(*, inspection: Inspection, body: bytes, headers) -> Reception:
    """Stores one inspected webhook request in the inbox and says how to answer it.

    The body is kept as received (never re-serialised). Rejected requests are kept too, marked
    unverified, so a wrong secret shows in the inbox, with their headers and the first
    `WebhookDelivery.UNVERIFIED_BODY_KEPT` bytes of their body only (`body_truncated`). The row
    is written with one INSERT (committed before this returns); a verified order or refund
    delivery is then left `received` for the sweep task, which `deliveries_sweep_soon` asks for.
    """
    store, verdict = inspection.store, inspection.verdict
    Status = WebhookDelivery.Status
    kept = {k: v for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS}
    # Anybody can post an unverified body: only its first bytes are kept, so forged deliveries
    # cannot fill the inbox (a verified one is kept whole, for replays).
    # A WooCommerce ping is signed by nobody: it is kept whole (a few bytes), unverified.
    verified = verdict.verified
    truncated = (
        not verified and not inspection.ping and len(body) > WebhookDelivery.UNVERIFIED_BODY_KEPT
    )
    envelope = verdict.envelope
    row = {
        "store_id": store.pk,
        "topic": "ping" if inspection.ping else envelope.topic[:80] if envelope else "",
        "delivery_id": envelope.delivery_id[:120] if envelope else "",
        "event_key": envelope.event_key[:200] if envelope else "",
        "order_external_id": "",
        "raw_body": body[: WebhookDelivery.UNVERIFIED_BODY_KEPT] if truncated else body,
        "body_truncated": truncated,
        "body_size": len(body),
        "headers": kept,
        "received_at": timezone.now(),
        "verified": verified,
        "status": verdict.status,
        "attempts": 0,
        "error": "" if inspection.ping else verdict.error,
    }
    pk = _delivery_insert(row)
    if inspection.ping:
        return Reception(200, pk, row, "ping")
    if verdict.status == Status.RECEIVED:
        transaction.on_commit(deliveries_sweep_soon)
    return Reception(verdict.status_code, pk, row, verdict.error)


def delivery_receive(
    *,
    store: StoreConnection,
    body: bytes,
    headers,
    store_reload: Callable[[], StoreConnection | None] | None = None,
) -> Reception:
    """Inspects and stores one webhook request (`delivery_inspect`, then `delivery_keep`), for
    callers that count nothing in between (replays, tests)."""
    inspection = delivery_inspect(store=store, body=body, headers=headers,
                                  store_reload=store_reload)  # fmt: skip
    return delivery_keep(inspection=inspection, body=body, headers=headers)


# The inbox row's columns, in the order `_delivery_insert` writes them, and those whose values
# their field prepares for the database (bytes, JSON, an aware time); the others go as they are.
_DELIVERY_COLUMNS = (
    "store_id", "topic", "delivery_id", "event_key", "order_external_id", "raw_body",
    "body_truncated", "body_size", "headers", "received_at", "verified", "status", "attempts",
    "error",
)  # fmt: skip
_DELIVERY_PREPARED = ("raw_body", "headers", "received_at")


@lru_cache(maxsize=4)
def _delivery_insert_sql(vendor: str, returning: bool) -> str:
    """The INSERT's text, built once per process (quoting names on every request was a tenth
    of the statement's own time)."""
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in _DELIVERY_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_DELIVERY_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - names only
    return f"{sql} RETURNING id" if returning else sql


def _delivery_insert(row: dict) -> int:
    """The webhook's one statement, written out, with no model instance on the way: the ORM's
    save costs as much again as the round trip on the hot path. The values that need it are
    prepared by their own fields, so the row is what `WebhookDelivery(**row).save()` would
    write. Returns the new row's id."""
    values = dict(row)
    for name in _DELIVERY_PREPARED:
        values[name] = _DELIVERY_FIELDS[name].get_db_prep_save(row[name], connection)
    params = [values[name] for name in _DELIVERY_COLUMNS]
    returning = connection.features.can_return_columns_from_insert
    sql = _delivery_insert_sql(connection.vendor, returning)
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] if returning else cursor.lastrowid


_DELIVERY_FIELDS = {field.attname: field for field in WebhookDelivery._meta.concrete_fields}


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
