"""A store's orders from its own API: the history import (on connecting, or on demand) and the
missed-webhook sync (every STORE_SYNC_MINUTES).

Platforms do not promise to deliver every webhook (Shopify tells apps to reconcile with its API),
and a new store has orders from before it was connected. Both are read through the store's API
(`commerce.platforms.shopify_admin`, `commerce.platforms.woocommerce_api`) a page at a time and
written by `order_import`, the rules every path shares: an order already held is updated only by
a newer version (a webhook that brought a newer one during the import is not rolled back), a
refund is recorded once by its id, nothing is doubled.

Each page is written in one transaction together with the import's progress (cursor, pages,
counts, heartbeat), so a worker killed between pages loses nothing and a new run resumes from
the page after the last one saved. A run whose heartbeat is older than the task timeout has no
worker any more and is taken over (`import_run`); the schedule (`stores_sync`) re-queues such
runs. The heartbeat also fences a run: a page is saved only while the heartbeat is the one its
run last wrote, so a worker that was taken over cannot write its page over the new run's.

A history import holds the per-page `orders_bulk_written` announcement and sends
`store_orders_imported` once at its end: its orders are attributed by one recalculation of the
imported range, not one by one through the live path. A sync's few orders take the live path,
as webhooks do.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from commerce import signals
from commerce.models import CommerceOrder, StoreConnection, StoreImport, StorePlatform
from commerce.platforms import shopify_admin, woocommerce_api
from commerce.services.imports import order_import
from omnisocial.jobs import failure_text

logger = logging.getLogger(__name__)

# The sync asks for orders updated since its last run minus this much: store clocks drift, and
# an order written while the last sync read its pages may carry a time just before it started.
SYNC_OVERLAP = timedelta(minutes=5)
# Finished syncs are kept this long (one every STORE_SYNC_MINUTES per store adds up).
SYNC_RECORDS_KEPT = timedelta(days=30)
NOTES_KEPT = 4000  # characters of notes (unreadable orders, capped refunds) kept on an import
PENDING = (StoreImport.Status.QUEUED, StoreImport.Status.RUNNING)
TASK = "commerce.tasks.store_import_run"


class _Lost(Exception):
    """The run was taken over by another worker: its page is not saved."""


def credentials_missing(store: StoreConnection) -> str:
    """Why the store's API cannot be called (a sentence for the page), or "" when it can."""
    if store.platform == StorePlatform.SHOPIFY:
        if not store.api_key:
            return "Paste the store's Admin API access token first (scope read_orders)."
    elif store.platform == StorePlatform.WOOCOMMERCE:
        if not (store.store_url and store.api_key and store.api_secret):
            return "Enter the site's URL and a REST API consumer key and secret (Read) first."
    else:
        return "A custom store has no API to read orders from; send them by webhook or CSV."
    return ""


def _timeout() -> timedelta:
    return timedelta(seconds=settings.Q_CLUSTER["timeout"])


def _lost_filter(now: datetime) -> Q:
    """Runs without a worker: running with a heartbeat older than the task timeout, or queued
    for longer than a lost task is redelivered after (the broker's retry)."""
    return Q(
        status=StoreImport.Status.RUNNING,
        heartbeat_at__lt=now - _timeout(),
    ) | Q(
        status=StoreImport.Status.QUEUED,
        requested_at__lt=now - timedelta(seconds=settings.Q_CLUSTER["retry"]),
    )


def history_days_limit(store: StoreConnection) -> int:
    """At most a year past the workspace's lookback: the oldest order can still find its clicks."""
    return 365 + store.workspace.lookback_days


def sync_since(store: StoreConnection) -> datetime:
    """Where the next sync starts: the last one's start less the overlap, or the store's
    connection (the history import covers what came before)."""
    return (store.last_synced_at or store.created_at) - SYNC_OVERLAP


def import_request(
    *, store: StoreConnection, kind: str = StoreImport.Kind.HISTORY, days: int | None = None
) -> StoreImport:
    """Queues an import of the store's orders: its history (orders created in the last `days`,
    STORE_HISTORY_DAYS by default) or a sync (orders updated since the last sync).

    Raises ValidationError, with the reason, when the store has no API credentials, when
    `days` is outside 1..365 + the lookback window, or when an import of the store is queued or
    running (a run whose worker was lost is resumed from its last page instead, and the error
    says so)."""
    reason = credentials_missing(store)
    if reason:
        raise ValidationError(reason, code="credentials")
    now = timezone.now()
    if kind == StoreImport.Kind.HISTORY:
        days = settings.STORE_HISTORY_DAYS if days is None else days
        limit = history_days_limit(store)
        if not isinstance(days, int) or not 1 <= days <= limit:
            raise ValidationError(
                f"Import between 1 and {limit} days of orders (a year past the lookback window).",
                code="days",
            )
        since = now - timedelta(days=days)
    elif kind == StoreImport.Kind.SYNC:
        since = sync_since(store)
    else:
        raise ValidationError(f"No such import: {kind!r}.", code="kind")
    with transaction.atomic():
        # The store's row serialises two requests arriving at once.
        StoreConnection.objects.select_for_update().filter(pk=store.pk).first()
        pending = store.imports.filter(status__in=PENDING).order_by("pk").first()
        if pending is None:
            created = StoreImport.objects.create(store=store, kind=kind, since=since)
            transaction.on_commit(lambda: async_task(TASK, created.pk, group="store-imports"))
            return created
    if StoreImport.objects.filter(pk=pending.pk).filter(_lost_filter(now)).exists():
        async_task(TASK, pending.pk, group="store-imports")
        raise ValidationError(
            f"Import {pending.pk} lost its worker after {pending.pages} pages; it resumes from "
            "there now. Ask again once it has finished.",
            code="resuming",
        )
    raise ValidationError(
        f"An import of this store is already {pending.status} ({pending.get_kind_display()}, "
        f"{pending.imported} orders read so far); ask again once it has finished.",
        code="pending",
    )


def import_run(
    *, store_import: StoreImport, time_limit: float | None = None, sleep=time.sleep
) -> StoreImport:
    """Runs a queued import page by page until the store's API has no more pages, then records
    how it ended. Takes over a run whose worker was lost (heartbeat older than the task
    timeout) and resumes it after its last saved page; leaves alone one that is running
    elsewhere or has finished. With `time_limit` (seconds) it stops after the page that passes
    it, queued again to continue in a new task (a task must end within the worker's timeout).
    `sleep` is how it waits between tries (the outbound client's retries, Shopify's throttle).
    Returns the import as it stands."""
    beat = timezone.now()
    runnable = Q(status=StoreImport.Status.QUEUED) | Q(
        status=StoreImport.Status.RUNNING, heartbeat_at__lt=beat - _timeout()
    )
    taken = (
        StoreImport.objects.filter(pk=store_import.pk)
        .filter(runnable)
        .update(
            status=StoreImport.Status.RUNNING,
            heartbeat_at=beat,
            started_at=Coalesce(F("started_at"), beat),
        )
    )
    run = StoreImport.objects.select_related("store__workspace").get(pk=store_import.pk)
    if not taken:
        return run
    held = run.kind == StoreImport.Kind.HISTORY
    try:
        with signals.bulk_announcements_held() if held else nullcontext():
            _pages(run, beat, time_limit=time_limit, sleep=sleep)
    except _Lost:
        pass
    except Exception as exc:
        logger.exception("import %s of store %s failed", run.pk, run.store_id)
        # The heartbeat last committed (a page that failed rolled its own back).
        committed = StoreImport.objects.filter(pk=run.pk).values_list("heartbeat_at", flat=True)
        _end(run, committed.first(), error=f"The import failed: {failure_text(exc)}")
    run.refresh_from_db()
    return run


class _Cancelled(BaseException):
    """Stops the page reader's thread: the run it reads for has ended."""


class _PageReader:
    """Reads the next page in a thread while the run writes the current one: the store's answer
    and its parsing overlap the database's work, rather than follow it (at 100,000 orders, a
    third of the import's time).

    The thread never touches the database, and never waits by itself: each of its waits (a
    retry's backoff, Shopify's refill) is handed to the run's own thread and done there with the
    run's `sleep`, between two pages, as if the run read its pages itself. When that wait
    raises (the worker stops), the thread is cancelled."""

    def __init__(self, read, sleep):
        self._read, self._sleep = read, sleep
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-import")
        self._asks: queue.SimpleQueue = queue.SimpleQueue()
        self._cancelled = False
        self._future = None

    def start(self, **arguments) -> None:
        self._future = self._pool.submit(self._read, sleep=self._thread_sleep, **arguments)
        self._future.add_done_callback(lambda future: self._asks.put(None))

    def result(self):
        """The page asked for by `start`, doing the thread's waits meanwhile."""
        while True:
            ask = self._asks.get()
            if ask is None:
                return self._future.result()
            seconds, done = ask
            try:
                self._sleep(seconds)
            except BaseException:
                self._cancelled = True
                raise
            finally:
                done.set()

    def _thread_sleep(self, seconds: float) -> None:
        done = threading.Event()
        self._asks.put((seconds, done))
        done.wait()
        if self._cancelled:
            raise _Cancelled

    def close(self) -> None:
        self._cancelled = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def _pages(run: StoreImport, beat: datetime, *, time_limit: float | None, sleep) -> None:
    store = run.store
    client = shopify_admin if store.platform == StorePlatform.SHOPIFY else None
    client = client or woocommerce_api
    by = "created" if run.kind == StoreImport.Kind.HISTORY else "updated"
    started = time.monotonic()
    seen_cursors = {run.cursor}
    previous_ids: list[str] | None = None
    sized = client is shopify_admin
    reader = _PageReader(client.orders_page, sleep)
    ask = {"store": store, "since": run.since, "by": by}
    if sized:
        ask["page_size"] = shopify_admin.PAGE_SIZE
    try:
        reader.start(cursor=run.cursor, count=run.total is None, **ask)
        while True:
            try:
                page = reader.result()
            except client.ApiError as exc:
                _end(run, beat, error=str(exc), refused=exc.refused)
                return
            if sized:
                ask["page_size"] = page.page_size
            number = run.pages + 1
            if page.ids and page.ids == previous_ids:
                _end(run, beat, error=f"The store's API answered page {number} with the same "
                     "orders as the page before; the import stopped there rather than loop. The "
                     "orders read so far are kept; ask for the import again.")  # fmt: skip
                return
            if page.cursor and page.cursor in seen_cursors:
                _end(run, beat, error=f"The store's API gave page {number} a next-page cursor "
                     "it had given before; the import stopped there rather than loop. The "
                     "orders read so far are kept; ask for the import again.")  # fmt: skip
                return
            seen_cursors.add(page.cursor)
            previous_ids = page.ids
            # Past the time limit, this page is the slice's last: no page is read ahead.
            last = time_limit is not None and time.monotonic() - started >= time_limit
            if page.cursor and not last:
                reader.start(cursor=page.cursor, count=False, **ask)
            beat = _page_save(run, beat, page)
            if run.status != StoreImport.Status.RUNNING:
                return
            if last:
                _pause(run, beat)
                return
    finally:
        reader.close()


def _page_save(run: StoreImport, beat: datetime, page) -> datetime:
    """Writes one page's orders and the import's progress in one transaction; returns the new
    heartbeat. The last page ends the import in the same transaction."""
    store = run.store
    external_ids = [order.external_id for order in page.orders]
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                # The page's held orders locked as the live path locks one (order_save): a
                # webhook of one of them waits for this page, and this page reads what a
                # webhook committed before it, so an older version never overwrites a newer.
                list(
                    CommerceOrder.objects.select_for_update()
                    .filter(store=store, external_id__in=external_ids)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                result = order_import(store=store, orders=page.orders)
                now = timezone.now()
                notes = [*page.unreadable, *result.notes]
                changes = {
                    "cursor": page.cursor or run.cursor,
                    "pages": F("pages") + 1,
                    "imported": F("imported") + len(page.ids),
                    "created": F("created") + result.created,
                    "updated": F("updated") + result.updated,
                    "heartbeat_at": now,
                }
                if page.total is not None:
                    changes["total"] = page.total
                if notes:
                    changes["error"] = _notes(run.error, notes)
                if not page.cursor:
                    changes.update(status=StoreImport.Status.DONE, finished_at=now)
                saved = StoreImport.objects.filter(pk=run.pk, heartbeat_at=beat).update(**changes)
                if not saved:
                    raise _Lost
                run.refresh_from_db()
                if store.api_error:
                    StoreConnection.objects.filter(pk=store.pk).update(api_error="")
                    store.api_error = ""
                if not page.cursor:
                    _finished(run)
            return now
        except IntegrityError:
            # A webhook created one of the page's new orders after the page read them: the
            # page is written again, now finding that order held.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _notes(kept: str, notes: list[str]) -> str:
    text = "\n".join([kept, *notes] if kept else notes)
    return text if len(text) <= NOTES_KEPT else text[: NOTES_KEPT - 1] + "…"


def _finished(run: StoreImport) -> None:
    """Inside the last page's transaction: what the store page shows of the import, and its
    announcement."""
    store = run.store
    if run.kind == StoreImport.Kind.SYNC:
        StoreConnection.objects.filter(pk=store.pk).update(
            last_synced_at=run.started_at, last_sync_filled=run.created + run.updated
        )
    elif store.last_synced_at is None:
        # The history was read from its start on: the first sync need not go further back.
        StoreConnection.objects.filter(pk=store.pk, last_synced_at__isnull=True).update(
            last_synced_at=run.started_at
        )
    _announce(run)


def _announce(run: StoreImport) -> None:
    written = run.created + run.updated
    if run.kind == StoreImport.Kind.HISTORY and written:
        store, since = run.store, run.since
        transaction.on_commit(
            lambda: signals.store_orders_imported.send(
                sender=StoreImport, store=store, since=since, orders=written
            )
        )


def _end(run: StoreImport, beat, *, error: str, refused: bool = False) -> None:
    """Records a run that stopped on a fault, with the reason (and, when the platform refused
    the credentials, the same reason on the store, where the store page shows it)."""
    with transaction.atomic():
        ended = StoreImport.objects.filter(pk=run.pk, heartbeat_at=beat).update(
            status=StoreImport.Status.FAILED,
            error=_notes(error, [run.error] if run.error else []),
            finished_at=timezone.now(),
        )
        if not ended:
            return
        if refused:
            StoreConnection.objects.filter(pk=run.store_id).update(api_error=error[:2000])
        run.refresh_from_db()
        _announce(run)


def _pause(run: StoreImport, beat) -> None:
    """Hands the rest of the import to a new task (queued, resuming from the saved cursor)."""
    with transaction.atomic():
        paused = StoreImport.objects.filter(pk=run.pk, heartbeat_at=beat).update(
            status=StoreImport.Status.QUEUED, requested_at=timezone.now()
        )
        if paused:
            transaction.on_commit(lambda: async_task(TASK, run.pk, group="store-imports"))


def stores_sync() -> int:
    """The schedule (every STORE_SYNC_MINUTES): queues a sync of every active store whose API
    can be called (orders updated since its last sync), skipping a store whose credentials were
    refused (until new ones are saved) or that has an import pending; re-queues imports whose
    worker was lost, to resume from their last page; forgets finished syncs older than
    SYNC_RECORDS_KEPT. Returns how many imports it queued."""
    now = timezone.now()
    queued = 0
    lost = list(StoreImport.objects.filter(_lost_filter(now)).values_list("pk", flat=True))
    stores = (
        StoreConnection.objects.filter(is_active=True)
        .exclude(api_key="")
        .filter(api_error="")
        .exclude(imports__status__in=PENDING)
        .select_related("workspace")
        .order_by("pk")
    )
    for store in stores:
        if credentials_missing(store):
            continue
        try:
            import_request(store=store, kind=StoreImport.Kind.SYNC)
        except ValidationError:
            continue  # an import started meanwhile
        queued += 1
    for pk in lost:
        async_task(TASK, pk, group="store-imports")
        queued += 1
    StoreImport.objects.filter(
        kind=StoreImport.Kind.SYNC,
        status__in=(StoreImport.Status.DONE, StoreImport.Status.FAILED),
        finished_at__lt=now - SYNC_RECORDS_KEPT,
    ).delete()
    return queued
