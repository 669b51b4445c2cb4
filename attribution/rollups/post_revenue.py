"""PostRevenue: per post and model, the spec's figures (revenue, credited orders, units, AOV,
unique clicks, conversion rate, ROAS), read from DailyRevenue so they always equal it."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from attribution.models import DailyRevenue, PostRevenue
from attribution.rollups.clicks import unique_clicks
from omnisocial.models import Workspace
from omnisocial.money import ZERO, round_money

BATCH = 2000
UNITS_PLACES = Decimal("0.000001")


def post_revenue_rebuild(workspace: Workspace, post_ids: set[int] | None) -> None:
    """PostRevenue of the given posts (every post of the workspace when None), every model."""
    posts = workspace.posts.all()
    if post_ids is not None:
        posts = posts.filter(pk__in=post_ids)
    posts = {p.pk: p for p in posts.only("pk", "boosted_spend", "boosted_currency")}
    clicks = unique_clicks(workspace, posts={"pk__in": list(posts)}, by="pk")
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
    _post_revenue_write(rows)


def post_revenue_shift(workspace: Workspace, moved: dict[tuple, tuple]) -> None:
    """The live path: PostRevenue of the posts one order touched, shifted by how their
    DailyRevenue cells moved ({(post_id, model): (revenue, units, orders)}, see
    `daily_revenue_refresh`) instead of summing every day of the post again; the derived
    figures and unique clicks recomputed as the rebuild computes them. A post without its rows
    yet is built in full."""
    post_ids = {post_id for post_id, _ in moved}
    if not post_ids:
        return
    # Part of the caller's transaction when there is one (no savepoint: nothing here is retried).
    with transaction.atomic(savepoint=False):
        # Locked: two orders of one post re-attributed at once both land.
        stored = {
            (row.post_id, row.attribution_model): row
            for row in PostRevenue.objects.select_for_update(of=("self",))
            .select_related("post")
            .filter(workspace=workspace, post_id__in=post_ids)
        }
        models = workspace.attribution_models
        whole = {p for p in post_ids if any((p, m) not in stored for m in models)}
        if whole:
            post_revenue_rebuild(workspace, whole)
        shifted = post_ids - whole
        if not shifted:
            return
        posts = {row.post_id: row.post for row in stored.values() if row.post_id in shifted}
        posts = posts.values()
        clicks = unique_clicks(workspace, posts={"pk__in": sorted(shifted)}, by="pk")
        rows = []
        for post in posts:
            for model in models:
                row = stored[post.pk, model]
                revenue, units, orders = moved.get((post.pk, model), (ZERO, ZERO, ZERO))
                totals = {
                    "revenue": row.total_revenue + revenue,
                    "units": row.total_units + units,
                    "orders": row.total_orders + orders,
                }
                rows.append(_post_revenue(workspace, post, model, totals, clicks.get(post.pk, 0)))
        _post_revenue_write(rows)


def _post_revenue_write(rows: list[PostRevenue]) -> None:
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
