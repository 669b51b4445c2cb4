"""PostRevenue: per post and model, the spec's figures (revenue, credited orders, units, AOV,
unique clicks, conversion rate, ROAS), read from DailyRevenue so they always equal it."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from attribution.models import AttributionState, DailyRevenue, PostRevenue
from attribution.rollups.clicks import post_unique_clicks
from attribution.rollups.credited import ORDER_PLACES
from omnisocial.db import among, decimal_read, hot_cursor
from omnisocial.models import PostMetrics, Workspace
from omnisocial.money import ZERO, round_money

CENTS = Decimal("0.01")
UNITS_PLACES = Decimal("0.000001")


# What PostRevenue reads of a post: its ad spend to date (PostMetrics, the one source of spend,
# in the reporting currency), for ROAS.
Spend = namedtuple("Spend", "pk spend")


def post_revenue_rebuild(workspace: Workspace, post_ids: set[int] | None) -> None:
    """PostRevenue of the given posts (every post of the workspace when None), every model."""
    posts = workspace.posts.all()
    if post_ids is not None:
        posts = posts.filter(pk__in=post_ids)
    spent = dict(
        PostMetrics.objects.filter(post__in=posts, spend__gt=0)
        .values("post_id")
        .annotate(total=Sum("spend"))
        .values_list("post_id", "total")
    )
    posts = {pk: Spend(pk, spent.get(pk) or ZERO) for pk in posts.values_list("pk", flat=True)}
    clicks = post_unique_clicks(workspace, sorted(posts))
    # Read from the daily rollup (a few rows per post and day) rather than every attribution
    # row: its revenue nets sales and refunds exactly like the raw rows, and an order sits on one
    # day only, so the days' distinct-order counts add up to the post's distinct orders.
    totals = (
        DailyRevenue.objects.filter(workspace=workspace, post_id__in=posts)
        .values("post_id", "attribution_model")
        .annotate(revenue=Sum("revenue"), units=Sum("units"), orders=Sum("orders"))
    )
    found = {
        (row["post_id"], row["attribution_model"]): (row["revenue"], row["units"], row["orders"])
        for row in totals
    }
    rows = []
    for post_id, post in posts.items():
        for model in workspace.attribution_models:
            figures = found.get((post_id, model), (ZERO, ZERO, 0))
            rows.append(_post_revenue(workspace, post, model, figures, clicks.get(post_id, 0)))
    _post_revenue_write(rows)


def post_revenue_shift(
    workspace: Workspace, post_ids: Iterable[int], cells_refresh: Callable[[], dict[tuple, tuple]]
) -> None:
    """The live path: PostRevenue of the posts one order touched, shifted by how their
    DailyRevenue cells moved instead of summing every day of the post again; the derived
    figures and unique clicks recomputed as the rebuild computes them. A post without its rows
    yet is built in full.

    `cells_refresh` recomputes the cells and returns how they moved ({(post_id, model):
    (revenue, units, orders)}, see `daily_revenue_refresh`); it runs after the posts' rows are
    asked for, so in a pipeline the rows come back with the cells' answer. Then one statement
    counts the posts' unique clicks and one upserts the rows: this runs on every attributed
    order."""
    post_ids = sorted(post_ids)
    if not post_ids:
        cells_refresh()
        return
    # Part of the caller's transaction when there is one (no savepoint: nothing here is retried).
    with transaction.atomic(savepoint=False), hot_cursor() as cursor:
        _stored_ask(cursor, workspace, post_ids)
        moved = cells_refresh()
        stored, posts, mark = _stored_read(cursor)
    models = workspace.attribution_models
    whole = {p for p in post_ids if any((p, m) not in stored for m in models)}
    if whole:
        post_revenue_rebuild(workspace, whole)
    shifted = [p for p in post_ids if p not in whole]
    if not shifted:
        return
    clicks = post_unique_clicks(workspace, shifted, mark=mark)
    rows = []
    for post_id in shifted:
        for model in models:
            moves = moved.get((post_id, model), (ZERO, ZERO, ZERO))
            figures = [a + b for a, b in zip(stored[post_id, model], moves, strict=True)]
            post, n = posts[post_id], clicks.get(post_id, 0)
            rows.append(_post_revenue(workspace, post, model, figures, n))
    _post_revenue_write(rows)


def _stored_ask(cursor, workspace: Workspace, post_ids: list[int]) -> None:
    """Asks for the posts' PostRevenue rows, locked (two orders of one post re-attributed at
    once both land), with their posts' ad spend and the clicks' roll-up mark (read here rather
    than in a statement of its own); `_stored_read` reads the answer."""
    posts_sql, params = among("pr.post_id", post_ids)
    lock = " FOR UPDATE OF pr" if connection.features.has_select_for_update_of else ""
    cursor.execute(
        f"""SELECT pr.post_id, pr.attribution_model, pr.total_revenue, pr.total_units,
                pr.total_orders,
                (SELECT SUM(m.spend) FROM {PostMetrics._meta.db_table} AS m
                 WHERE m.post_id = pr.post_id),
                (SELECT s.clicks_rolled_up_to FROM {AttributionState._meta.db_table} AS s
                 WHERE s.workspace_id = pr.workspace_id)
            FROM {PostRevenue._meta.db_table} AS pr
            WHERE pr.workspace_id = %s AND {posts_sql}{lock}""",  # noqa: S608 - names only
        [workspace.pk, *params],
    )


def _stored_read(cursor):
    """{(post_id, model): (revenue, units, orders)}, the posts' ad spend, and the mark."""
    rows = cursor.fetchall()
    stored, posts = {}, {}
    for post_id, model, revenue, units, orders, spend, _ in rows:
        stored[post_id, model] = (
            decimal_read(revenue, CENTS), decimal_read(units, CENTS),
            decimal_read(orders, ORDER_PLACES),
        )  # fmt: skip
        posts[post_id] = Spend(post_id, decimal_read(spend, CENTS) if spend is not None else ZERO)
    # No rows: no mark read either (the posts are built whole, reading it themselves).
    return stored, posts, (rows[0][-1] or 0) if rows else None


# PostRevenue's columns, as `_post_revenue_write` writes them.
COLUMNS = (
    "workspace_id", "post_id", "attribution_model", "total_revenue", "total_orders",
    "total_units", "avg_order_value", "unique_clicks", "conversion_rate", "roas", "updated_at",
)  # fmt: skip


def _post_revenue_write(rows: list[tuple]) -> None:
    """Upserts PostRevenue rows (tuples in COLUMNS' order) by (post, model): one prepared
    statement per row, sent together (executemany pipelines them on PostgreSQL)."""
    table = PostRevenue._meta.db_table
    figures = ", ".join(f"{name} = excluded.{name}" for name in COLUMNS[3:])
    with hot_cursor() as cursor:
        cursor.executemany(
            f"""INSERT INTO {table} ({", ".join(COLUMNS)})
                VALUES ({", ".join(["%s"] * len(COLUMNS))})
                ON CONFLICT (post_id, attribution_model) DO UPDATE SET {figures}""",  # noqa: S608
            rows,
        )


def _post_revenue(workspace, post, model, figures, unique_clicks) -> tuple:
    """One PostRevenue row from the post's (revenue, units, credited orders), in COLUMNS'
    order."""
    revenue, units, orders = figures
    revenue = revenue or ZERO
    return (
        workspace.pk,
        post.pk,
        model,
        revenue,
        orders,
        round_money(units or ZERO),
        round_money(revenue / orders) if orders else None,
        unique_clicks,
        # Attributed orders per unique human click; None without clicks (coupon-only posts).
        (Decimal(orders) / unique_clicks).quantize(UNITS_PLACES) if unique_clicks else None,
        (revenue / post.spend).quantize(Decimal("0.0001")) if post.spend > 0 else None,
        connection.ops.adapt_datetimefield_value(timezone.now()),
    )
