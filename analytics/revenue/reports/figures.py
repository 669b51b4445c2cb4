"""The revenue figures, each defined once (docs/metrics.md), and the readers every report shares.

Computes the headline (revenue, credited orders, AOV, ad spend, ROAS, blended ROAS) and its
change against the previous period, revenue by platform, by post and with no post, the daily
series and the funnel, plus `figures()`, the one definition of the derived figures (AOV,
conversion rate, ROAS) that every report's rows go through. Shown on Analytics › Revenue
(/analytics/revenue/) and its CSVs (headline, daily, platforms, posts, funnel), and read by the
other report modules of this package and by GET /commerce/revenue/dashboard (`dashboard.py`).

Every function takes the workspace first and starts its querysets from it. Figures come from the
rollups (`DailyRevenue`, `PostRevenue`, and `DailyTotals` / `DailyClicks` for the counts); a
post's own distinct orders, segments and journeys read `RevenueAttribution` (indexed by post).
Days are the workspace's days; money is Decimal.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from analytics.revenue.filters import RevenueFilters
from attribution import rollups
from attribution.models import DailyRevenue, RevenueAttribution
from commerce.models import CommerceOrder
from omnisocial.models import MetricsSource, Platform, Post, PostMetrics, Workspace
from omnisocial.money import ZERO, round_money


def daily(workspace: Workspace, f: RevenueFilters, model: str | None = None) -> QuerySet:
    rows = DailyRevenue.objects.filter(
        workspace=workspace, attribution_model=model or f.model, day__gte=f.start, day__lte=f.end
    )
    if f.platform:
        rows = rows.filter(platform=f.platform)
    if f.campaign_id:
        rows = rows.filter(campaign_id=f.campaign_id)
    return rows


def attributions(workspace: Workspace, f: RevenueFilters, model: str | None = None) -> QuerySet:
    rows = RevenueAttribution.objects.filter(
        workspace=workspace,
        attribution_model=model or f.model,
        order_day__gte=f.start,
        order_day__lte=f.end,
        attribution_weight__gt=0,
    ).order_by()  # aggregates only: no ordering to sort by
    if f.platform:
        rows = rows.filter(platform=f.platform)
    if f.campaign_id:
        rows = rows.filter(campaign_id=f.campaign_id)
    return rows


def totals(workspace: Workspace, f: RevenueFilters, model=None, *, by=()) -> dict:
    return rollups.totals(
        workspace, model=model or f.model, start=f.start, end=f.end, platform=f.platform,
        campaign_id=f.campaign_id, by=by,
    )  # fmt: skip


def money_of(value) -> Decimal:
    return round_money(value or ZERO)


def ratio(numerator, denominator, places: str = "0.0001") -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places))


def headline(workspace: Workspace, f: RevenueFilters, model: str | None = None) -> dict:
    """Total social revenue, attributed orders, AOV, ad spend, ROAS of boosted posts and blended
    ROAS (all social revenue over all spend) for the range."""
    found = totals(workspace, f, model)
    revenue, orders = money_of(found["revenue"]), found["orders"]
    spend, boosted_revenue = _boost(workspace, f, model)
    return {
        "revenue": revenue,
        "orders": orders,
        "avg_order_value": round_money(revenue / orders) if orders else None,
        "ad_spend": spend,
        "roas": ratio(boosted_revenue, spend),
        "blended_roas": ratio(revenue, spend),
    }


def _boost(workspace: Workspace, f: RevenueFilters, model: str | None) -> tuple[Decimal, Decimal]:
    """Ad spend in the range (the posts' daily metrics) and the revenue of the boosted posts:
    those with spend on the range's days."""
    by_post = spend_by_post(workspace, f)
    spend = money_of(sum(by_post.values(), ZERO))
    if not by_post:  # no boosted post: no revenue to read
        return spend, ZERO
    revenue = money_of(
        daily(workspace, f, model).filter(post__in=list(by_post)).aggregate(s=Sum("revenue"))["s"]
    )
    return spend, revenue


def with_change(current: dict, previous: dict) -> dict:
    """Each headline figure with its change against the previous period (a ratio, or None)."""
    result = {}
    for key, value in current.items():
        before = previous.get(key)
        change = (
            relative_change(Decimal(value), Decimal(before))
            if value is not None and before
            else None
        )
        result[key] = {"value": value, "previous": before, "change": change}
    return result


def revenue_by_platform(workspace: Workspace, f: RevenueFilters, model=None) -> list[dict]:
    cells = totals(workspace, f, model, by=("platform",))
    labels = dict(Platform.choices)
    found = {platform: money_of(cell["revenue"]) for platform, cell in cells.items()}
    orders = {platform: cell["orders"] for platform, cell in cells.items()}
    platforms = [f.platform] if f.platform else [*Platform.values, *(set(found) - set(labels))]
    return [
        {
            "platform": platform,
            "label": labels.get(platform, "Other social"),
            "revenue": found.get(platform, ZERO),
            "orders": orders.get(platform, rollups.credited(0)),
        }
        for platform in platforms
        if platform in found or platform in labels
    ]


def revenue_by_post(
    workspace: Workspace, f: RevenueFilters, *, limit: int | None = 20, model=None
) -> list[dict]:
    """Posts ranked by revenue in the range, with credited orders, units, unique clicks,
    conversion rate, spend and ROAS. Boosted posts (spend in the range, in the scope) are listed
    even without revenue (their spend and ROAS 0 are the point); other posts only when they
    earned something in the range."""
    return ranked_posts(workspace, f, limit, model)[0]


def ranked_posts(
    workspace: Workspace,
    f: RevenueFilters,
    limit: int | None,
    model=None,
    *,
    clicks=True,
    known: dict[int, Post] | None = None,
) -> tuple[list[dict], list[dict], dict[int, Decimal]]:
    """(`revenue_by_post`'s rows, the cells of the posts past `limit`, the spend per post).
    Only the ranked posts are read and given clicks: the ranking itself is one grouped query.
    Without `clicks` the rows' click figures are left at zero (for a report that shows none).
    `known`: posts already read (by id), added to as more are read."""
    found = post_cells(workspace, f, model)
    spend = spend_by_post(workspace, f)
    for post_id in spend:
        found.setdefault(post_id, {"post_id": post_id, "revenue": ZERO, "orders": ZERO,
                                   "units": ZERO})  # fmt: skip
    rows = sorted(found.values(), key=lambda row: (-row["revenue"], row["post_id"]))
    rest = rows[limit:] if limit else []
    rows = rows[:limit] if limit else rows
    known = {} if known is None else known
    known.update(
        posts_by_id(workspace, [row["post_id"] for row in rows if row["post_id"] not in known])
    )
    posts = known
    ranked = [posts[row["post_id"]] for row in rows]
    return (
        [
            {"rank": rank, "kind": "post", "label": str(row["post"]),
             "platform": row["post"].platform, **row}
            for rank, row in enumerate(
                figures_of_posts(workspace, f, model, ranked, found, spend, clicks=clicks), 1
            )
        ],
        rest,
        spend,
    )  # fmt: skip


# Past this many posts, `posts_by_id` reads the workspace's posts rather than a list of ids (a
# statement carrying thousands of ids costs more to send than the rows it narrows away).
POSTS_BY_LIST = 500


def posts_by_id(workspace: Workspace, ids: list[int]) -> dict[int, Post]:
    """The workspace's posts of `ids` (with their campaigns), by id."""
    posts = workspace.posts.select_related("campaign")
    if len(ids) <= POSTS_BY_LIST:
        return posts.in_bulk(ids)
    wanted = set(ids)
    return {post.pk: post for post in posts.order_by() if post.pk in wanted}


def post_cells(workspace: Workspace, f: RevenueFilters, model=None) -> dict[int, dict]:
    """Each post's revenue, credited orders and units in the scope: {post_id: sums}."""
    cells = (
        daily(workspace, f, model)
        .filter(post__isnull=False)
        .values("post_id")
        .annotate(revenue=Sum("revenue"), orders=Sum("orders"), units=Sum("units"))
    )
    return {row["post_id"]: row for row in cells}


def figures_of_posts(
    workspace, f: RevenueFilters, model, posts, cells, spend, *, clicks=True
) -> list[dict]:
    """`posts` in their order, each with its figures (see `figures`): its cells' sums, its
    unique and converted clicks (one query each for all of them; none without `clicks`) and
    its spend."""
    ids = [post.pk for post in posts]
    converted = {}
    if clicks:
        clicks = unique_clicks_by_post(workspace, f, ids)
        converted = converted_clicks(workspace, f, model, by="post_id", post_ids=ids)
    else:
        clicks = {}
    rows = []
    for post in posts:
        cell = cells.get(post.pk, {})
        rows.append({
            "post": post,
            **figures(revenue=cell.get("revenue"), orders=cell.get("orders"),
                      units=cell.get("units"), clicks=clicks.get(post.pk, 0),
                      converted=converted.get(post.pk, 0), spend=spend.get(post.pk, ZERO),
                      boosted=bool(spend.get(post.pk))),
        })  # fmt: skip
    return rows


def figures(*, revenue, orders, units=ZERO, clicks=0, converted=0, spend=ZERO, boosted=False):
    """The derived figures of one row, defined once (docs/metrics.md): AOV = revenue / credited
    orders; conversion rate = converted clicks / unique human clicks; ROAS = revenue / spend
    (0 with spend and no revenue; None without spend)."""
    revenue, orders = money_of(revenue), rollups.credited(orders)
    return {
        "revenue": revenue,
        "orders": orders,
        "units": round_money(units or ZERO),
        "avg_order_value": round_money(revenue / orders) if orders else None,
        "unique_clicks": clicks,
        "converted_clicks": converted,
        "conversion_rate": ratio(converted, clicks),
        "ad_spend": money_of(spend),
        "roas": ratio(revenue, spend) if spend else None,
        "boosted": boosted,
    }


def revenue_breakdown_by_post(
    workspace: Workspace,
    f: RevenueFilters,
    *,
    limit: int | None = None,
    model=None,
    scope_clicks: int | None = None,
) -> list[dict]:
    """Revenue by post that sums to the headline: the ranked posts (`limit` of them, the rest in
    one "Other posts" row), then one row per platform for revenue credited to a platform with no
    post ("Instagram, no post": a social source or referrer without a post).

    The "Other posts" row sums the revenue, credited orders, units and spend of the posts past
    the list that earned or spent in the range, and counts their unique clicks as the scope's
    (`scope_clicks`, the funnel's clicks, when the caller has them) less the ranked posts': the
    clicks of every other post. Its converted clicks and conversion rate are per post only
    (null), so the row costs no query per post."""
    posts, rest, spend = ranked_posts(workspace, f, limit, model)
    rows = list(posts)
    if rest:
        if scope_clicks is None:
            scope_clicks = unique_clicks_in_scope(workspace, f)
        other = figures(
            revenue=sum((r["revenue"] for r in rest), ZERO),
            orders=sum((r["orders"] for r in rest), ZERO),
            units=sum((r["units"] or ZERO for r in rest), ZERO),
            clicks=max(scope_clicks - sum(r["unique_clicks"] for r in posts), 0),
            spend=sum((spend.get(r["post_id"], ZERO) for r in rest), ZERO),
        )
        rows.append({
            "rank": None, "kind": "other", "post": None, "platform": "",
            "label": f"Other posts ({len(rest)})",
            **other, "converted_clicks": None, "conversion_rate": None,
        })  # fmt: skip
    return rows + revenue_without_post(workspace, f, model)


def unique_clicks_in_scope(workspace: Workspace, f: RevenueFilters) -> int:
    """Unique human clicks in the range on the scope's posts (platform, campaign)."""
    posts = {}
    if f.platform:
        posts["platform"] = f.platform
    if f.campaign_id:
        posts["campaign_id"] = f.campaign_id
    return rollups.unique_clicks(workspace, start=f.start, end=f.end, posts=posts)


def revenue_without_post(workspace: Workspace, f: RevenueFilters, model=None) -> list[dict]:
    """Revenue credited to a platform but to no post, one row per platform."""
    labels = dict(Platform.choices)
    cells = (
        daily(workspace, f, model)
        .filter(post__isnull=True)
        .values("platform")
        .annotate(revenue=Sum("revenue"), orders=Sum("orders"), units=Sum("units"))
        .order_by("platform")
    )
    return [
        {
            "rank": None,
            "kind": "noPost",
            "post": None,
            "platform": row["platform"],
            "label": f"{labels.get(row['platform'], 'Other social')}, no post",
            **figures(revenue=row["revenue"], orders=row["orders"], units=row["units"]),
        }  # fmt: skip
        for row in cells
        if row["revenue"] or row["orders"]
    ]


def _spend_rows(workspace: Workspace, f: RevenueFilters) -> QuerySet:
    """The posts' daily metrics with spend on the range's days, narrowed like the revenue: the
    one source of ad spend (the headline's ROAS and every post's)."""
    metrics = PostMetrics.objects.filter(
        post__workspace=workspace, day__gte=f.start, day__lte=f.end, spend__gt=0
    )
    if f.platform:
        metrics = metrics.filter(post__platform=f.platform)
    if f.campaign_id:
        metrics = metrics.filter(post__campaign_id=f.campaign_id)
    return metrics


def spend_by(workspace: Workspace, f: RevenueFilters, field: str) -> dict:
    """Ad spend on the range's days per `field` of the post (post__platform,
    post__campaign_id, post__content_type): the segments' spend, from the one source."""
    rows = _spend_rows(workspace, f).values(field).annotate(s=Sum("spend")).order_by()
    return dict(rows.values_list(field, "s"))


def spend_by_post(workspace: Workspace, f: RevenueFilters) -> dict[int, Decimal]:
    """Ad spend per post on the range's days."""
    rows = _spend_rows(workspace, f).values("post_id").annotate(s=Sum("spend"))
    return dict(rows.values_list("post_id", "s"))


def converted_clicks(
    workspace: Workspace, f: RevenueFilters, model=None, *, by: str, post_ids=None
) -> dict:
    """Unique human clicks made in the range that an order's journey carries (a touch matched by
    click id), per `by` (a RevenueAttribution field: post_id, platform, campaign_id). A subset
    of the range's unique human clicks, so a conversion rate never passes 100%; orders matched
    by coupon, UTM or referrer alone are not click conversions."""
    start, end = f.instants(workspace)
    rows = RevenueAttribution.objects.filter(
        workspace=workspace, attribution_model=model or f.model, click__isnull=False,
        click__is_bot=False, click__is_unique=True, click__clicked_at__gte=start,
        click__clicked_at__lt=end,
    )  # fmt: skip
    if post_ids is not None:
        rows = rows.filter(post_id__in=list(post_ids))
    if f.platform:
        rows = rows.filter(platform=f.platform)
    if f.campaign_id:
        rows = rows.filter(campaign_id=f.campaign_id)
    return dict(
        rows.values(by).annotate(n=Count("click", distinct=True)).order_by().values_list(by, "n")
    )


def unique_clicks_by_post(workspace, f: RevenueFilters, post_ids) -> dict[int, int]:
    return rollups.unique_clicks(
        workspace, start=f.start, end=f.end, posts={"pk__in": list(post_ids)}, by="pk"
    )


def revenue_series(workspace: Workspace, f: RevenueFilters, model=None) -> list[dict]:
    """Revenue per day and platform, every day of the range present (zero when quiet)."""
    cells = totals(workspace, f, model, by=("day", "platform"))
    found = {key: money_of(cell["revenue"]) for key, cell in cells.items()}
    platforms = sorted({platform for _, platform in found}) or (
        [f.platform] if f.platform else Platform.values
    )
    series = []
    for offset in range(f.days):
        day = f.start + timedelta(offset)
        series.append({"day": day, "platforms": {p: found.get((day, p), ZERO) for p in platforms}})
    return series


def orders_attributed_count(workspace: Workspace, f: RevenueFilters, model=None) -> int:
    """Distinct orders credited to a social touch in the range (the headline's orders and the
    funnel's purchases: one query serves both when the caller passes it on)."""
    return totals(workspace, f, model)["orders"]


def funnel(
    workspace: Workspace,
    f: RevenueFilters,
    model=None,
    *,
    purchases: int | None = None,
    clicks: int | None = None,
) -> dict:
    """Impression -> click -> purchase for the range, with the rates between the steps.
    `purchases`: `orders_attributed_count` for the same scope, and `clicks`:
    `unique_clicks_in_scope`, when the caller already has them."""
    metrics = PostMetrics.objects.filter(
        post__workspace=workspace, day__gte=f.start, day__lte=f.end
    )
    posts = {}
    if f.platform:
        metrics = metrics.filter(post__platform=f.platform)
        posts["platform"] = f.platform
    if f.campaign_id:
        metrics = metrics.filter(post__campaign_id=f.campaign_id)
        posts["campaign_id"] = f.campaign_id
    impressions = metrics.aggregate(s=Sum("impressions"))["s"] or 0
    sources = metrics_sources(metrics.filter(impressions__gt=0))
    click_count = unique_clicks_in_scope(workspace, f) if clicks is None else clicks
    if purchases is None:
        purchases = orders_attributed_count(workspace, f, model)
    return {
        "impressions": impressions,
        "impressions_sources": sources,
        "clicks": click_count,
        "purchases": purchases,
        "click_through_rate": ratio(click_count, impressions),
        "purchase_rate": ratio(purchases, click_count),
        "impression_to_purchase_rate": ratio(purchases, impressions, "0.000001"),
    }


def metrics_sources(metrics: QuerySet) -> list[dict]:
    """Where the figures of `metrics` (PostMetrics rows) came from: each source with the
    platforms of its posts, e.g. Meta (Instagram, Facebook), CSV import (TikTok)."""
    labels, platforms = dict(MetricsSource.choices), dict(Platform.choices)
    found: dict[str, set[str]] = {}
    for source, platform in metrics.values_list("source", "post__platform").distinct().order_by():
        found.setdefault(source, set()).add(platform)
    return [
        {"source": source, "label": labels.get(source, source),
         "platforms": [platforms[p] for p in Platform.values if p in found[source]]}
        for source in MetricsSource.values
        if source in found
    ]  # fmt: skip


def relative_change(value: Decimal, base: Decimal) -> Decimal | None:
    """(value - base) / base, four places; None without a base."""
    return ratio(value - base, base) if base else None


def orders_attributed(workspace: Workspace) -> QuerySet[CommerceOrder]:
    """The workspace's orders, newest first, with their attribution rows prefetched."""
    return (
        CommerceOrder.objects.filter(workspace=workspace)
        .select_related("store")
        .prefetch_related("attributions", "attributions__post", "lines")
        .order_by("-created_at", "-pk")
    )


def has_store(workspace: Workspace) -> bool:
    return workspace.stores.exists()


def report_scope(workspace: Workspace, f: RevenueFilters) -> dict:
    return {
        "model": f.model,
        "start": f.start,
        "end": f.end,
        "counted_through": f.counted_through,
        "platform": f.platform,
        "campaign_id": f.campaign_id,
        "currency": workspace.reporting_currency,
    }
