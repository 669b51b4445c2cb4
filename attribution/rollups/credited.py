"""Credited orders, the one definition every rollup reads, and the touch rows as SQL.

A touch credits its order's `weight` of an order, on the order's day, unless the order is fully
refunded under that model (every cent it credited was refunded); a cancelled order has no rows.
The weights of an order sum to 1, so the credited orders of any breakdown (platform, campaign,
post, day) add up to the headline's, and the headline counts whole orders under every model,
fractional ones included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import connection

from attribution.models import MODEL_COLUMNS, AttributionTouch, RefundTouch
from omnisocial.db import among

ORDER_PLACES = Decimal("0.000001")
TOUCHES = AttributionTouch._meta.db_table
REFUND_TOUCHES = RefundTouch._meta.db_table


def credited(value) -> Decimal:
    """Credited orders as stored: six places (the weights'), whatever the database's sum gave."""
    return Decimal(value or 0).quantize(ORDER_PLACES)


def suffixes(models: Sequence[str]) -> list[tuple[str, str]]:
    """(model, column suffix) of `models`, in column order."""
    return [(model, suffix) for model, suffix in MODEL_COLUMNS.items() if model in models]


def live_flags(models: Sequence[str], within: str) -> str:
    """SQL of a derived table (order_id, live_<suffix>, ...): per order with a refund row that
    matches `within` (a condition on refund touch rows `r`), 1 while the order still credits
    orders under the model and 0 once it is fully refunded, read from all of the order's
    touches. An order without a refund row is live under every model (a LEFT JOIN's missing
    row: COALESCE(live, 1)). Each order's touches are read through its index (on PostgreSQL by
    LATERAL: for a join its planner scanned every touch, seconds at a million orders, where a
    few in a hundred have refunds). Callers name it `AS MATERIALIZED`: computed once, never
    re-run inside a nested loop (with stale statistics that said a table held one row,
    PostgreSQL ran it once per touch of the cells: seconds for one order)."""
    flags = ", ".join(
        f"CASE WHEN SUM(t.refunded_{s}) > 0 AND SUM(t.revenue_{s}) <= 0 THEN 0 ELSE 1 END"
        f" AS live_{s}"
        for _, s in suffixes(models)
    )
    refunded = f"SELECT DISTINCT r.order_id FROM {REFUND_TOUCHES} AS r WHERE {within}"  # noqa: S608
    if connection.vendor != "postgresql":  # no LATERAL; SQLite's planner joins by the index
        return f"""SELECT r.order_id, {flags} FROM ({refunded}) AS r
                   JOIN {TOUCHES} AS t ON t.order_id = r.order_id GROUP BY r.order_id"""  # noqa: S608
    return f"""SELECT r.order_id, x.* FROM ({refunded}) AS r CROSS JOIN LATERAL (
                   SELECT {flags} FROM {TOUCHES} AS t WHERE t.order_id = r.order_id
               ) AS x"""  # noqa: S608 - names only


def cells_condition(alias: str, day_column: str, days, post_ids, platforms) -> tuple[str, list]:
    """` AND ...` limiting rows to the DailyRevenue cells of `days` x (`post_ids` and the
    platform-only cells of `platforms`); nothing when `days` is None (every cell). The lists
    are parameters (`among`): the live path's statements keep one text whatever one order
    touched."""
    if days is None:
        return "", []
    a = f"{alias}." if alias else ""
    in_days, params = among(f"{a}{day_column}", days)
    cells = []
    if post_ids:
        in_posts, post_params = among(f"{a}post_id", post_ids)
        cells.append(in_posts)
        params += post_params
    if platforms:
        in_platforms, platform_params = among(f"{a}platform", platforms)
        cells.append(f"({a}post_id IS NULL AND {in_platforms})")
        params += platform_params
    return f" AND {in_days} AND ({' OR '.join(cells) or '1 = 0'})", params


def order_counts(rows: Iterable[tuple[str, Decimal, Decimal]]) -> dict[str, int]:
    """The same rule as `live_flags` for one order's rows (model, refunded, revenue): {model: 1
    while it credits orders, 0 once fully refunded}."""
    refunded, revenue = Counter(), Counter()
    for model, back, net in rows:
        refunded[model] += back
        revenue[model] += net
    return {
        model: 0 if refunded[model] > 0 and revenue[model] <= 0 else 1
        for model in set(refunded) | set(revenue)
    }
