"""DailyTotals: revenue and credited orders per (model, day) in four groupings (all, platform,
campaign, platform x campaign): what a sum of post cells gives too slowly (a month's total over
every post). Built from the DailyRevenue cells in one statement; the live path shifts one
order's share with an upsert."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from attribution.models import DailyTotals
from attribution.rollups.credited import credited, suffixes
from attribution.rollups.daily_revenue import CELLS
from omnisocial.db import hot_cursor
from omnisocial.models import Workspace
from omnisocial.money import ZERO

# What one sale (touch under a model) or refund part adds to the totals: (model, day, platform,
# campaign_id, revenue, credited orders); a refund's revenue is negative and credits no orders.
Entry = tuple[str, date, str, int | None, Decimal, Decimal]


def daily_totals_build(workspace: Workspace, models: Sequence[str]) -> None:
    """Rebuilds the DailyTotals rows of `models` from the workspace's DailyRevenue cells (build
    those first), in one statement: a total is the sum of the cells it groups, revenue and
    credited orders alike (see attribution.rollups.credited), so it reads a few cells per post
    and day instead of every touch and refund row again."""
    DailyTotals.objects.filter(workspace=workspace, attribution_model__in=models).delete()
    pairs = suffixes(models)
    if not pairs:
        return
    branches = " UNION ALL ".join(
        f"""SELECT '{model}' AS model, day, platform, COALESCE(campaign_id, 0) AS campaign,
                   revenue_{s} AS revenue, orders_{s} AS credited
            FROM {CELLS} WHERE workspace_id = %s AND revenue_{s} IS NOT NULL"""
        for model, s in pairs
    )
    groupings = [
        ("0, '', 0", ""),
        ("1, platform, 0", ", platform"),
        ("2, '', campaign", ", campaign"),
        ("3, platform, campaign", ", platform, campaign"),
    ]
    selects = " UNION ALL ".join(
        f"""SELECT %s, model, day, {columns}, SUM(credited), SUM(revenue)
            FROM entries {"WHERE campaign <> 0" if "campaign" in by else ""}
            GROUP BY model, day{by}"""
        for columns, by in groupings
    )
    sql = f"""
        WITH entries AS MATERIALIZED ({branches})
        INSERT INTO {DailyTotals._meta.db_table}
            (workspace_id, attribution_model, day, grouping, platform, campaign_key, orders,
             revenue)
        {selects}
    """  # noqa: S608 - every value is a parameter; only table and column names are formatted
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk] * (len(pairs) + len(groupings)))


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
    for model, day, platform, campaign_id, amount, orders in entries:
        for cell in _cells_of(model, day, platform, campaign_id):
            revenue[cell] += amount
            counted[cell] += orders
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
    with hot_cursor() as cursor:
        cursor.executemany(
            f"""INSERT INTO {table} (workspace_id, attribution_model, day, grouping, platform,
                                     campaign_key, orders, revenue)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (workspace_id, attribution_model, day, grouping, platform, campaign_key)
                DO UPDATE SET orders = {table}.orders + excluded.orders,
                              revenue = {table}.revenue + excluded.revenue""",  # noqa: S608
            [(workspace.pk, model, day, grouping, platform, campaign, orders, revenue)
             for (model, day, grouping, platform, campaign), orders, revenue in changes],
        )  # fmt: skip


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
