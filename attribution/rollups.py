"""Count rollups the dashboard reads instead of scanning raw rows: distinct attributed orders per
day (`DailyOrders`) and unique human clicks per post and day (`DailyClicks`).

Revenue sums live in `DailyRevenue` (attribution.engine); these two hold the counts that a sum
of DailyRevenue cells cannot give (distinct orders) or that would otherwise read the click table
(millions of rows) on every dashboard request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate

from attribution.models import AttributionState, Click, DailyClicks, DailyOrders
from omnisocial.models import Workspace

# (model, day, platform, campaign_id) of one attribution row with weight > 0.
CreditedTouch = tuple[str, date, str, int | None]


# --- distinct orders ------------------------------------------------------------------------------


def daily_orders_build(
    workspace: Workspace, models: Sequence[str], days: Sequence[date] | None = None
) -> None:
    """Rebuilds the DailyOrders rows of `models` (of `days` only, when given) from the raw
    attribution rows, in one statement: each order counted once per cell it has a credited
    touch in."""
    table, raw = DailyOrders._meta.db_table, "attribution_revenueattribution"
    where = (
        f"workspace_id = %s AND attribution_weight > 0 AND attribution_model IN ({_marks(models)})"
    )
    params: list = [workspace.pk, *models]
    if days is not None:
        where += f" AND order_day IN ({_marks(days)})"
        params += list(days)
    cells = DailyOrders.objects.filter(workspace=workspace, attribution_model__in=models)
    if days is not None:
        cells = cells.filter(day__in=days)
    cells.delete()
    keys = "workspace_id, attribution_model, order_day"
    sql = f"""
        WITH touched AS (
            SELECT DISTINCT {keys}, order_id, platform, COALESCE(campaign_id, 0) AS campaign
            FROM {raw} WHERE {where}
        )
        INSERT INTO {table}
            (workspace_id, attribution_model, day, grouping, platform, campaign_key, orders)
        SELECT {keys}, 0, '', 0, COUNT(DISTINCT order_id) FROM touched GROUP BY {keys}
        UNION ALL
        SELECT {keys}, 1, platform, 0, COUNT(DISTINCT order_id) FROM touched
        GROUP BY {keys}, platform
        UNION ALL
        SELECT {keys}, 2, '', campaign, COUNT(DISTINCT order_id) FROM touched WHERE campaign <> 0
        GROUP BY {keys}, campaign
        UNION ALL
        SELECT {keys}, 3, platform, campaign, COUNT(*) FROM touched WHERE campaign <> 0
        GROUP BY {keys}, platform, campaign
    """  # noqa: S608 - every value is a parameter; only table and column names are formatted
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _order_cells(touches: Iterable[CreditedTouch]) -> set[tuple]:
    """The DailyOrders cells one order counts in, from its credited touches."""
    cells = set()
    for model, day, platform, campaign_id in touches:
        cells.add((model, day, DailyOrders.ALL, "", 0))
        cells.add((model, day, DailyOrders.PLATFORM, platform, 0))
        if campaign_id:
            cells.add((model, day, DailyOrders.CAMPAIGN, "", campaign_id))
            cells.add((model, day, DailyOrders.PLATFORM | DailyOrders.CAMPAIGN, platform,
                       campaign_id))  # fmt: skip
    return cells


def daily_orders_shift(
    workspace: Workspace,
    before: Iterable[CreditedTouch],
    after: Iterable[CreditedTouch],
) -> None:
    """Moves one order's counts from the cells of its old credited touches to those of its new
    ones (the incremental path: a re-attributed order adds or removes exactly itself).

    An upsert that adds to the stored count, so two orders shifting the same cell at once both
    land (PostgreSQL locks the row; SQLite runs one writer at a time)."""
    old, new = _order_cells(before), _order_cells(after)
    deltas = Counter(dict.fromkeys(new - old, 1))
    deltas.subtract(dict.fromkeys(old - new, 1))
    if not deltas:
        return
    table = DailyOrders._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(deltas))
    params = []
    for (model, day, grouping, platform, campaign), delta in sorted(deltas.items()):
        params += [workspace.pk, model, day, grouping, platform, campaign, delta]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table}
                    (workspace_id, attribution_model, day, grouping, platform, campaign_key, orders)
                VALUES {values}
                ON CONFLICT (workspace_id, attribution_model, day, grouping, platform, campaign_key)
                DO UPDATE SET orders = {table}.orders + excluded.orders""",  # noqa: S608
            params,
        )


def orders_count(
    workspace: Workspace,
    *,
    model: str,
    start: date,
    end: date,
    platform: str = "",
    campaign_id: int | None = None,
    by_platform: bool = False,
):
    """Distinct attributed orders in the day range under `model`, narrowed to a platform and a
    campaign when given: an int, or {platform: orders} with `by_platform`."""
    grouping = DailyOrders.grouping_of(platform=platform or by_platform, campaign_id=campaign_id)
    cells = DailyOrders.objects.filter(
        workspace=workspace, attribution_model=model, day__gte=start, day__lte=end,
        grouping=grouping, campaign_key=campaign_id or 0,
    )  # fmt: skip
    if platform:
        cells = cells.filter(platform=platform)
    if by_platform:
        rows = cells.values("platform").annotate(n=Sum("orders")).values_list("platform", "n")
        return {key: n for key, n in rows if n}
    return cells.aggregate(n=Sum("orders"))["n"] or 0


# --- unique clicks --------------------------------------------------------------------------------


def clicks_roll_up(*, workspace: Workspace) -> int:
    """Adds the workspace's newly stored clicks to DailyClicks and moves its mark. Returns the
    number of unique human clicks added.

    It takes clicks up to the highest id seen by the *previous* run, not the highest now: an id
    is handed out when a click's INSERT starts, and a slower transaction may still commit a
    lower id than one already visible. A click is one autocommitted INSERT (a spool flush one
    short transaction), so none is still uncommitted a run later."""
    with transaction.atomic():
        state, _ = AttributionState.objects.get_or_create(workspace=workspace)
        state = AttributionState.objects.select_for_update().get(pk=state.pk)
        done, ready = state.clicks_rolled_up_to, state.clicks_seen_up_to
        seen = (
            Click.objects.filter(workspace=workspace, pk__gt=ready).aggregate(top=Max("pk"))["top"]
            or ready
        )
        added = 0
        if ready > done:
            added = _clicks_add(workspace, Q(pk__gt=done, pk__lte=ready))
        AttributionState.objects.filter(pk=state.pk).update(
            clicks_rolled_up_to=max(done, ready), clicks_seen_up_to=seen
        )
    return added


def clicks_rebuild(*, workspace: Workspace) -> None:
    """Rebuilds the workspace's DailyClicks from every stored click (the nightly rebuild)."""
    with transaction.atomic():
        state, _ = AttributionState.objects.get_or_create(workspace=workspace)
        state = AttributionState.objects.select_for_update().get(pk=state.pk)
        DailyClicks.objects.filter(workspace=workspace).delete()
        top = Click.objects.filter(workspace=workspace).aggregate(top=Max("pk"))["top"] or 0
        # The newest ids may still have lower ones in flight (see clicks_roll_up): the mark stays
        # where the previous run saw, and the next roll-up takes the rest.
        mark = min(top, state.clicks_seen_up_to)
        _clicks_add(workspace, Q(pk__lte=mark))
        AttributionState.objects.filter(pk=state.pk).update(
            clicks_rolled_up_to=mark, clicks_seen_up_to=top
        )


def _clicks_add(workspace: Workspace, ids: Q) -> int:
    rows = (
        Click.objects.filter(ids, workspace=workspace, is_bot=False, is_unique=True)
        .annotate(day=TruncDate("clicked_at", tzinfo=workspace.zone))
        .values("day", "post_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "post_id", "n")
    )
    cells = list(rows)
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
    start: date,
    end: date,
    posts: dict | None = None,
    by: str | None = None,
):
    """Unique human clicks on days start..end (workspace days): the rollup plus the clicks past
    its mark, counted raw (a minute or two of clicks). `posts` narrows by Post fields
    ({"platform": "tiktok", "campaign_id": 3, "pk__in": [...]}); `by` names a Post field to
    split by and gives {value: clicks}; without it, an int."""
    narrow = {f"post__{field}": value for field, value in (posts or {}).items()}
    mark = Coalesce(
        Subquery(
            AttributionState.objects.filter(workspace=workspace).values("clicks_rolled_up_to")
        ),
        0,
    )
    zone = workspace.zone
    begins = datetime.combine(start, time.min, tzinfo=zone)
    ends = datetime.combine(end + timedelta(1), time.min, tzinfo=zone)
    rolled = DailyClicks.objects.filter(workspace=workspace, day__gte=start, day__lte=end, **narrow)
    fresh = Click.objects.filter(
        workspace=workspace, pk__gt=mark, is_bot=False, is_unique=True,
        clicked_at__gte=begins, clicked_at__lt=ends, **narrow,
    )  # fmt: skip
    if by is None:
        return (rolled.aggregate(n=Sum("clicks"))["n"] or 0) + fresh.count()
    key = "post_id" if by == "pk" else f"post__{by}"
    counts: Counter = Counter()
    for value, n in rolled.values(key).annotate(n=Sum("clicks")).values_list(key, "n"):
        counts[value] += n
    for value, n in fresh.values(key).annotate(n=Count("pk")).order_by().values_list(key, "n"):
        counts[value] += n
    return dict(counts)


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))
