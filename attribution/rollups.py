"""Rollups the dashboard reads instead of scanning raw rows: revenue and distinct attributed
orders per day and platform / campaign (`DailyTotals`), and unique human clicks per post and day
(`DailyClicks`).

Post-level revenue lives in `DailyRevenue` (attribution.engine); these hold what a sum of its
cells cannot give (distinct orders), what it gives too slowly (a month's total over every post),
and what would otherwise read the click table (millions of rows) on every dashboard request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from attribution.models import (
    AttributionState,
    Click,
    DailyClicks,
    DailyTotals,
    RefundAttribution,
    RevenueAttribution,
)
from omnisocial.models import Workspace
from omnisocial.money import ZERO

# What one attribution row (sale) or refund row adds to the totals: (model, day, platform,
# campaign_id, revenue, credited orders); a refund's revenue is negative and credits no orders.
Entry = tuple[str, date, str, int | None, Decimal, Decimal]


# --- credited orders ---------------------------------------------------------------------------
#
# One definition, read by every rollup: a touch credits its order's `attribution_weight` of an
# order, on the order's day, unless the order is fully refunded under that model (every cent it
# credited was refunded); a cancelled order has no rows. The weights of an order sum to 1, so the
# credited orders of any breakdown (platform, campaign, post, day) add up to the headline's, and
# the headline counts whole orders under every model, fractional ones included.


ORDER_PLACES = Decimal("0.000001")


def credited(value) -> Decimal:
    """Credited orders as stored: six places (the weights'), whatever the database's sum gave."""
    return Decimal(value or 0).quantize(ORDER_PLACES)


def live_orders(workspace: Workspace, models: Sequence[str], within: str = "", params=()):
    """SQL (and its parameters) giving (order_id, attribution_model, counts): counts is 1 while
    the order credits orders under the model, 0 once it is fully refunded. `within`, a condition
    on attribution rows, narrows to the orders that have such rows (all of each order's rows are
    read, whatever `within` selects of them)."""
    table = RevenueAttribution._meta.db_table
    sql = f"""SELECT order_id, attribution_model,
                     CASE WHEN SUM(refunded) > 0 AND SUM(revenue) <= 0 THEN 0 ELSE 1 END
                     AS counts
              FROM {table}
              WHERE workspace_id = %s AND attribution_model IN ({placeholders(models)})"""  # noqa: S608
    arguments = [workspace.pk, *models]
    if within:
        sql += f" AND order_id IN (SELECT order_id FROM {table} WHERE {within})"  # noqa: S608
        arguments += list(params)
    return sql + " GROUP BY order_id, attribution_model", arguments


def order_counts(rows: Iterable[tuple[str, Decimal, Decimal]]) -> dict[str, int]:
    """The same rule as `live_orders` for one order's rows (model, refunded, revenue): {model: 1
    while it credits orders, 0 once fully refunded}."""
    refunded, revenue = Counter(), Counter()
    for model, back, net in rows:
        refunded[model] += back
        revenue[model] += net
    return {
        model: 0 if refunded[model] > 0 and revenue[model] <= 0 else 1
        for model in set(refunded) | set(revenue)
    }


# --- revenue and credited orders -----------------------------------------------------------------


def daily_totals_build(workspace: Workspace, models: Sequence[str]) -> None:
    """Rebuilds the DailyTotals rows of `models` from the raw attribution and refund rows in one
    statement: revenue, and credited orders (see `live_orders`) per cell."""
    DailyTotals.objects.filter(workspace=workspace, attribution_model__in=models).delete()
    where = f"workspace_id = %s AND attribution_model IN ({placeholders(models)})"
    keys = "workspace_id, attribution_model, day"
    cells = [
        ("0, '', 0", ""),
        ("1, platform, 0", ", platform"),
        ("2, '', campaign", ", campaign"),
        ("3, platform, campaign", ", platform, campaign"),
    ]
    selects = " UNION ALL ".join(
        f"""SELECT {keys}, {columns},
                   SUM(credited), SUM(revenue)
            FROM entries {"WHERE campaign <> 0" if "campaign" in by else ""}
            GROUP BY {keys}{by}"""
        for columns, by in cells
    )
    live_sql, live_params = live_orders(workspace, models)
    sql = f"""
        WITH entries AS (
            SELECT a.workspace_id, a.attribution_model, a.order_day AS day, a.platform,
                   COALESCE(a.campaign_id, 0) AS campaign, SUM(a.gross_revenue) AS revenue,
                   SUM(a.attribution_weight * live.counts) AS credited
            FROM {RevenueAttribution._meta.db_table} AS a
            JOIN ({live_sql}) AS live
              ON live.order_id = a.order_id AND live.attribution_model = a.attribution_model
            WHERE a.workspace_id = %s AND a.attribution_model IN ({placeholders(models)})
            GROUP BY a.workspace_id, a.attribution_model, a.order_day, a.platform,
                     COALESCE(a.campaign_id, 0)
            UNION ALL
            SELECT workspace_id, attribution_model, day, platform, COALESCE(campaign_id, 0),
                   -SUM(amount), 0
            FROM {RefundAttribution._meta.db_table} WHERE {where}
            GROUP BY workspace_id, attribution_model, day, platform, COALESCE(campaign_id, 0)
        )
        INSERT INTO {DailyTotals._meta.db_table}
            (workspace_id, attribution_model, day, grouping, platform, campaign_key, orders,
             revenue)
        {selects}
    """  # noqa: S608 - every value is a parameter; only table and column names are formatted
    with connection.cursor() as cursor:
        cursor.execute(sql, [*live_params, workspace.pk, *models, workspace.pk, *models])


def _cells_of(model: str, day: date, platform: str, campaign_id: int | None) -> list[tuple]:
    cells = [(model, day, DailyTotals.ALL, "", 0), (model, day, DailyTotals.PLATFORM, platform, 0)]
    if campaign_id:
        both = DailyTotals.PLATFORM | DailyTotals.CAMPAIGN
        cells += [(model, day, DailyTotals.CAMPAIGN, "", campaign_id),
                  (model, day, both, platform, campaign_id)]  # fmt: skip
    return cells


def _contributions(entries: Iterable[Entry]) -> tuple[Counter, Counter]:
    """The credited orders and the revenue one order adds to each cell."""
    counted, revenue = Counter(), Counter()
    for model, day, platform, campaign_id, amount, credited in entries:
        for cell in _cells_of(model, day, platform, campaign_id):
            revenue[cell] += amount
            counted[cell] += credited
    return counted, revenue


def daily_totals_shift(
    workspace: Workspace, *, before: Iterable[Entry], after: Iterable[Entry]
) -> None:
    """Moves one order's share of the totals from its old rows to its new ones (the incremental
    path: a re-attributed order adds or removes exactly itself). Entries are (model, day,
    platform, campaign_id, revenue, credited orders): sales on the order's day, refunds negative
    on theirs.

    An upsert that adds to the stored figures, so two orders shifting the same cell at once both
    land (PostgreSQL locks the row; SQLite runs one writer at a time)."""
    old_cells, old_revenue = _contributions(before)
    new_cells, new_revenue = _contributions(after)
    cells = set(old_cells) | set(new_cells) | set(old_revenue) | set(new_revenue)
    changes = []
    for cell in sorted(cells):
        orders = new_cells[cell] - old_cells[cell]
        revenue = new_revenue[cell] - old_revenue[cell]
        if orders or revenue:
            changes.append((cell, orders, revenue))
    if not changes:
        return
    table = DailyTotals._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(changes))
    params = []
    for (model, day, grouping, platform, campaign), orders, revenue in changes:
        params += [workspace.pk, model, day, grouping, platform, campaign, orders, revenue]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (workspace_id, attribution_model, day, grouping, platform,
                                     campaign_key, orders, revenue)
                VALUES {values}
                ON CONFLICT (workspace_id, attribution_model, day, grouping, platform, campaign_key)
                DO UPDATE SET orders = {table}.orders + excluded.orders,
                              revenue = {table}.revenue + excluded.revenue""",  # noqa: S608
            params,
        )


def totals(
    workspace: Workspace,
    *,
    model: str,
    start: date,
    end: date,
    platform: str = "",
    campaign_id: int | None = None,
    by: Sequence[str] = (),
) -> dict:
    """Revenue and credited orders in the day range under `model`, narrowed to a platform and a
    campaign when given: {"revenue", "orders"}; split `by` "platform", "campaign_key" (touches
    without a campaign have no cell) and/or "day", {key: {"revenue", "orders"}} keyed by the
    value (a tuple for two fields)."""
    grouping = DailyTotals.grouping_of(
        platform=platform or "platform" in by, campaign_id=campaign_id or "campaign_key" in by
    )
    cells = DailyTotals.objects.filter(
        workspace=workspace, attribution_model=model, day__gte=start, day__lte=end,
        grouping=grouping,
    )  # fmt: skip
    if campaign_id or "campaign_key" not in by:
        cells = cells.filter(campaign_key=campaign_id or 0)
    if platform:
        cells = cells.filter(platform=platform)
    sums = {"revenue": Sum("revenue"), "orders": Sum("orders")}
    if by:
        rows = cells.values(*by).annotate(**sums).order_by(*by)
        return {
            (row[by[0]] if len(by) == 1 else tuple(row[f] for f in by)): {
                "revenue": row["revenue"] or ZERO, "orders": credited(row["orders"]),
            }
            for row in rows
        }  # fmt: skip
    found = cells.aggregate(**sums)
    return {"revenue": found["revenue"] or ZERO, "orders": credited(found["orders"])}


# --- unique clicks --------------------------------------------------------------------------------


# How long a roll-up waits before it takes the clicks it saw: an id is handed out when a click's
# INSERT starts, so a slower transaction may still commit a lower id than one already visible. A
# click is one autocommitted INSERT (a spool flush one short transaction), so none is still
# uncommitted this long after its id was seen.
CLICK_SETTLE = timedelta(seconds=30)


def clicks_roll_up(*, workspace: Workspace, settle: timedelta = CLICK_SETTLE) -> int:
    """Adds the workspace's newly stored clicks to DailyClicks and moves its mark. Returns the
    number of unique human clicks added.

    It takes clicks up to the highest id the previous run saw, once that sighting is `settle`
    old (see CLICK_SETTLE), then notes the highest id now. Runs that pile up back to back (a
    busy worker) wait for the sighting to age instead of taking what they have just seen."""
    with transaction.atomic():
        state = _state_locked(workspace)
        now = timezone.now()
        if state.clicks_seen_at is not None and now - state.clicks_seen_at < settle:
            return 0
        done, ready = state.clicks_rolled_up_to, state.clicks_seen_up_to
        added = 0
        if state.clicks_seen_at is not None and ready > done:
            added = _clicks_add(workspace, Q(pk__gt=done, pk__lte=ready))
            done = ready
        seen = (
            Click.objects.filter(workspace=workspace, pk__gt=ready).aggregate(top=Max("pk"))["top"]
            or ready
        )
        AttributionState.objects.filter(pk=state.pk).update(
            clicks_rolled_up_to=done, clicks_seen_up_to=seen, clicks_seen_at=now
        )
    return added


def clicks_rebuild(*, workspace: Workspace, settle: timedelta = CLICK_SETTLE) -> None:
    """Rebuilds the workspace's DailyClicks from every stored click up to its mark (the nightly
    rebuild), in one INSERT ... SELECT. The mark moves to the last sighting when it has settled
    (see clicks_roll_up); the roll-ups take the rest."""
    with transaction.atomic():
        state = _state_locked(workspace)
        settled = state.clicks_seen_at is not None and (
            timezone.now() - state.clicks_seen_at >= settle
        )
        mark = state.clicks_seen_up_to if settled else state.clicks_rolled_up_to
        DailyClicks.objects.filter(workspace=workspace).delete()
        select, params = _clicks_by_day(workspace, Q(pk__lte=mark)).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {DailyClicks._meta.db_table} (day, post_id, clicks, workspace_id) "
                f"{select}",
                params,
            )
        AttributionState.objects.filter(pk=state.pk).update(clicks_rolled_up_to=mark)


def _state_locked(workspace: Workspace) -> AttributionState:
    state, _ = AttributionState.objects.get_or_create(workspace=workspace)
    return AttributionState.objects.select_for_update().get(pk=state.pk)


def _clicks_by_day(workspace: Workspace, ids: Q):
    """Unique human clicks per (workspace) day and post, as rows (day, post_id, clicks,
    workspace_id)."""
    return (
        Click.objects.filter(ids, workspace=workspace, is_bot=False, is_unique=True)
        .annotate(day=TruncDate("clicked_at", tzinfo=workspace.zone))
        .values("day", "post_id")
        .annotate(n=Count("pk"), ws=Value(workspace.pk))
        .order_by()
        .values_list("day", "post_id", "n", "ws")
    )


def _clicks_add(workspace: Workspace, ids: Q) -> int:
    cells = [row[:3] for row in _clicks_by_day(workspace, ids)]
    if not cells:
        return 0
    table = DailyClicks._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(cells), 1000):
            chunk = cells[start : start + 1000]
            cursor.execute(
                f"""INSERT INTO {table} (workspace_id, day, post_id, clicks)
                    VALUES {", ".join(["(%s, %s, %s, %s)"] * len(chunk))}
                    ON CONFLICT (workspace_id, day, post_id)
                    DO UPDATE SET clicks = {table}.clicks + excluded.clicks""",  # noqa: S608
                [value for day, post, n in chunk for value in (workspace.pk, day, post, n)],
            )
    return sum(n for _, _, n in cells)


def unique_clicks(
    workspace: Workspace,
    *,
    start: date | None = None,
    end: date | None = None,
    posts: dict | None = None,
    by: str | None = None,
):
    """Unique human clicks on days start..end (workspace days; every day without them): the
    rollup plus the clicks past its mark, counted raw (a minute or two of clicks). `posts`
    narrows by Post fields ({"platform": "tiktok", "campaign_id": 3, "pk__in": [...]}); `by`
    names a Post field to split by and gives {value: clicks}; without it, an int."""
    narrow = {f"post__{field}": value for field, value in (posts or {}).items()}
    rolled = DailyClicks.objects.filter(workspace=workspace, **narrow)
    raw_days = {}
    if start is not None:
        rolled = rolled.filter(day__gte=start, day__lte=end)
        zone = workspace.zone
        raw_days = {
            "clicked_at__gte": datetime.combine(start, time.min, tzinfo=zone),
            "clicked_at__lt": datetime.combine(end + timedelta(1), time.min, tzinfo=zone),
        }
    key = None if by is None else "post_id" if by == "pk" else f"post__{by}"
    mark = _mark(workspace)
    for _ in range(3):
        fresh = Click.objects.filter(
            workspace=workspace, pk__gt=mark, is_bot=False, is_unique=True, **raw_days, **narrow
        )
        if key is None:
            counted = (rolled.aggregate(n=Sum("clicks"))["n"] or 0) + fresh.count()
        else:
            counted = Counter()
            for value, n in rolled.values(key).annotate(n=Sum("clicks")).values_list(key, "n"):
                counted[value] += n
            for value, n in (
                fresh.values(key).annotate(n=Count("pk")).order_by().values_list(key, "n")
            ):
                counted[value] += n
            counted = dict(counted)
        # A roll-up that committed between reading the mark and reading the rollup would count
        # its clicks twice: the mark has moved then, so count again.
        moved = _mark(workspace)
        if moved == mark:
            break
        mark = moved
    return counted


def _mark(workspace: Workspace) -> int:
    # A value, not a subquery: with the value the planner sees how few clicks lie past the mark
    # and walks the primary key, instead of a month of the click table's time index.
    return (
        AttributionState.objects.filter(workspace=workspace)
        .values_list("clicks_rolled_up_to", flat=True)
        .first()
        or 0
    )


def placeholders(values) -> str:
    """`%s, %s, ...`: one SQL parameter per value."""
    return ", ".join(["%s"] * len(values))
