"""Unique human clicks per post and day (`DailyClicks`): rolled up every minute behind a mark,
rebuilt nightly, and read together with the few clicks past the mark."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from attribution.models import AttributionState, Click, DailyClicks
from omnisocial.db import among, hot_cursor
from omnisocial.models import Workspace

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
        if connection.vendor == "postgresql" and len(cells) >= ANALYZE_AFTER_CELLS:
            # A roll-up this large (the first after an import, a backlog) changes the table's
            # shape: until autovacuum comes round the planner would read a few posts' clicks
            # through the (workspace, day, post) index, 10 ms instead of 1 on every attributed
            # order. A sample, not a scan.
            cursor.execute(f"ANALYZE {table}")
    return sum(n for _, _, n in cells)


ANALYZE_AFTER_CELLS = 10_000


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


def post_unique_clicks(workspace: Workspace, post_ids, *, mark: int | None = None) -> dict:
    """`unique_clicks(workspace, posts={"pk__in": post_ids}, by="pk")` in one statement, the
    per-post figures' reader (PostRevenue, on every attributed order): the rollup, the clicks
    past the mark and the mark itself are read in one snapshot, so a roll-up committing
    meanwhile is seen either wholly or not at all. `mark` is the mark the caller has read
    already (with the rows it locked), if it has; a mark that moved since is read again."""
    if mark is None:
        mark = _mark(workspace)
    posts, post_params = among("post_id", list(post_ids))
    sql = f"""
        SELECT post_id, SUM(n) FROM (
            SELECT post_id, SUM(clicks) AS n FROM {DailyClicks._meta.db_table}
            WHERE workspace_id = %s AND {posts} GROUP BY post_id
            UNION ALL
            SELECT post_id, COUNT(*) FROM {Click._meta.db_table}
            WHERE workspace_id = %s AND id > %s AND NOT is_bot AND is_unique AND {posts}
            GROUP BY post_id
            UNION ALL
            SELECT NULL, clicks_rolled_up_to FROM {AttributionState._meta.db_table}
            WHERE workspace_id = %s
        ) AS counted GROUP BY post_id"""  # noqa: S608 - names only
    for _ in range(3):
        # The mark as a value, not a subquery: see _mark.
        params = [workspace.pk, *post_params, workspace.pk, mark, *post_params, workspace.pk]
        with hot_cursor() as cursor:
            cursor.execute(sql, params)
            counted = {post_id: int(n) for post_id, n in cursor.fetchall()}
        moved = counted.pop(None, 0)
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
