"""DailyRevenue: revenue, credited orders and units per (model, day, post or platform-only cell,
campaign), built from the touch rows: one scan of the touches and one of the refund touches for
every model (a full build on PostgreSQL sums the touches on several cores first), written as one
`DailyRevenueCell` row per cell with every model's figures in columns (`DailyRevenue` is their
per-model view). The live path rebuilds just the cells one order touched, with the same
statement."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from decimal import Decimal

from attribution.models import CELL_FIGURES, DailyRevenueCell
from attribution.rollups.credited import (
    REFUND_TOUCHES,
    TOUCHES,
    cells_condition,
    live_flags,
    suffixes,
)
from omnisocial.db import hot_cursor, summed_aside
from omnisocial.models import Workspace
from omnisocial.money import ZERO

CELLS = DailyRevenueCell._meta.db_table
# A full build's scratch table of the touches' sums per cell (temporary: this connection's).
SALES_SCRATCH = "rollup_cell_sales"


def _cell_columns(pairs) -> list[str]:
    return [f"{figure}_{s}" for _, s in pairs for figure in CELL_FIGURES]


def daily_revenue_build(
    workspace: Workspace, models: Sequence[str], days=None, post_ids=(), platforms=()
) -> list[tuple] | None:
    """Inserts the DailyRevenue cells of `models`: sales on the order's day, refunds (negative)
    on the refund's day, credited orders (see attribution.rollups.credited); only the cells of
    `days` x (`post_ids`, platform-only `platforms`) when `days` is given (delete them first),
    and then returns the cells written as (post_id, model, revenue, units, orders)."""
    pairs = suffixes(models)
    if not pairs:
        return
    post_ids, platforms = list(post_ids), list(platforms)
    sales_cells, cell_params = cells_condition("t", "order_day", days, post_ids, platforms)
    refund_cells, refund_params = cells_condition("", "day", days, post_ids, platforms)
    # Whether an order still counts is read from all of its rows, not only the cells rebuilt.
    within = "r.workspace_id = %s"
    within_params = [workspace.pk]
    if days is not None:
        within += f" AND r.order_id IN (SELECT t.order_id FROM {TOUCHES} AS t WHERE t.workspace_id = %s{sales_cells})"  # noqa: E501, S608
        within_params += [workspace.pk, *cell_params]
    keys = "COALESCE(t.post_id, 0), t.platform, COALESCE(t.campaign_id, 0), t.order_day"
    named_keys = (
        "COALESCE(t.post_id, 0) AS post_key, t.platform, COALESCE(t.campaign_id, 0) AS "
        "campaign_key, t.order_day AS day"
    )
    sums = ", ".join(
        f"SUM(t.gross_{s}) AS gross_{s}, SUM(t.weight_{s}) AS orders_{s}, "
        f"SUM(t.units_{s}) AS units_{s}"
        for _, s in pairs
    )
    # Every touch credits its weight of an order, but for the orders fully refunded under a
    # model (the flags, a few): their weights are taken back out of the cells they credited.
    unsold_sums = ", ".join(f"SUM(t.weight_{s} * (1 - f.live_{s})) AS unsold_{s}" for _, s in pairs)
    refund_sums = ", ".join(f"SUM(amount_{s}) AS amount_{s}" for _, s in pairs)
    # A cell's sales and refunds meet in one join on its key (a missing post or campaign is 0
    # there, so the key compares with =), and each model's figures are read off the joined row
    # into its columns: null where the model has no rows in the cell.
    figures = []
    for _, s in pairs:
        present = f"c.gross_{s} IS NOT NULL OR c.amount_{s} IS NOT NULL"
        figures += [
            f"CASE WHEN {present} THEN COALESCE(c.gross_{s}, 0) - COALESCE(c.amount_{s}, 0) END",
            f"CASE WHEN {present} THEN COALESCE(c.orders_{s}, 0) - COALESCE(c.unsold_{s}, 0) END",
            f"CASE WHEN {present} THEN ROUND(COALESCE(c.units_{s}, 0), 2) END",
        ]
    columns = _cell_columns(pairs)
    sales = f"""SELECT {named_keys}, {sums} FROM {TOUCHES} AS t
                WHERE t.workspace_id = %s{sales_cells} GROUP BY {keys}"""  # noqa: S608
    sales_params = [workspace.pk, *cell_params]
    # Every cell: the touches' sums aside first, on several cores.
    aside = summed_aside(SALES_SCRATCH, sales, sales_params) if days is None else nullcontext()
    with aside as summed, hot_cursor() as cursor:
        if summed is not None:
            sales, sales_params = summed
        sql = f"""
            WITH flags AS MATERIALIZED ({live_flags(models, within)}),
            sales AS ({sales}),
            unsold AS (
                SELECT {named_keys}, {unsold_sums}
                FROM flags AS f JOIN {TOUCHES} AS t ON t.order_id = f.order_id
                WHERE ({" OR ".join(f"f.live_{s} = 0" for _, s in pairs)})
                  AND t.workspace_id = %s{sales_cells}
                GROUP BY {keys}
            ),
            refunds AS (
                SELECT COALESCE(post_id, 0) AS post_key, platform,
                       COALESCE(campaign_id, 0) AS campaign_key, day, {refund_sums}
                FROM {REFUND_TOUCHES} WHERE workspace_id = %s{refund_cells}
                GROUP BY COALESCE(post_id, 0), platform, COALESCE(campaign_id, 0), day
            ),
            cells AS (
                SELECT * FROM sales LEFT JOIN unsold USING (post_key, platform, campaign_key, day)
                FULL OUTER JOIN refunds USING (post_key, platform, campaign_key, day)
            )
            INSERT INTO {CELLS}
                (workspace_id, platform, campaign_id, post_id, day, {", ".join(columns)})
            SELECT %s, c.platform, NULLIF(c.campaign_key, 0), NULLIF(c.post_key, 0), c.day,
                   {", ".join(figures)}
            FROM cells AS c
            {"" if days is None else f"RETURNING post_id, {', '.join(columns)}"}
        """  # noqa: S608 - every value is a parameter; only table and column names are formatted
        params = [*within_params, *sales_params, workspace.pk, *cell_params, workspace.pk,
                  *refund_params, workspace.pk]  # fmt: skip
        cursor.execute(sql, params)
        return None if days is None else _unfold(pairs, cursor.fetchall())


def _unfold(pairs, rows) -> list[tuple]:
    """Cells as (post_id, model, revenue, units, orders), one per model the cell holds."""
    found = []
    for post_id, *figures in rows:
        for n, (model, _) in enumerate(pairs):
            revenue, orders, units = figures[3 * n : 3 * n + 3]
            if revenue is not None:
                found.append((post_id, model, revenue, units, orders))
    return found


def daily_revenue_refresh(workspace: Workspace, cells: set[tuple]) -> dict[tuple, tuple]:
    """Recomputes the DailyRevenue cells named by `cells` ((day, post_id, platform) as one
    order's rows touched them), so they always equal what the touch rows say. Returns how the
    posts' totals moved: {(post_id, model): (revenue, units, orders)}, the new cells less the
    old, for PostRevenue to shift by."""
    if not cells:
        return {}
    days = sorted({day for day, _, _ in cells})
    post_ids = sorted({post for _, post, _ in cells if post is not None})
    platforms = sorted({platform for _, post, platform in cells if post is None})
    condition, params = cells_condition("", "day", days, post_ids, platforms)
    pairs = suffixes(workspace.attribution_models)
    with hot_cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {CELLS} WHERE workspace_id = %s{condition}"  # noqa: S608
            f" RETURNING post_id, {', '.join(_cell_columns(pairs))}",
            [workspace.pk, *params],
        )
        # Read after the cells are built again: in a pipeline both travel in one round trip.
        new = daily_revenue_build(
            workspace, workspace.attribution_models, days, post_ids, platforms
        )
        old = _unfold(pairs, cursor.fetchall())
    moved: dict[tuple, list[Decimal]] = {}
    for sign, rows in ((-1, old), (1, new)):
        for post_id, model, *figures in rows:
            if post_id is None:
                continue
            total = moved.setdefault((post_id, model), [ZERO, ZERO, ZERO])
            for n, (value, places) in enumerate(zip(figures, FIGURE_PLACES, strict=True)):
                # SQLite answers REAL for numeric columns: read it as Django reads the field.
                total[n] += sign * Decimal(str(value)).quantize(places)
    for post_id in post_ids:  # a post whose cells all went away still moved (to nothing)
        for model in workspace.attribution_models:
            moved.setdefault((post_id, model), [ZERO, ZERO, ZERO])
    return {key: tuple(figures) for key, figures in moved.items()}


# DailyRevenue's places: revenue, units, orders.
FIGURE_PLACES = (Decimal("0.01"), Decimal("0.01"), Decimal("0.000001"))
