"""The attribution engine: from an order's journey to RevenueAttribution rows and rollups.

`order_attribute` re-attributes one order (the incremental path the signals take);
`workspace_recalculate` rebuilds a workspace in bulk (the nightly path and the command). Both
compute rows with the same function, `order_rows`, so they always agree.

Money: the order's revenue in the reporting currency per the workspace's revenue basis, split to
the cent by largest remainder (attribution.credit). Refunds are dated events: each refund is split
by the same weights and booked on its own day, and a touch's `revenue` is its sale part less its
refund parts, so every figure nets out exactly. A cancelled or unconverted order credits nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from attribution import credit, markov, rollups
from attribution.journeys import JourneyContext, JourneyTouch
from attribution.models import (
    AttributionState,
    Click,
    DailyRevenue,
    MatchedField,
    PostRevenue,
    RefundAttribution,
    RevenueAttribution,
    VisitorIdentity,
)
from commerce.models import CommerceOrder, Refund
from omnisocial.models import Workspace
from omnisocial.money import ZERO, round_money

logger = logging.getLogger(__name__)
UNITS_PLACES = Decimal("0.000001")
BATCH = 2000


# Column orders of the rows `order_rows` returns: plain tuples, so a bulk rebuild of millions of
# rows builds no model instances and can stream them to PostgreSQL with COPY.
ATTRIBUTION_COLUMNS = (
    "workspace_id", "order_id", "attribution_model", "position", "post_id", "campaign_id",
    "platform", "click_id", "touched_at", "matched_field", "matched_value", "attribution_weight",
    "currency", "gross_revenue", "refunded", "revenue", "units", "order_day", "is_fallback",
)  # fmt: skip
REFUND_COLUMNS = (
    "workspace_id", "order_id", "refund_id", "attribution_model", "position", "post_id",
    "campaign_id", "platform", "day", "amount",
)  # fmt: skip


@dataclass
class OrderCredit:
    attributions: list[tuple]
    refunds: list[tuple]


def order_rows(
    *,
    workspace: Workspace,
    order: CommerceOrder,
    journey: Sequence[JourneyTouch],
    refunds: Sequence[Refund],
    units: int,
    models: Iterable[str],
    removal_effects: dict | None,
) -> OrderCredit:
    """The attribution rows of one order under every model (nothing for a cancelled order, an
    order without a rate to the reporting currency, or an order with no social touch)."""
    gross = order.attributable_revenue(workspace.revenue_basis, net_of_refunds=False)
    if not journey or gross is None or order.is_cancelled:
        return OrderCredit([], [])
    currency = workspace.reporting_currency
    touches = [
        credit.Touch(key=t.key, post_id=t.post_id, touched_at=t.touched_at, position=index)
        for index, t in enumerate(journey)
    ]
    if all(t.matched_field == MatchedField.COUPON_CODE for t in journey):
        credits = credit.shared_credit(touches, models=models)
    else:
        credits = credit.credits_for(
            touches, order_at=order.created_at, models=models, removal_effects=removal_effects
        )
    order_day = timezone.localdate(order.created_at, workspace.zone)
    # Refunds in date order, each capped so the refunds never exceed what was sold.
    remaining, refund_amounts = gross, []
    for refund in sorted(refunds, key=lambda r: (r.created_at, r.pk)):
        amount = min(
            round_money(
                refund.amount_for(workspace.revenue_basis, taxes_included=order.taxes_included)
                * order.exchange_rate,
                currency,
            ),
            remaining,
        )
        remaining -= amount
        day = timezone.localdate(refund.created_at, workspace.zone)
        refund_amounts.append((refund.pk, amount, day))

    ws, order_id = workspace.pk, order.pk
    attributions, refund_rows = [], []
    for model, result in credits.items():
        gross_parts = result.split(gross, currency)
        refunded = [ZERO] * len(touches)
        positions = [touch.position for touch in result.touches]
        for refund_id, amount, day in refund_amounts:
            for index, part in enumerate(result.split(amount, currency)):
                refunded[index] += part
                t = journey[positions[index]]
                refund_rows.append(
                    (ws, order_id, refund_id, model, positions[index], t.post_id,
                     t.campaign_id, t.platform, day, part)
                )  # fmt: skip
        for index, weight in enumerate(result.weights):
            t, sold, back = journey[positions[index]], gross_parts[index], refunded[index]
            # units * weight is exact: a whole number times six decimal places.
            attributions.append(
                (ws, order_id, model, positions[index], t.post_id, t.campaign_id, t.platform,
                 t.click_pk, t.touched_at, t.matched_field, t.matched_value[:200], weight,
                 currency, sold, back, sold - back if refund_amounts else sold, units * weight,
                 order_day, result.fallback)
            )  # fmt: skip
    return OrderCredit(attributions, refund_rows)


def rows_write(model, columns: Sequence[str], rows: list[tuple]) -> None:
    """Inserts rows: COPY on PostgreSQL (a bulk rebuild writes millions), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=BATCH
    )


def _effects(workspace: Workspace, keys: Iterable | None = None) -> dict | None:
    """The stored removal effects: all of them, or only those of `keys` (one order's journey
    reads a handful of keys from the database instead of parsing one per post of the
    workspace)."""
    if keys is None:
        state = AttributionState.objects.filter(workspace=workspace).first()
        if state is None or not state.removal_effects:
            return None
        return {_key_from_json(key): value for key, value in state.removal_effects.items()}
    names = sorted({_key_to_json(key) for key in keys})
    if not names:
        return None
    # Raw SQL: Django's JSON key lookups read an all-digit key ("123", a post) as an array index.
    if connection.vendor == "postgresql":
        column, arguments = "removal_effects ->> %s::text", names
    else:
        column, arguments = "json_extract(removal_effects, %s)", [f'$."{n}"' for n in names]
    columns = ", ".join([column] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {AttributionState._meta.db_table} WHERE workspace_id = %s",  # noqa: S608
            [*arguments, workspace.pk],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    effects = {
        _key_from_json(name): float(value)
        for name, value in zip(names, found, strict=True)
        if value is not None
    }
    return effects or None


def _key_to_json(key) -> str:
    return str(key) if isinstance(key, int) else f"{key[0]}:{key[1]}"


def _key_from_json(key: str):
    if key.isdigit():
        return int(key)
    kind, _, value = key.partition(":")
    return (kind, int(value) if value.isdigit() else value)


def _units(order_ids: Iterable[int]) -> dict[int, int]:
    """Each order's units net of the units its refunds returned (never below zero)."""
    from commerce.models import OrderLine

    sold = dict(
        OrderLine.objects.filter(order_id__in=order_ids)
        .values("order_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_id", "units")
    )
    returned = dict(
        Refund.objects.filter(order_id__in=order_ids, units__gt=0)
        .values("order_id")
        .annotate(units=Sum("units"))
        .values_list("order_id", "units")
    )
    return {order: max(units - returned.get(order, 0), 0) for order, units in sold.items()}


def _refunds(order_ids: Iterable[int]) -> dict[int, list[Refund]]:
    found: dict[int, list[Refund]] = {}
    for refund in Refund.objects.filter(order_id__in=order_ids):
        found.setdefault(refund.order_id, []).append(refund)
    return found


def order_attribute(*, order_id: int) -> int:
    """Re-attributes one order, replacing its rows atomically, and refreshes the rollups it
    touches. Running it twice, or in two workers at once, leaves the same rows. Returns the
    number of RevenueAttribution rows written."""
    with transaction.atomic():
        order = (
            CommerceOrder.objects.select_for_update()
            .select_related("workspace")
            .filter(pk=order_id)
            .first()
        )
        if order is None:
            return 0
        workspace = order.workspace
        context = JourneyContext.load(workspace, [order])
        journey = context.journey(order)
        rows = order_rows(
            workspace=workspace,
            order=order,
            journey=journey,
            refunds=_refunds([order.pk]).get(order.pk, []),
            units=_units([order.pk]).get(order.pk, 0),
            models=workspace.attribution_models,
            removal_effects=_effects(workspace, [touch.key for touch in journey])
            if "data-driven" in workspace.attribution_models
            else None,
        )
        old_sales = list(
            RevenueAttribution.objects.filter(order=order).values_list(
                "attribution_model", "order_day", "post_id", "platform", "campaign_id",
                "gross_revenue", "attribution_weight", "refunded", "revenue",
            )
        )  # fmt: skip
        old_refunds = list(
            RefundAttribution.objects.filter(order=order).values_list(
                "attribution_model", "day", "post_id", "platform", "campaign_id", "amount"
            )
        )
        RevenueAttribution.objects.filter(order=order).delete()
        RefundAttribution.objects.filter(order=order).delete()
        rows_write(RevenueAttribution, ATTRIBUTION_COLUMNS, rows.attributions)
        rows_write(RefundAttribution, REFUND_COLUMNS, rows.refunds)
        _identities_learn(workspace, context.learnt)
        new_sales = [SaleRow(*(r[i] for i in SALE_COLUMNS)) for r in rows.attributions]
        # DailyRevenue and PostRevenue cells: (day, post_id, platform) before and after.
        cells = {(day, post, platform) for _, day, post, platform, *_ in old_sales + old_refunds}
        cells |= {(r.order_day, r.post_id, r.platform) for r in new_sales}
        cells |= {(r[8], r[5], r[7]) for r in rows.refunds}
        rollups_refresh(workspace=workspace, cells=cells)
        # DailyTotals entries: (model, day, platform, campaign_id, revenue, credited orders).
        old = [SaleRow(*row) for row in old_sales]
        rollups.daily_totals_shift(
            workspace,
            before=[
                *_sale_entries(old),
                *((m, day, pf, c, -amount, ZERO) for m, day, _, pf, c, amount in old_refunds),
            ],
            after=[
                *_sale_entries(new_sales),
                *((r[3], r[8], r[7], r[6], -r[9], ZERO) for r in rows.refunds),
            ],
        )
    return len(rows.attributions)


# What the rollups read of one attribution row, by name, in ATTRIBUTION_COLUMNS' terms.
@dataclass(frozen=True)
class SaleRow:
    attribution_model: str
    order_day: object
    post_id: int | None
    platform: str
    campaign_id: int | None
    gross_revenue: Decimal
    attribution_weight: Decimal
    refunded: Decimal
    revenue: Decimal


SALE_COLUMNS = tuple(
    ATTRIBUTION_COLUMNS.index(name)
    for name in (
        "attribution_model", "order_day", "post_id", "platform", "campaign_id", "gross_revenue",
        "attribution_weight", "refunded", "revenue",
    )
)  # fmt: skip


def _sale_entries(rows: list[SaleRow]) -> list[rollups.Entry]:
    """One order's sales as DailyTotals entries, credited orders per `rollups.order_counts`."""
    counts = rollups.order_counts((r.attribution_model, r.refunded, r.revenue) for r in rows)
    return [
        (r.attribution_model, r.order_day, r.platform, r.campaign_id, r.gross_revenue,
         r.attribution_weight * counts[r.attribution_model])
        for r in rows
    ]  # fmt: skip


def _identities_learn(workspace: Workspace, learnt: dict[tuple[str, str], object]) -> None:
    """Stores customer-visitor links, keeping the earliest time each was seen."""
    if not learnt:
        return
    VisitorIdentity.objects.bulk_create(
        [
            VisitorIdentity(workspace=workspace, customer_key=key, visitor_id=visitor,
                            first_seen_at=seen)
            for (key, visitor), seen in learnt.items()
        ],
        ignore_conflicts=True,
        batch_size=BATCH,
    )  # fmt: skip
    for (key, visitor), seen in learnt.items():
        VisitorIdentity.objects.filter(
            workspace=workspace, customer_key=key, visitor_id=visitor, first_seen_at__gt=seen
        ).update(first_seen_at=seen)


# --- rollups -------------------------------------------------------------------------------------


def rollups_refresh(*, workspace: Workspace, cells: set[tuple]) -> None:
    """Recomputes the DailyRevenue cells (day, post or platform) and the PostRevenue rows that
    `cells` name, from the raw rows, so rollups always equal what the raw rows say."""
    if not cells:
        return
    days = sorted({day for day, _, _ in cells})
    post_ids = sorted({post for _, post, _ in cells if post is not None})
    platforms = sorted({platform for _, post, platform in cells if post is None})
    scope = Q(post_id__in=post_ids) | Q(post__isnull=True, platform__in=platforms)
    DailyRevenue.objects.filter(scope, workspace=workspace, day__in=days).delete()
    _daily_insert(workspace, workspace.attribution_models, days, post_ids, platforms)
    if post_ids:
        _post_revenue_rebuild(workspace, set(post_ids))


def _daily_insert(workspace, models, days=None, post_ids=None, platforms=None) -> None:
    """Builds DailyRevenue cells in the database in one INSERT ... SELECT: sales on the order's
    day plus refunds (negative) on the refund's day, and credited orders (the touches' weights,
    see `rollups.live_orders`), for the workspace's `models`, limited to `days` and to the cells
    of `post_ids` and of platform-only `platforms` when given."""

    def where(day_column: str, alias: str = "") -> tuple[str, list]:
        a = f"{alias}." if alias else ""
        sql = f"{a}workspace_id = %s AND {a}attribution_model IN ({rollups.placeholders(models)})"
        params = [workspace.pk, *models]
        if days is not None:
            sql += f" AND {a}{day_column} IN ({rollups.placeholders(days)})"
            params += days
            cells = [f"{a}post_id IN ({rollups.placeholders(post_ids)})"] if post_ids else []
            if platforms:
                cells.append(
                    f"({a}post_id IS NULL AND {a}platform IN ({rollups.placeholders(platforms)}))"
                )
            sql += f" AND ({' OR '.join(cells) or '1 = 0'})"
            params += [*post_ids, *platforms]
        return sql, params

    sales_where, sales_params = where("order_day", "a")
    refunds_where, refunds_params = where("day")
    # Whether an order still counts is read from all of its rows, not only the cells rebuilt.
    within, within_params = where("order_day") if days is not None else ("", [])
    live_sql, live_params = rollups.live_orders(workspace, models, within, within_params)
    keys = "workspace_id, attribution_model, platform, campaign_id, post_id"
    prefixed = ", ".join(f"a.{key.strip()}" for key in keys.split(","))
    sql = f"""
        INSERT INTO {DailyRevenue._meta.db_table}
            ({keys}, day, revenue, orders, units)
        SELECT {keys}, day, SUM(revenue), SUM(orders), ROUND(SUM(units), 2)
        FROM (
            SELECT {prefixed}, a.order_day AS day, SUM(a.gross_revenue) AS revenue,
                   SUM(a.attribution_weight * live.counts) AS orders, SUM(a.units) AS units
            FROM {RevenueAttribution._meta.db_table} AS a
            JOIN ({live_sql}) AS live
              ON live.order_id = a.order_id AND live.attribution_model = a.attribution_model
            WHERE {sales_where}
            GROUP BY {prefixed}, a.order_day
            UNION ALL
            SELECT {keys}, day, -SUM(amount), 0, 0
            FROM {RefundAttribution._meta.db_table}
            WHERE {refunds_where}
            GROUP BY {keys}, day
        ) AS cells
        GROUP BY {keys}, day
    """  # noqa: S608 - every value is a parameter; only table and column names are formatted
    with connection.cursor() as cursor:
        cursor.execute(sql, [*live_params, *sales_params, *refunds_params])


def _post_revenue_rebuild(workspace: Workspace, post_ids: set[int] | None) -> None:
    """PostRevenue of the given posts (every post of the workspace when None), every model."""
    posts = workspace.posts.all()
    if post_ids is not None:
        posts = posts.filter(pk__in=post_ids)
    posts = {p.pk: p for p in posts.only("pk", "boosted_spend", "boosted_currency")}
    clicks = rollups.unique_clicks(workspace, posts={"pk__in": list(posts)}, by="pk")
    # Read from the daily rollup (a few rows per post and day) rather than every attribution
    # row: its revenue nets sales and refunds exactly like the raw rows, and an order sits on one
    # day only, so the days' distinct-order counts add up to the post's distinct orders.
    totals = (
        DailyRevenue.objects.filter(workspace=workspace, post_id__in=posts)
        .values("post_id", "attribution_model")
        .annotate(revenue=Sum("revenue"), units=Sum("units"), orders=Sum("orders"))
    )
    found = {(row["post_id"], row["attribution_model"]): row for row in totals}
    rows = []
    for post_id, post in posts.items():
        for model in workspace.attribution_models:
            row = found.get((post_id, model), {"revenue": ZERO, "units": ZERO, "orders": 0})
            rows.append(_post_revenue(workspace, post, model, row, clicks.get(post_id, 0)))
    PostRevenue.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["post", "attribution_model"],
        update_fields=[
            "total_revenue", "total_orders", "total_units", "avg_order_value", "unique_clicks",
            "conversion_rate", "roas", "updated_at",
        ],
    )  # fmt: skip


def _post_revenue(workspace, post, model, totals, unique_clicks) -> PostRevenue:
    revenue, orders = totals["revenue"] or ZERO, totals["orders"]
    same_currency = post.boosted_currency == workspace.reporting_currency
    return PostRevenue(
        workspace=workspace,
        post_id=post.pk,
        attribution_model=model,
        total_revenue=revenue,
        total_orders=orders,
        total_units=round_money(totals["units"] or ZERO),
        avg_order_value=round_money(revenue / orders) if orders else None,
        unique_clicks=unique_clicks,
        # Attributed orders per unique human click; None without clicks (coupon-only posts).
        conversion_rate=(Decimal(orders) / unique_clicks).quantize(UNITS_PLACES)
        if unique_clicks
        else None,
        roas=(revenue / post.boosted_spend).quantize(Decimal("0.0001"))
        if post.boosted_spend > 0 and same_currency
        else None,
    )


# --- bulk recalculation --------------------------------------------------------------------------


class RecalculationBusy(Exception):
    """Another recalculation of the same workspace is running."""


LEASE = timedelta(minutes=30)
# What journeys and revenue read of an order; a bulk rebuild loads nothing else.
ORDER_FIELDS = (
    "pk", "workspace_id", "created_at", "osc_click", "customer_key", "utm_source", "utm_medium",
    "utm_campaign", "utm_content", "referrer_url", "coupon_codes", "total_price", "total_tax",
    "total_shipping", "refunded_amount", "cancelled_at", "status", "exchange_rate",
    "reporting_currency", "taxes_included",
)  # fmt: skip


def workspace_recalculate(
    *,
    workspace: Workspace,
    since=None,
    models: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Rebuilds every attribution row and rollup of the workspace (orders created on or after
    `since` only, when given) in batches, then the rollups in full.

    One run per workspace at a time (RecalculationBusy otherwise), so two runs never interleave
    their writes; see `_workspace_lock`. A run killed half-way leaves consistent rows (a full
    rebuild commits once, at the end), and the next run rebuilds everything again.
    """
    state, _ = AttributionState.objects.get_or_create(workspace=workspace)
    with _workspace_lock(workspace, state):
        models = [m for m in workspace.attribution_models if models is None or m in models]
        return _recalculate(workspace, state, since, models, progress)


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


class OrderRow:
    """An order as a bulk rebuild reads it: just the fields journeys and revenue need, without
    building a model instance per order. Revenue and cancellation use CommerceOrder's own
    methods, so the two paths cannot disagree."""

    __slots__ = ORDER_FIELDS
    Status = CommerceOrder.Status
    is_cancelled = CommerceOrder.is_cancelled
    revenue_in_store_currency = CommerceOrder.revenue_in_store_currency
    attributable_revenue = CommerceOrder.attributable_revenue

    def __init__(self, values: Sequence) -> None:
        for name, value in zip(ORDER_FIELDS, values, strict=True):
            setattr(self, name, value)


def _rows_replace(workspace, batch, journeys, refunds, units, models, effects, full) -> int:
    """Writes the rows of one batch of orders (deleting their old rows first unless the whole
    workspace was cleared). Returns the number of attribution rows written."""
    ids = [order.pk for order in batch]
    if not full:
        # The live path may be re-attributing one of these right now: take the same row locks.
        list(CommerceOrder.objects.select_for_update().filter(pk__in=ids).values_list("pk"))
    attributions, refund_rows = [], []
    for order in batch:
        if not journeys.get(order.pk):
            continue
        rows = order_rows(
            workspace=workspace, order=order, journey=journeys[order.pk],
            refunds=refunds.get(order.pk, []), units=units.get(order.pk, 0),
            models=models, removal_effects=effects,
        )  # fmt: skip
        attributions += rows.attributions
        refund_rows += rows.refunds
    if not full:
        only = Q(order_id__in=ids, attribution_model__in=models)
        RevenueAttribution.objects.filter(only).delete()
        RefundAttribution.objects.filter(only).delete()
    rows_write(RevenueAttribution, ATTRIBUTION_COLUMNS, attributions)
    rows_write(RefundAttribution, REFUND_COLUMNS, refund_rows)
    return len(attributions)


def _recalculate(workspace, state, since, models, progress) -> dict:
    orders_qs = CommerceOrder.objects.filter(workspace=workspace)
    if since is not None:
        orders_qs = orders_qs.filter(created_at__gte=since)
    orders = [
        OrderRow(values)
        for values in orders_qs.order_by("created_at", "pk")
        .values_list(*ORDER_FIELDS)
        .iterator(chunk_size=20_000)
    ]
    total = len(orders)
    clock = _PhaseClock(workspace)
    started_at = timezone.now()

    # Pass 1: journeys of every order (the data-driven model needs them all), from one context
    # loaded for the whole period. Customer links are learnt for every order first; a journey
    # only uses the links known by its order's time, so this equals learning them in order.
    context = JourneyContext.load_whole(workspace, orders)
    _identities_learn(workspace, context.learnt)
    journeys = {order.pk: context.journey(order) for order in orders}
    del context
    if progress:
        progress(total // 2, total)
    clock.lap("journeys")

    # The removal effects need every journey: a partial run (--since) keeps the stored ones.
    effects = None
    if "data-driven" in models:
        if since is None:
            effects = _removal_effects_compute(workspace, state, journeys)
        else:
            effects = _effects(workspace)
    clock.lap("removal effects")

    refunds: dict[int, list[Refund]] = {}
    for refund in Refund.objects.filter(order__in=orders_qs).order_by("pk"):
        refunds.setdefault(refund.order_id, []).append(refund)
    units = _units(orders_qs.values("pk"))

    # Pass 2: rows. A full rebuild replaces the workspace's rows in one transaction: readers see
    # the old figures until it commits, and a run killed half-way leaves them untouched. A
    # partial run (--since) replaces batch by batch.
    written = 0
    full = since is None
    with transaction.atomic() if full else nullcontext():
        if full:
            only = Q(workspace=workspace, attribution_model__in=models)
            RevenueAttribution.objects.filter(only).delete()
            RefundAttribution.objects.filter(only).delete()
        for start in range(0, total, BATCH):
            batch = orders[start : start + BATCH]
            with transaction.atomic():
                written += _rows_replace(
                    workspace, batch, journeys, refunds, units, models, effects, full
                )
            if progress:
                progress(total // 2 + min(start + BATCH, total) // 2, total)
        clock.lap("attribution rows")
        with transaction.atomic():
            _bulk_session(analyze=(RevenueAttribution, RefundAttribution))
            _rollups_rebuild(workspace, models, clicks=full)
        clock.lap("rollups")
    _statistics_refresh()
    # Orders that changed while this ran are picked up by the next incremental pass.
    AttributionState.objects.filter(pk=state.pk).update(
        full_run_at=timezone.now(), incremental_run_at=started_at
    )
    return {"orders": total, "attributions": written}


# Memory a rebuild's statements may sort and hash in (PostgreSQL; for this transaction only):
# with the default 4 MB the rollups of a million orders sort on disk.
BULK_WORK_MEM = "256MB"


def _bulk_session(*, analyze: Sequence = ()) -> None:
    """Prepares the rebuild's transaction for its set-based statements (PostgreSQL): more
    memory to aggregate in, and statistics of the tables it has just written, so the planner
    plans for their real size (it sees this transaction's own rows)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{BULK_WORK_MEM}'")
    _analyze(*analyze)


def _statistics_refresh() -> None:
    """After a bulk rebuild, PostgreSQL's planner statistics describe the tables as they were
    before it; until autovacuum comes round, the live path's small queries may get plans made
    for another table (seen: a 50 ms bitmap AND instead of a 1 ms index scan). ANALYZE the
    rebuilt tables now (a sample: seconds, not a scan)."""
    _analyze(RevenueAttribution, RefundAttribution, DailyRevenue, PostRevenue,
             rollups.DailyTotals, rollups.DailyClicks)  # fmt: skip


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


def _removal_effects_compute(workspace, state, journeys: dict[int, list[JourneyTouch]]) -> dict:
    """Markov removal effects over every journey of the workspace: the orders' (converting) and
    the visitors' click paths that led to no order (non-converting)."""
    used_clicks = {t.click_pk for journey in journeys.values() for t in journey if t.click_pk}
    paths: dict[str, list] = {}
    clicks = (
        Click.objects.filter(workspace=workspace, is_bot=False)
        .exclude(visitor_id="")
        .order_by("visitor_id", "clicked_at", "pk")
        .values_list("visitor_id", "pk", "post_id")
    )
    converted_visitors = set()
    for visitor, pk, post_id in clicks.iterator(chunk_size=10_000):
        paths.setdefault(visitor, []).append(post_id)
        if pk in used_clicks:
            converted_visitors.add(visitor)
    converting = [[t.key for t in journey] for _, journey in sorted(journeys.items()) if journey]
    not_converting = [path for visitor, path in paths.items() if visitor not in converted_visitors]
    effects = markov.removal_effects(
        [(keys, True) for keys in converting] + [(keys, False) for keys in not_converting]
    )
    AttributionState.objects.filter(pk=state.pk).update(
        removal_effects={_key_to_json(key): value for key, value in effects.items()},
        converting_journeys=len(converting),
    )
    return effects or None


def _rollups_rebuild(workspace: Workspace, models: Sequence[str], *, clicks: bool) -> None:
    DailyRevenue.objects.filter(workspace=workspace, attribution_model__in=models).delete()
    _daily_insert(workspace, models)
    rollups.daily_totals_build(workspace, models)
    _post_revenue_rebuild(workspace, None)
    if clicks:
        rollups.clicks_rebuild(workspace=workspace)


def rollups_rebuild(*, workspace: Workspace) -> None:
    """Rebuilds every rollup of the workspace from the raw rows as they stand (set-based, no
    re-attribution): what a deletion of posts, orders, refunds, stores, links or clicks needs,
    since deletions cascade to raw rows without shifting the rollups. Holds the workspace's
    recalculation lock (RecalculationBusy while one runs: that run rebuilds them anyway)."""
    state, _ = AttributionState.objects.get_or_create(workspace=workspace)
    with _workspace_lock(workspace, state), transaction.atomic():
        _bulk_session()
        _rollups_rebuild(workspace, workspace.attribution_models, clicks=True)


def orders_attribute_changed(*, workspace: Workspace) -> int:
    """The scheduled incremental pass: re-attributes orders changed since the last pass (a
    safety net behind the signals, e.g. for bulk imports). Returns how many it re-attributed."""
    state, _ = AttributionState.objects.get_or_create(workspace=workspace)
    now = timezone.now()
    changed = CommerceOrder.objects.filter(workspace=workspace)
    if state.incremental_run_at is not None:
        changed = changed.filter(updated_at__gte=state.incremental_run_at)
    ids = list(changed.values_list("pk", flat=True))
    for order_id in ids:
        order_attribute(order_id=order_id)
    AttributionState.objects.filter(pk=state.pk).update(incremental_run_at=now)
    return len(ids)
