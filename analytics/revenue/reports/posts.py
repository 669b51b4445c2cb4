"""Post reports: every post of the scope with its figures (the posts page), and one post's
figures for the range under each model, its daily revenue and clicks, touchpoints, coupons,
platform engagement and latest credited orders (Post Analytics).

Shown on the posts page and its CSV (posts), on Post Analytics (/analytics/posts/<id>/) and its
CSVs (daily, touchpoints), and by GET /commerce/revenue/posts/<id>. The figures are defined as in
revenue by post (`figures.py`), so the posts' figures sum to it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from analytics.revenue.filters import RevenueFilters
from analytics.revenue.reports.figures import (
    converted_clicks,
    figures,
    figures_of_posts,
    metrics_sources,
    money_of,
    post_cells,
    report_scope,
    spend_by_post,
)
from attribution import rollups
from attribution.models import Click, DailyRevenue, MatchedField, RevenueAttribution
from omnisocial.models import Post, PostMetrics, Workspace
from omnisocial.money import ZERO

# The posts page's sort keys: (figure, None sorts last either way).
POST_SORTS = ("revenue", "orders", "unique_clicks", "conversion_rate", "roas", "ad_spend",
              "published_at")  # fmt: skip


def posts_performance(
    workspace: Workspace, f: RevenueFilters, *, sort: str = "revenue", descending: bool = True
) -> list[dict]:
    """Every post of the scope (platform, campaign) with its figures for the range under the
    model, defined as in revenue by post (docs/metrics.md): revenue, credited orders, unique
    clicks, conversion rate, spend and ROAS; posts that earned nothing are listed with zeros."""
    posts = workspace.posts.select_related("campaign")
    if f.platform:
        posts = posts.filter(platform=f.platform)
    if f.campaign_id:
        posts = posts.filter(campaign_id=f.campaign_id)
    rows = [
        {**row, "published_at": row["post"].published_at}
        for row in figures_of_posts(workspace, f, None, list(posts), post_cells(workspace, f),
                                 spend_by_post(workspace, f))
    ]  # fmt: skip
    present = [row for row in rows if row[sort] is not None]
    present.sort(key=lambda row: (row[sort], row["post"].pk), reverse=descending)
    return present + [row for row in rows if row[sort] is None]


def post_range_figures(workspace: Workspace, post: Post, f: RevenueFilters, model: str) -> dict:
    """One post's figures for the range under `model`, with the same definitions as revenue by
    post (so the posts' figures sum to it), plus the orders credited to it without a click of
    it (coupon, UTM or referrer matches), shown beside the conversion rate."""
    scope = replace(f, platform="", campaign_id=None)
    cells = DailyRevenue.objects.filter(
        workspace=workspace, post=post, attribution_model=model,
        day__gte=f.start, day__lte=f.end,
    ).aggregate(revenue=Sum("revenue"), orders=Sum("orders"), units=Sum("units"))  # fmt: skip
    clicks = rollups.unique_clicks(workspace, start=f.start, end=f.end, posts={"pk__in": [post.pk]})
    converted = converted_clicks(workspace, scope, model, by="post_id", post_ids=[post.pk])
    spend = spend_by_post(workspace, scope).get(post.pk, ZERO)
    found = figures(
        revenue=cells["revenue"], orders=cells["orders"], units=cells["units"], clicks=clicks,
        converted=converted.get(post.pk, 0), spend=spend, boosted=bool(spend),
    )  # fmt: skip
    found["orders_without_click"] = (
        RevenueAttribution.objects.filter(
            workspace=workspace, post=post, attribution_model=model, attribution_weight__gt=0,
            order_day__gte=f.start, order_day__lte=f.end,
        )
        .exclude(matched_field=MatchedField.CLICK_ID)
        .values("order_id")
        .distinct()
        .count()
    )  # fmt: skip
    found["model"] = model
    return found


def post_revenue(
    workspace: Workspace, post: Post, f: RevenueFilters, *, every_model: bool = False
) -> dict:
    """What Post Analytics shows: the post's figures for the range under the chosen model (and
    under every model the workspace keeps with `every_model`, as the API answers them), its
    daily revenue and unique human clicks, its touchpoints by matched field in the range and its
    coupons."""
    models = workspace.attribution_models if every_model else [f.model]
    by_model = {model: post_range_figures(workspace, post, f, model) for model in models}
    daily = dict(
        DailyRevenue.objects.filter(
            workspace=workspace, post=post, attribution_model=f.model,
            day__gte=f.start, day__lte=f.end,
        )
        .values("day")
        .annotate(revenue=Sum("revenue"))
        .values_list("day", "revenue")
    )  # fmt: skip
    start, end = f.instants(workspace)
    clicks_by_day = dict(
        Click.objects.filter(
            post=post, is_bot=False, is_unique=True, clicked_at__gte=start, clicked_at__lt=end
        )
        .annotate(day=TruncDate("clicked_at", tzinfo=workspace.zone))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    series = [
        {
            "day": f.start + timedelta(n),
            "revenue": money_of(daily.get(f.start + timedelta(n))),
            "clicks": clicks_by_day.get(f.start + timedelta(n), 0),
        }
        for n in range(f.days)
    ]
    touchpoints = [
        {
            "matched_field": row["matched_field"],
            "label": MatchedField(row["matched_field"]).label,
            "touches": row["touches"],
            "orders": rollups.credited(row["orders"]),
            "revenue": money_of(row["revenue"]),
        }
        for row in RevenueAttribution.objects.filter(
            workspace=workspace, post=post, attribution_model=f.model,
            order_day__gte=f.start, order_day__lte=f.end,
        )
        .values("matched_field")
        .annotate(touches=Count("pk"), orders=Sum("attribution_weight"), revenue=Sum("revenue"))
        .order_by("-revenue")
    ]  # fmt: skip
    return {
        "by_model": by_model,
        "current": by_model[f.model],
        "series": series,
        "touchpoints": touchpoints,
        "coupons": list(post.coupons.order_by("code")),
        "engagement": _engagement(post, f),
    }


def _engagement(post: Post, f: RevenueFilters) -> dict:
    """The post's platform figures on the range's days (docs/metrics.md: impressions, reach,
    engagements, link clicks; reach adds the days' reach, as the platforms' daily insights
    do), where they came from, and whether it ever had ad spend."""
    rows = PostMetrics.objects.filter(post=post, day__gte=f.start, day__lte=f.end)
    found = rows.aggregate(
        impressions=Sum("impressions"),
        reach=Sum("reach"),
        engagements=Sum("engagements"),
        link_clicks=Sum("link_clicks"),
    )
    found["days"] = rows.count()
    found["sources"] = metrics_sources(rows)
    found["spent_ever"] = post.metrics.filter(spend__gt=0).exists()
    return found


def post_figures(workspace: Workspace, post: Post, f: RevenueFilters) -> dict:
    """`post_revenue` shaped for the API: the chosen model's figures for the range at the top,
    the same under every model the workspace keeps (zeros where the post earned nothing)."""
    found = post_revenue(workspace, post, f, every_model=True)
    return {
        **found["current"],
        "boosted": found["engagement"]["spent_ever"],
        "engagement": found["engagement"],
        "post": post,
        "filters": report_scope(workspace, f),
        "by_model": list(found["by_model"].values()),
        "daily": found["series"],
        "touchpoints": found["touchpoints"],
        "coupons": found["coupons"],
    }


def post_orders(workspace: Workspace, post: Post, model: str, *, limit: int = 10) -> list:
    """The latest orders that credited this post under the model, with the credit it got."""
    return list(
        RevenueAttribution.objects.filter(
            workspace=workspace, post=post, attribution_model=model, attribution_weight__gt=0
        )
        .select_related("order")
        .order_by("-order__created_at", "-order_id")[:limit]
    )
