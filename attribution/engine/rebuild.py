"""The rebuild: every attribution row and rollup of a workspace recomputed in bulk (the
nightly schedule, the command, a settings change). It uses the live path's rules
(`rows.order_rows`) on journeys built from one context loaded for the whole period, writes the
touch rows with COPY (PostgreSQL), and builds the rollups from them in set-based statements.

A full rebuild replaces the workspace's rows in one transaction: readers see the old figures
until it commits, and a run killed half-way leaves them untouched.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections import namedtuple
from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from attribution import rollups
from attribution.engine import effects, touchpoints, writers
from attribution.engine.bulk import bulk_memory
from attribution.engine.live import identities_learn, order_attribute, units_of
from attribution.engine.rows import BATCH, TouchSink, batch_credit
from attribution.journeys import JourneyContext
from attribution.models import (
    AttributionState,
    AttributionTouch,
    DailyClicks,
    DailyRevenueCell,
    DailyTotals,
    PostRevenue,
    RefundTouch,
)
from commerce.models import CommerceOrder, Refund
from omnisocial.models import Workspace

logger = logging.getLogger("attribution.engine")


class RecalculationBusy(Exception):
    """Another recalculation of the same workspace is running."""


LEASE = timedelta(minutes=30)
# What journeys and revenue read of an order; a bulk rebuild loads nothing else.
ORDER_FIELDS = (
    "pk", "workspace_id", "created_at", "osc_click", "osc_clicks", "customer_key", "utm_source",
    "utm_medium", "utm_campaign", "utm_content", "referrer_url", "coupon_codes", "total_price",
    "total_tax", "total_shipping", "shipping_tax", "refunded_amount", "cancelled_at", "status",
    "exchange_rate", "reporting_currency", "taxes_included",
)  # fmt: skip


def workspace_recalculate(
    *,
    workspace: Workspace,
    since=None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Rebuilds every attribution row and rollup of the workspace (orders created on or after
    `since` only, when given) in batches, then the rollups in full, under every model the
    workspace computes (the journeys are the costly part, and every model shares them).

    One run per workspace at a time (RecalculationBusy otherwise), so two runs never interleave
    their writes; see `_workspace_lock`. A run killed half-way leaves consistent rows (a full
    rebuild commits once, at the end), and the next run rebuilds everything again.
    """
    state, _ = AttributionState.objects.get_or_create(workspace=workspace)
    exclusive = writers.rebuild_exclusive(workspace.pk)
    with _workspace_lock(workspace, state), exclusive, _collector_paused():
        done = _recalculate(workspace, state, since, workspace.attribution_models, progress)
    # Orders that arrived or changed while it ran: their live path waited for this.
    writers.deferred_attribute(workspace_id=workspace.pk, attribute=order_attribute)
    return done


@contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused for the run. A rebuild holds millions of small
    objects (journeys, touches, rows) that live until it ends and form no cycles; every full
    collection walks all of them again, which made the journeys of a million orders take a third
    longer than ten times a hundred thousand's. Reference counting still frees everything the
    moment it is unused; the collector runs once at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect()


# The first key of the PostgreSQL advisory locks the recalculation takes (the second is the
# workspace id), so they never collide with other users of advisory locks.
ADVISORY_LOCK_NAMESPACE = 0x05C1A771


@contextmanager
def _workspace_lock(workspace: Workspace, state: AttributionState):
    """Keeps a second recalculation of the workspace out while this one runs.

    On PostgreSQL: a session advisory lock. It belongs to the database session, so a worker
    killed with SIGKILL (or a lost host) releases it when its connection dies, and the next run
    starts at once. Elsewhere (SQLite): a lease on AttributionState that expires after LEASE;
    a run killed by SIGKILL leaves it until then, and `recalculate_attribution --release-lease`
    clears it at once when the operator knows no run is alive.
    """
    if connection.vendor == "postgresql":
        key = [ADVISORY_LOCK_NAMESPACE, workspace.pk]
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            taken = cursor.fetchone()[0]
        if not taken:
            raise RecalculationBusy(
                f"A recalculation of {workspace.slug} is already running (it holds the "
                "workspace's lock until it ends or its process dies)."
            )
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        return
    now = timezone.now()
    taken = (
        AttributionState.objects.filter(pk=state.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if not taken:
        until = AttributionState.objects.filter(pk=state.pk).values_list("lease_until", flat=True)[
            0
        ]
        raise RecalculationBusy(
            f"A recalculation of {workspace.slug} holds the lease until {until:%Y-%m-%d %H:%M} "
            "UTC. If no run is alive (it was killed), clear it with "
            f"`manage.py recalculate_attribution --workspace {workspace.slug} --release-lease`."
        )
    try:
        yield
    finally:
        AttributionState.objects.filter(pk=state.pk).update(lease_until=None)


def lease_release(*, workspace: Workspace) -> bool:
    """Clears a lease left by a killed run (SQLite); True when there was one."""
    return bool(
        AttributionState.objects.filter(workspace=workspace, lease_until__isnull=False).update(
            lease_until=None
        )
    )


class OrderRow(namedtuple("OrderRow", ORDER_FIELDS)):
    """An order as a bulk rebuild reads it: just the fields journeys and revenue need, as a
    named tuple (built in C, where a model instance per order, or an attribute set per field,
    cost seconds at a million orders). Revenue and cancellation use CommerceOrder's own
    methods, so the two paths cannot disagree."""

    __slots__ = ()
    Status = CommerceOrder.Status
    is_cancelled = CommerceOrder.is_cancelled
    shipping_before_tax = CommerceOrder.shipping_before_tax
    revenue_in_store_currency = CommerceOrder.revenue_in_store_currency
    attributable_revenue = CommerceOrder.attributable_revenue


def _orders_read(orders_qs) -> list[OrderRow]:
    """The orders of a rebuild in (created_at, pk) order, as named tuples. On PostgreSQL in one
    statement read straight (its rows arrive together, and psycopg already gives the fields'
    Python types: aware datetimes, Decimals), the JSON lists (`osc_clicks`, `coupon_codes`)
    parsed as Django's JSON field would; elsewhere through Django's converters."""
    fields = [f if f != "pk" else "id" for f in ORDER_FIELDS]
    ordered = orders_qs.order_by("created_at", "pk").values_list(*fields)
    make = OrderRow._make
    if connection.vendor != "postgresql":
        return [make(row) for row in ordered.iterator(chunk_size=20_000)]
    sql, params = ordered.query.sql_with_params()
    clicks, codes = ORDER_FIELDS.index("osc_clicks"), ORDER_FIELDS.index("coupon_codes")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        make((*row[:clicks], _listed(row[clicks]), *row[clicks + 1 : codes], _listed(row[codes]),
              *row[codes + 1 :]))
        for row in rows
    ]  # fmt: skip


def _listed(stored) -> list:
    """A JSON list column (coupon codes, kept click ids) as a list."""
    if stored == "[]":
        return []
    return json.loads(stored) if isinstance(stored, str) else list(stored)


def _batch_credit(workspace, batch, journeys, refunds, units, models, effects):
    return batch_credit(
        workspace,
        [(order, journeys[order.pk], refunds.get(order.pk, []), units.get(order.pk, 0))
         for order in batch if journeys.get(order.pk)],
        models=models, removal_effects=effects,
    )  # fmt: skip


def _rows_replace(workspace, batch, credits) -> None:
    """Replaces the rows of one batch of orders (a partial run), under the row locks the live
    path takes: it may be re-attributing one of these right now."""
    ids = [order.pk for order in batch]
    list(CommerceOrder.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
    AttributionTouch.objects.filter(order_id__in=ids).delete()
    RefundTouch.objects.filter(order_id__in=ids).delete()
    credits.write()


def _journey_clicks(workspace, since):
    """The scratch table of the journeys' clicks, found set-based (PostgreSQL); elsewhere
    nothing, and the journeys are matched in Python."""
    if connection.vendor == "postgresql":
        return touchpoints.journey_clicks(workspace, since=since)
    return nullcontext()


def _journeys_in_python(workspace, orders) -> dict:
    """Journeys from one context loaded for the whole period. Customer links are learnt for
    every order first; a journey only uses the links known by its order's time, so this equals
    learning them in order."""
    context = JourneyContext.load_whole(workspace, orders)
    identities_learn(workspace, context.learnt)
    return {order.pk: context.journey(order) for order in orders}


def _recalculate(workspace, state, since, models, progress) -> dict:
    orders_qs = CommerceOrder.objects.filter(workspace=workspace)
    if since is not None:
        orders_qs = orders_qs.filter(created_at__gte=since)
    orders = _orders_read(orders_qs)
    total = len(orders)
    clock = _PhaseClock(workspace)
    started_at = timezone.now()

    # Pass 1: journeys of every order (the data-driven model needs them all), then the removal
    # effects, which need every journey (a partial run, --since, keeps the stored ones).
    with _journey_clicks(workspace, since) as clicks_table:
        if clicks_table is not None:
            journeys = touchpoints.journeys(workspace, orders, clicks_table)
        else:
            journeys = _journeys_in_python(workspace, orders)
        if progress:
            progress(total // 2, total)
        clock.lap("journeys")
        removal_effects = None
        if "data-driven" in models:
            if since is None:
                removal_effects = effects.compute(
                    workspace, state, journeys, clicks_table=clicks_table
                )
            else:
                removal_effects = effects.stored(workspace)
        clock.lap("removal effects")

    refunds: dict[int, list[Refund]] = {}
    for refund in Refund.objects.filter(order__in=orders_qs).order_by("pk"):
        refunds.setdefault(refund.order_id, []).append(refund)
    units = units_of(orders_qs.values("pk"))

    # Pass 2: rows. A full rebuild replaces the workspace's rows in one transaction: readers see
    # the old figures until it commits, and a run killed half-way leaves them untouched. A
    # partial run (--since) replaces batch by batch.
    written = 0
    full = since is None
    with transaction.atomic() if full else nullcontext():
        if full:
            AttributionTouch.objects.filter(workspace=workspace).delete()
            RefundTouch.objects.filter(workspace=workspace).delete()
        with TouchSink(queued=True) if full else nullcontext() as sink:
            for start in range(0, total, BATCH):
                batch = orders[start : start + BATCH]
                credits = _batch_credit(
                    workspace, batch, journeys, refunds, units, models, removal_effects
                )
                written += len(credits.touches) * len(credits.models)
                if full:
                    sink.add(credits)
                else:
                    with transaction.atomic():
                        _rows_replace(workspace, batch, credits)
                if progress:
                    progress(total // 2 + min(start + BATCH, total) // 2, total)
        clock.lap("attribution rows")
        with transaction.atomic():
            _bulk_session(analyze=(AttributionTouch, RefundTouch))
            _rollups_rebuild(workspace, models, clicks=full)
        clock.lap("rollups")
    _statistics_refresh()
    # Orders that changed while this ran are picked up by the next incremental pass.
    AttributionState.objects.filter(pk=state.pk).update(
        full_run_at=timezone.now(), incremental_run_at=started_at
    )
    return {"orders": total, "attributions": written}


def _bulk_session(*, analyze: Sequence = ()) -> None:
    """Prepares the rebuild's transaction for its set-based statements (PostgreSQL): more
    memory to aggregate in, and statistics of the tables it has just written, so the planner
    plans for their real size (it sees this transaction's own rows)."""
    bulk_memory()
    _analyze(*analyze)


def _statistics_refresh() -> None:
    """After a bulk rebuild, PostgreSQL's planner statistics describe the tables as they were
    before it; until autovacuum comes round, the live path's small queries may get plans made
    for another table (seen: a 50 ms bitmap AND instead of a 1 ms index scan). ANALYZE the
    rebuilt tables now (a sample: seconds, not a scan)."""
    _analyze(AttributionTouch, RefundTouch, DailyRevenueCell, PostRevenue, DailyTotals, DailyClicks)


def _analyze(*models) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


class _PhaseClock:
    """Logs how long each phase of a recalculation took (operators tune batch sizes with it)."""

    def __init__(self, workspace: Workspace):
        self.workspace, self.started = workspace, time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        elapsed = now - self.started
        logger.debug("recalculate %s: %s took %.1f s", self.workspace.slug, phase, elapsed)
        self.started = now


def _rollups_rebuild(workspace: Workspace, models: Sequence[str], *, clicks: bool) -> None:
    DailyRevenueCell.objects.filter(workspace=workspace).delete()
    rollups.daily_revenue_build(workspace, models)
    rollups.daily_totals_build(workspace, models)
    rollups.post_revenue_rebuild(workspace, None)
    if clicks:
        rollups.clicks_rebuild(workspace=workspace)


def rollups_rebuild(*, workspace: Workspace) -> None:
    """Rebuilds every rollup of the workspace from the raw rows as they stand (set-based, no
    re-attribution): what a deletion of posts, orders, refunds, stores, links or clicks needs,
    since deletions cascade to raw rows without shifting the rollups. Holds the workspace's
    recalculation lock (RecalculationBusy while one runs: that run rebuilds them anyway)."""
    state, _ = AttributionState.objects.get_or_create(workspace=workspace)
    exclusive = writers.rebuild_exclusive(workspace.pk)
    with _workspace_lock(workspace, state), exclusive, transaction.atomic():
        _bulk_session()
        _rollups_rebuild(workspace, workspace.attribution_models, clicks=True)
    writers.deferred_attribute(workspace_id=workspace.pk, attribute=order_attribute)
