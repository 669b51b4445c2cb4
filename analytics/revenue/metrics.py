"""The revenue figures, each defined once (docs/metrics.md): what Analytics › Revenue, Post
Analytics, Segments, receipts, the revenue API and the CSVs show.

Every function takes the workspace first and starts its querysets from it. Figures come from the
rollups (`DailyRevenue`, `PostRevenue`, and `DailyTotals` / `DailyClicks` for the counts); a
post's own distinct orders, segments and journeys read `RevenueAttribution` (indexed by post).
Days are the workspace's days; money is Decimal.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Min, Prefetch, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.revenue.filters import RevenueFilters
from attribution import rollups
from attribution.models import (
    AttributionModel,
    AttributionTouch,
    Click,
    DailyRevenue,
    MatchedField,
    Reach,
    RefundAttribution,
    RevenueAttribution,
)
from commerce.models import CommerceOrder
from omnisocial.models import MetricsSource, Platform, Post, PostMetrics, Workspace
from omnisocial.money import ZERO, round_money


def _daily(workspace: Workspace, f: RevenueFilters, model: str | None = None) -> QuerySet:
    rows = DailyRevenue.objects.filter(
        workspace=workspace, attribution_model=model or f.model, day__gte=f.start, day__lte=f.end
    )
    if f.platform:
        rows = rows.filter(platform=f.platform)
    if f.campaign_id:
        rows = rows.filter(campaign_id=f.campaign_id)
    return rows


def _attributions(workspace: Workspace, f: RevenueFilters, model: str | None = None) -> QuerySet:
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


def _totals(workspace: Workspace, f: RevenueFilters, model=None, *, by=()) -> dict:
    return rollups.totals(
        workspace, model=model or f.model, start=f.start, end=f.end, platform=f.platform,
        campaign_id=f.campaign_id, by=by,
    )  # fmt: skip


def _money(value) -> Decimal:
    return round_money(value or ZERO)


def _ratio(numerator, denominator, places: str = "0.0001") -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places))


def headline(workspace: Workspace, f: RevenueFilters, model: str | None = None) -> dict:
    """Total social revenue, attributed orders, AOV, ad spend, ROAS of boosted posts and blended
    ROAS (all social revenue over all spend) for the range."""
    found = _totals(workspace, f, model)
    revenue, orders = _money(found["revenue"]), found["orders"]
    spend, boosted_revenue = _boost(workspace, f, model)
    return {
        "revenue": revenue,
        "orders": orders,
        "avg_order_value": round_money(revenue / orders) if orders else None,
        "ad_spend": spend,
        "roas": _ratio(boosted_revenue, spend),
        "blended_roas": _ratio(revenue, spend),
    }


def _boost(workspace: Workspace, f: RevenueFilters, model: str | None) -> tuple[Decimal, Decimal]:
    """Ad spend in the range (the posts' daily metrics) and the revenue of the boosted posts:
    those with spend on the range's days."""
    by_post = _spend_by_post(workspace, f)
    spend = _money(sum(by_post.values(), ZERO))
    if not by_post:  # no boosted post: no revenue to read
        return spend, ZERO
    revenue = _money(
        _daily(workspace, f, model).filter(post__in=list(by_post)).aggregate(s=Sum("revenue"))["s"]
    )
    return spend, revenue


def with_change(current: dict, previous: dict) -> dict:
    """Each headline figure with its change against the previous period (a ratio, or None)."""
    result = {}
    for key, value in current.items():
        before = previous.get(key)
        change = _change(Decimal(value), Decimal(before)) if value is not None and before else None
        result[key] = {"value": value, "previous": before, "change": change}
    return result


def revenue_by_platform(workspace: Workspace, f: RevenueFilters, model=None) -> list[dict]:
    cells = _totals(workspace, f, model, by=("platform",))
    labels = dict(Platform.choices)
    found = {platform: _money(cell["revenue"]) for platform, cell in cells.items()}
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
    return _ranked_posts(workspace, f, limit, model)[0]


def _ranked_posts(
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
    found = _post_cells(workspace, f, model)
    spend = _spend_by_post(workspace, f)
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
                _post_figures(workspace, f, model, ranked, found, spend, clicks=clicks), 1
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


def _post_cells(workspace: Workspace, f: RevenueFilters, model=None) -> dict[int, dict]:
    """Each post's revenue, credited orders and units in the scope: {post_id: sums}."""
    cells = (
        _daily(workspace, f, model)
        .filter(post__isnull=False)
        .values("post_id")
        .annotate(revenue=Sum("revenue"), orders=Sum("orders"), units=Sum("units"))
    )
    return {row["post_id"]: row for row in cells}


def _post_figures(
    workspace, f: RevenueFilters, model, posts, cells, spend, *, clicks=True
) -> list[dict]:
    """`posts` in their order, each with its figures (see `figures`): its cells' sums, its
    unique and converted clicks (one query each for all of them; none without `clicks`) and
    its spend."""
    ids = [post.pk for post in posts]
    converted = {}
    if clicks:
        clicks = _unique_clicks_by_post(workspace, f, ids)
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
    revenue, orders = _money(revenue), rollups.credited(orders)
    return {
        "revenue": revenue,
        "orders": orders,
        "units": round_money(units or ZERO),
        "avg_order_value": round_money(revenue / orders) if orders else None,
        "unique_clicks": clicks,
        "converted_clicks": converted,
        "conversion_rate": _ratio(converted, clicks),
        "ad_spend": _money(spend),
        "roas": _ratio(revenue, spend) if spend else None,
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
    posts, rest, spend = _ranked_posts(workspace, f, limit, model)
    rows = list(posts)
    if rest:
        if scope_clicks is None:
            scope_clicks = _scope_clicks(workspace, f)
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


def _scope_clicks(workspace: Workspace, f: RevenueFilters) -> int:
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
        _daily(workspace, f, model)
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


def _spend_by(workspace: Workspace, f: RevenueFilters, field: str) -> dict:
    """Ad spend on the range's days per `field` of the post (post__platform,
    post__campaign_id, post__content_type): the segments' spend, from the one source."""
    rows = _spend_rows(workspace, f).values(field).annotate(s=Sum("spend")).order_by()
    return dict(rows.values_list(field, "s"))


def _spend_by_post(workspace: Workspace, f: RevenueFilters) -> dict[int, Decimal]:
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


def _unique_clicks_by_post(workspace, f: RevenueFilters, post_ids) -> dict[int, int]:
    return rollups.unique_clicks(
        workspace, start=f.start, end=f.end, posts={"pk__in": list(post_ids)}, by="pk"
    )


def revenue_series(workspace: Workspace, f: RevenueFilters, model=None) -> list[dict]:
    """Revenue per day and platform, every day of the range present (zero when quiet)."""
    cells = _totals(workspace, f, model, by=("day", "platform"))
    found = {key: _money(cell["revenue"]) for key, cell in cells.items()}
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
    return _totals(workspace, f, model)["orders"]


def funnel(
    workspace: Workspace,
    f: RevenueFilters,
    model=None,
    *,
    purchases: int | None = None,
    clicks: int | None = None,
) -> dict:
    """Impression -> click -> purchase for the range, with the rates between the steps.
    `purchases`: `orders_attributed_count` for the same scope, and `clicks`: `_scope_clicks`,
    when the caller already has them."""
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
    click_count = _scope_clicks(workspace, f) if clicks is None else clicks
    if purchases is None:
        purchases = orders_attributed_count(workspace, f, model)
    return {
        "impressions": impressions,
        "impressions_sources": sources,
        "clicks": click_count,
        "purchases": purchases,
        "click_through_rate": _ratio(click_count, impressions),
        "purchase_rate": _ratio(purchases, click_count),
        "impression_to_purchase_rate": _ratio(purchases, impressions, "0.000001"),
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


def compare_models(workspace: Workspace, f: RevenueFilters) -> list[dict]:
    """The same headline, platform split and top posts under every model the workspace keeps."""
    return [
        {
            "model": model,
            "label": AttributionModel(model).label,
            "rewards": MODEL_REWARDS[model],
            "headline": headline(workspace, f, model),
            "by_platform": revenue_by_platform(workspace, f, model),
            "top_posts": revenue_by_post(workspace, f, limit=5, model=model),
            "without_post": revenue_without_post(workspace, f, model),
        }
        for model in workspace.attribution_models
    ]


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
        for row in _post_figures(workspace, f, None, list(posts), _post_cells(workspace, f),
                                 _spend_by_post(workspace, f))
    ]  # fmt: skip
    present = [row for row in rows if row[sort] is not None]
    present.sort(key=lambda row: (row[sort], row["post"].pk), reverse=descending)
    return present + [row for row in rows if row[sort] is None]


# What each model rewards, in a line (the compare page prints it under the model's name).
MODEL_REWARDS = {
    "first-touch": "Rewards the post that first brought the buyer: discovery.",
    "last-touch": "Rewards the post clicked last before buying: the closer.",
    "multi-touch": "Shares every order equally between the posts of its journey.",
    "position-based": "40 % to the first post, 40 % to the last, 20 % shared by those between.",
    "time-decay": "More to the posts closest to the purchase: credit halves every 7 days back.",
    "data-driven": "By each post's measured effect: how many orders are lost without it.",
}


def _change(value: Decimal, base: Decimal) -> Decimal | None:
    """(value - base) / base, four places; None without a base."""
    return _ratio(value - base, base) if base else None


def model_comparison(workspace: Workspace, f: RevenueFilters, base: str, other: str) -> dict:
    """Two models side by side, as GA4's model comparison: per post (and per platform for
    revenue credited to no post) each model's revenue, credited orders and ROAS, and the change
    from `base` to `other` (absolute and relative). The rows of each model sum to its total."""
    by_model, known = {}, {}
    for model in (base, other):
        rows = {("post", row["post"].pk): row for row in _ranked_posts(
            workspace, f, None, model, clicks=False, known=known)[0]}  # fmt: skip
        rows.update({("noPost", row["platform"]): row
                     for row in revenue_without_post(workspace, f, model)})  # fmt: skip
        by_model[model] = rows
    empty = figures(revenue=ZERO, orders=ZERO)
    found = []
    for key in by_model[base].keys() | by_model[other].keys():
        a, b = by_model[base].get(key), by_model[other].get(key)
        sample = a or b
        a, b = a or {**empty, "roas": _roas_like(b)}, b or {**empty, "roas": _roas_like(a)}
        found.append({
            "kind": key[0], "post": sample.get("post"), "platform": sample["platform"],
            "label": sample["label"], "base": a, "other": b,
            "revenue_change": b["revenue"] - a["revenue"],
            "revenue_change_pct": _change(b["revenue"], a["revenue"]),
            "orders_change": b["orders"] - a["orders"],
            "orders_change_pct": _change(b["orders"], a["orders"]),
        })  # fmt: skip
    found.sort(key=lambda r: (-max(r["base"]["revenue"], r["other"]["revenue"]),
                              r["kind"], r["label"]))  # fmt: skip
    totals = {model: headline(workspace, f, model) for model in (base, other)}
    return {
        "base": {"model": base, "label": AttributionModel(base).label,
                 "rewards": MODEL_REWARDS[base], **totals[base]},
        "other": {"model": other, "label": AttributionModel(other).label,
                  "rewards": MODEL_REWARDS[other], **totals[other]},
        "revenue_change": totals[other]["revenue"] - totals[base]["revenue"],
        "orders_change": totals[other]["orders"] - totals[base]["orders"],
        "rows": found,
    }  # fmt: skip


def _roas_like(row: dict) -> Decimal | None:
    """A row missing under one model: ROAS 0 where the other model's row has spend (the spend
    is the post's, whatever the model), else none."""
    return ZERO if row.get("ad_spend") else None


# --- one post ------------------------------------------------------------------------------------


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
    spend = _spend_by_post(workspace, scope).get(post.pk, ZERO)
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
            "revenue": _money(daily.get(f.start + timedelta(n))),
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
            "revenue": _money(row["revenue"]),
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


# --- segments and coupons ------------------------------------------------------------------------

SEGMENTS = ("platform", "campaign", "contentType", "audience")


def segments(workspace: Workspace, f: RevenueFilters, by: str) -> list[dict]:
    """Revenue, credited orders, customers, AOV and conversion rate per segment, with revenue
    and orders defined as on the headline (sales on the order's day, refunds on the refund's
    day; orders are weights), so the rows of platform, campaign and content type each sum to
    the headline: campaign has a "No campaign" row, content type a row per post-less platform.

    `audience` gives three cohort families: new vs returning customers, acquisition month (the
    month of the customer's first order in this workspace) and store customer tags; each family
    sums to the headline too.
    """
    if by == "platform":
        cells = _totals(workspace, f, by=("platform",))
        labels = dict(Platform.choices)
        clicks = _clicks_by(workspace, f, "platform")
        converted = converted_clicks(workspace, f, by="platform")
        customers = _customers_by(workspace, f, "platform")
        spend = _spend_by(workspace, f, "post__platform")
        rows = [
            _segment(
                platform,
                labels.get(platform, platform or "Other social"),
                cell,
                customers.get(platform, 0),
                clicks.get(platform, 0),
                converted.get(platform, 0),
                spend=spend.pop(platform, ZERO),
            )  # fmt: skip
            for platform, cell in cells.items()
        ]
        for platform, spent in spend.items():  # spend on a platform that earned nothing
            rows.append(_segment(platform, labels.get(platform, platform),
                                 {"revenue": ZERO, "orders": ZERO}, 0, clicks.get(platform, 0),
                                 converted.get(platform, 0), spend=spent))  # fmt: skip
    elif by == "campaign":
        cells = _totals(workspace, f)
        names = dict(workspace.campaigns.values_list("pk", "name"))
        clicks = _clicks_by(workspace, f, "campaign_id")
        converted = converted_clicks(workspace, f, by="campaign_id")
        customers = _customers_by(workspace, f, "campaign_id")
        by_campaign = _totals(workspace, f, by=("campaign_key",))
        spend = _spend_by(workspace, f, "post__campaign_id")
        rows, rest = [], {"revenue": cells["revenue"], "orders": cells["orders"]}
        for campaign_id, cell in by_campaign.items():
            rest = {key: rest[key] - cell[key] for key in rest}
            rows.append(_segment(campaign_id, names.get(campaign_id, "Deleted campaign"), cell,
                                 customers.get(campaign_id, 0), clicks.get(campaign_id, 0),
                                 converted.get(campaign_id, 0),
                                 spend=spend.pop(campaign_id, ZERO)))  # fmt: skip
        no_campaign_spend = spend.pop(None, ZERO)
        if rest["revenue"] or rest["orders"] or no_campaign_spend:
            rows.append(_segment(None, "No campaign", rest, customers.get(None, 0),
                                 clicks.get(None, 0), converted.get(None, 0),
                                 spend=no_campaign_spend))  # fmt: skip
        for campaign_id, spent in spend.items():  # spend on a campaign that earned nothing
            rows.append(_segment(campaign_id, names.get(campaign_id, "Deleted campaign"),
                                 {"revenue": ZERO, "orders": ZERO}, 0,
                                 clicks.get(campaign_id, 0), converted.get(campaign_id, 0),
                                 spend=spent))  # fmt: skip
    elif by == "contentType":
        labels = dict(Post.ContentType.choices)
        cells = (
            _daily(workspace, f)
            .values("post__content_type")
            .annotate(revenue=Sum("revenue"), orders=Sum("orders"))
        )
        clicks = _clicks_by(workspace, f, "content_type")
        converted = converted_clicks(workspace, f, by="post__content_type")
        customers = _customers_by(workspace, f, "post__content_type")
        spend = _spend_by(workspace, f, "post__content_type")
        rows = []
        for cell in cells:
            kind = cell["post__content_type"]
            if kind is None:
                continue
            rows.append(_segment(kind, labels.get(kind, kind), cell, customers.get(kind, 0),
                                 clicks.get(kind, 0), converted.get(kind, 0),
                                 spend=spend.pop(kind, ZERO)))  # fmt: skip
        for kind, spent in spend.items():  # spend on a content type that earned nothing
            nothing = {"revenue": ZERO, "orders": ZERO}
            rows.append(_segment(kind, labels.get(kind, kind), nothing, 0, clicks.get(kind, 0),
                                 converted.get(kind, 0), spend=spent))  # fmt: skip
        for row in revenue_without_post(workspace, f):
            rows.append(_segment(f"noPost:{row['platform']}", row["label"], row, None, 0, 0,
                                 spend=ZERO))  # fmt: skip
    elif by == "audience":
        return _audience(workspace, f)
    else:
        raise ValidationError({"by": f"Segment by one of {', '.join(SEGMENTS)}."})
    rows.sort(key=lambda row: (-row["revenue"], str(row["label"])))
    return rows


def _segment(key, label, cell, customers, clicks, converted, family=None, spend=None) -> dict:
    """One segment's row; `spend` None where spend cannot be told (audience segments: spend
    belongs to posts, not to customers)."""
    found = figures(revenue=cell["revenue"], orders=cell["orders"], clicks=clicks,
                    converted=converted, spend=spend or ZERO)  # fmt: skip
    return {
        "segment": key if key not in (None, "") else "",
        "label": label,
        "family": family,
        "revenue": found["revenue"],
        "orders": found["orders"],
        "customers": customers,
        "avg_order_value": found["avg_order_value"],
        "unique_clicks": clicks,
        "conversion_rate": found["conversion_rate"] if clicks else None,
        "ad_spend": found["ad_spend"] if spend is not None else None,
        "roas": found["roas"] if spend is not None else None,
    }


def _clicks_by(workspace, f: RevenueFilters, field: str) -> dict:
    return rollups.unique_clicks(workspace, start=f.start, end=f.end, by=field)


def _customers_by(workspace, f: RevenueFilters, field: str) -> dict:
    """Distinct customers (guests excluded) of the orders placed in the range credited to each
    segment."""
    rows = _attributions(workspace, f).exclude(order__customer_key="")
    return dict(
        rows.values(field)
        .annotate(n=Count("order__customer_key", distinct=True))
        .order_by()
        .values_list(field, "n")
    )


def _audience(workspace: Workspace, f: RevenueFilters) -> list[dict]:
    """Cohorts by who bought. Revenue and credited orders follow the headline's definitions (a
    refund counts on its day, for the cohort of the order it refunds), so new-vs-returning and
    acquisition month each sum to the headline; customer tags overlap (an order has 0..n)."""
    zone = workspace.zone
    # The first order of each customer who bought in the range (not of every customer ever).
    buyers = (
        _attributions(workspace, f).exclude(order__customer_key="").values("order__customer_key")
    )
    first_orders: dict[str, str] = {
        key: timezone.localdate(first, zone).strftime("%Y-%m")
        for key, first in CommerceOrder.objects.filter(workspace=workspace, customer_key__in=buyers)
        .values("customer_key")
        .annotate(first=Min("created_at"))
        .order_by()
        .values_list("customer_key", "first")
    }
    sales = list(
        _attributions(workspace, f)
        .filter(attribution_weight__gte=0)
        .values_list("order_id", "order__customer_key", "order__is_returning_customer",
                     "order__customer_tags", "gross_revenue", "attribution_weight")
    )  # fmt: skip
    counts = _order_counts(
        workspace, f, _attributions(workspace, f).filter(attribution_weight__gte=0)
    )
    refunds = _refund_rows(workspace, f).values_list(
        "order_id",
        "order__customer_key",
        "order__is_returning_customer",
        "order__customer_tags",
        "amount",
    )
    families = {"newVsReturning": {}, "acquisitionMonth": {}, "customerTag": {}}

    def add(customer, returning, tags, revenue, orders, order_id):
        keys = [("newVsReturning", "returning" if returning else "new"),
                ("acquisitionMonth", first_orders.get(customer, "")),
                *(("customerTag", tag) for tag in (tags or []))]  # fmt: skip
        for family, key in keys:
            entry = families[family].setdefault(
                key, {"revenue": ZERO, "orders": ZERO, "customers": set()}
            )
            entry["revenue"] += revenue
            entry["orders"] += orders
            if customer and orders:
                entry["customers"].add(customer)

    for order_id, customer, returning, tags, gross, weight in sales:
        add(customer, returning, tags, gross, weight * counts.get(order_id, 1), order_id)
    for order_id, customer, returning, tags, amount in refunds:
        add(customer, returning, tags, -amount, ZERO, order_id)
    labels = {"new": "New customers", "returning": "Returning customers"}
    result = []
    for family, bucket in families.items():
        for key, entry in sorted(bucket.items(), key=lambda kv: (-kv[1]["revenue"], kv[0])):
            label = labels.get(key, key) if family == "newVsReturning" else key
            found = figures(revenue=entry["revenue"], orders=entry["orders"])
            result.append(
                {
                    "segment": key,
                    "label": label or "Guest checkout",
                    "family": family,
                    "revenue": found["revenue"],
                    "orders": found["orders"],
                    "customers": len(entry["customers"]),
                    "avg_order_value": found["avg_order_value"],
                    "unique_clicks": None,
                    "conversion_rate": None,
                }
            )
    return result


def _order_counts(workspace: Workspace, f: RevenueFilters, sales: QuerySet) -> dict[int, int]:
    """The orders of `sales` (attribution rows of orders placed in `f`'s range, a subquery)
    that credit no order under the model, each with 0: fully refunded ones (the rule of
    `attribution.rollups.order_counts` over all of each order's rows: something refunded and
    nothing net left). Read `.get(order_id, 1)`. The sums are taken by the database, over the
    range's days (an order's rows all carry its day); only the refunded orders come back."""
    return dict.fromkeys(
        RevenueAttribution.objects.filter(
            workspace=workspace,
            attribution_model=f.model,
            order_day__gte=f.start,
            order_day__lte=f.end,
            order_id__in=sales.values("order_id"),
        )
        .values("order_id")
        .annotate(back=Sum("refunded"), net=Sum("revenue"))
        .filter(back__gt=0, net__lte=0)
        .order_by()
        .values_list("order_id", flat=True),
        0,
    )


def _refund_rows(workspace: Workspace, f: RevenueFilters) -> QuerySet:
    """Refund credit booked on the range's days under the model, narrowed like the sales."""
    rows = RefundAttribution.objects.filter(
        workspace=workspace, attribution_model=f.model, day__gte=f.start, day__lte=f.end
    ).order_by()
    if f.platform:
        rows = rows.filter(platform=f.platform)
    if f.campaign_id:
        rows = rows.filter(campaign_id=f.campaign_id)
    return rows


def coupon_performance(workspace: Workspace, f: RevenueFilters) -> list[dict]:
    """Per coupon: redemptions and revenue of the orders that used it in the range, the posts
    that distributed it, and its conversion rate = redemptions / unique human clicks on those
    posts in the range (None when no post distributed it or nobody clicked)."""
    start, end = f.instants(workspace)
    coupons = list(workspace.coupons.prefetch_related("posts").select_related("campaign"))
    # Keyed without case (as `commerce.models.coupon_key`): an order's code matches in any case.
    used: dict[str, list[CommerceOrder]] = {c.code.lower(): [] for c in coupons}
    orders = (
        CommerceOrder.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
        .exclude(coupon_codes=[])
        .select_related("workspace")
    )
    for order in orders:
        for key in {code.strip().lower() for code in order.coupon_codes or []}:
            if key in used:
                used[key].append(order)
    clicks = _unique_clicks_by_post(
        workspace, f, [post.pk for coupon in coupons for post in coupon.posts.all()]
    )
    result = []
    for coupon in coupons:
        redeemed = used[coupon.code.lower()]
        revenue = sum(
            (order.attributable_revenue() or ZERO for order in redeemed if not order.is_cancelled),
            ZERO,
        )
        posts = list(coupon.posts.all())
        post_clicks = sum(clicks.get(post.pk, 0) for post in posts)
        result.append(
            {
                "coupon": coupon,
                "redemptions": len(redeemed),
                "revenue": _money(revenue),
                "posts": posts,
                "unique_clicks": post_clicks,
                "conversion_rate": _ratio(len(redeemed), post_clicks),
            }
        )
    result.sort(key=lambda item: (-item["revenue"], item["coupon"].code.lower()))
    return result


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


# --- what the revenue API answers ----------------------------------------------------------------

TOP_CONTENT = 10
POSTS_RANKED = 50


def dashboard(workspace: Workspace, f: RevenueFilters, *, compare: bool = False) -> dict:
    """Everything GET /commerce/revenue/dashboard answers: the headline with its change against
    the previous period, platform and post splits, top content, the funnel, and with `compare`
    the same figures under every model the workspace keeps."""
    clicks = _scope_clicks(workspace, f)
    by_post = revenue_breakdown_by_post(workspace, f, limit=POSTS_RANKED, scope_clicks=clicks)
    current = headline(workspace, f)
    result = {
        "filters": report_scope(workspace, f),
        "headline": with_change(current, headline(workspace, f.previous())),
        "by_platform": revenue_by_platform(workspace, f),
        "by_post": by_post,
        "top_content": [row for row in by_post if row["kind"] == "post"][:TOP_CONTENT],
        "funnel": funnel(workspace, f, purchases=current["orders"], clicks=clicks),
    }
    if compare:
        result["models"] = compare_models(workspace, f)
    return result


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


# --- orders and their journeys ------------------------------------------------------------------


def orders_with_credit(orders: QuerySet[CommerceOrder], model: str) -> QuerySet[CommerceOrder]:
    """Orders (already filtered by analytics.revenue.filters.OrderFilter, the one orders filter),
    newest first, each with `credited`: its attribution rows under `model` that carry credit."""
    rows = RevenueAttribution.objects.filter(
        attribution_model=model, attribution_weight__gt=0
    ).select_related("post")
    touches = journey_touches_query()
    return (
        orders.select_related("store")
        .prefetch_related(
            Prefetch("attributions", queryset=rows, to_attr="credited"),
            Prefetch("touches", queryset=touches, to_attr="journey_touches"),
        )
        .order_by("-created_at", "-pk")
    )


# The orders list's signal of a journey's touch, strongest evidence first (a click reached
# through the order's own click id, the storefront's list, the visitor, then the customer).
_SIGNAL_ORDER = [Reach.COOKIE, Reach.KEPT, Reach.VISITOR, Reach.CUSTOMER, ""]
_CLICK_SIGNALS = {
    Reach.COOKIE: "click", Reach.KEPT: "kept click", Reach.VISITOR: "visitor's earlier click",
    Reach.CUSTOMER: "customer's earlier click", "": "click",
}  # fmt: skip
_FIELD_SIGNALS = {
    MatchedField.UTM_CONTENT: "utm_content", MatchedField.UTM_CAMPAIGN: "utm_campaign",
    MatchedField.COUPON_CODE: "coupon", MatchedField.UTM_SOURCE: "utm_source",
    MatchedField.REFERRER_URL: "referrer",
}  # fmt: skip


def journey_touches_query() -> QuerySet:
    """What `order_signal` reads of an order's stored touches (prefetched as `journey_touches`
    by the orders page, its CSV and GET /commerce/orders)."""
    return AttributionTouch.objects.only(
        "order_id", "position", "matched_field", "matched_value", "reached"
    ).order_by("position")


def order_signal(order: CommerceOrder) -> str:
    """What brought the order its journey, as the orders list says it (page, CSV): the
    strongest evidence among its stored touches (`journey_touches`, see `orders_with_credit`),
    so an order whose only clicks were reached through its customer's earlier visits says so.
    An order with no touch names what it carried that matched nothing, or "none"."""
    touches = getattr(order, "journey_touches", None)
    if touches is None:
        touches = list(order.touches.order_by("position"))
    if touches:
        precedence = list(MatchedField.values)
        best = min(touches, key=lambda t: (
            precedence.index(t.matched_field),
            _SIGNAL_ORDER.index(t.reached) if t.reached in _SIGNAL_ORDER else 0,
            t.position,
        ))  # fmt: skip
        if best.matched_field == MatchedField.CLICK_ID:
            return _CLICK_SIGNALS.get(best.reached, "click")
        if best.matched_field == MatchedField.REFERRER_URL:
            return "referrer"
        return f"{_FIELD_SIGNALS[best.matched_field]} {best.matched_value}"
    carried = [
        ("click", order.osc_click), ("utm_content", order.utm_content),
        ("utm_campaign", order.utm_campaign), ("coupon", " ".join(order.coupon_codes or [])),
        ("utm_source", order.utm_source),
    ]  # fmt: skip
    for name, value in carried:
        if value:
            return f"{name} {value}, unmatched" if name != "click" else "click, unmatched"
    return "none"


RECEIPTS_PAGE = 200


def receipts(
    workspace: Workspace,
    f: RevenueFilters,
    *,
    post: str = "",
    campaign: str = "",
    content_type: str = "",
    page: int = 1,
) -> dict:
    """The orders behind one figure: every order placed in the range credited to the cell (the
    filters' platform and campaign, and `post`: a post's id, or `none` for revenue credited to a
    platform but to no post; `campaign=none` for touches without a campaign; `content_type` for
    the posts of one content type) with its credited
    sale, and every refund booked in the range on the cell. Sales less refunds is the figure
    the page showed; `total` and `orders` are computed over all of them, the lists are paged."""
    sales = _attributions(workspace, f).filter(attribution_weight__gte=0)
    refunds = _refund_rows(workspace, f)
    if post == "none":
        sales, refunds = sales.filter(post__isnull=True), refunds.filter(post__isnull=True)
    elif post:
        sales, refunds = sales.filter(post_id=post), refunds.filter(post_id=post)
    if campaign == "none":
        sales, refunds = sales.filter(campaign__isnull=True), refunds.filter(campaign__isnull=True)
    if content_type:
        sales = sales.filter(post__content_type=content_type)
        refunds = refunds.filter(post__content_type=content_type)
    by_order = (
        sales.values("order_id")
        .annotate(sold=Sum("gross_revenue"), weight=Sum("attribution_weight"))
        .order_by("-order__created_at", "-order_id")
    )
    counts = _order_counts(workspace, f, sales)
    found = sales.aggregate(s=Sum("gross_revenue"), w=Sum("attribution_weight"))
    sold = _money(found["s"])
    back = _money(refunds.aggregate(s=Sum("amount"))["s"])
    # Credited orders: every sale's weight, less the weight of the orders that count none.
    uncounted = sales.filter(order_id__in=list(counts)).aggregate(w=Sum("attribution_weight"))
    orders = rollups.credited((found["w"] or Decimal(0)) - (uncounted["w"] or Decimal(0)))
    sales_count = sales.values("order_id").distinct().count()
    pages = max(1, -(-sales_count // RECEIPTS_PAGE))
    page = min(max(page, 1), pages)  # a page past the end shows the last
    start = (page - 1) * RECEIPTS_PAGE
    shown = list(by_order[start : start + RECEIPTS_PAGE])
    placed = CommerceOrder.objects.in_bulk([row["order_id"] for row in shown])
    refund_rows = list(
        refunds.values("refund_id", "order_id", "day")
        .annotate(amount=Sum("amount"))
        .order_by("-day", "-refund_id")[:RECEIPTS_PAGE]
    )
    refunded = CommerceOrder.objects.in_bulk([row["order_id"] for row in refund_rows])
    return {
        "sales": [
            {
                "order": placed[row["order_id"]],
                "sold": _money(row["sold"]),
                "weight": row["weight"],
                "counts": counts.get(row["order_id"], 1) == 1,
            }
            for row in shown
        ],  # fmt: skip
        "refunds": [{**row, "order": refunded[row["order_id"]]} for row in refund_rows],
        "sales_count": sales_count,
        "refunds_count": refunds.values("refund_id").distinct().count(),
        "sold": sold,
        "refunded": back,
        "total": sold - back,
        "orders": orders,
        "page": page,
        "pages": pages,
    }


def order_journey(workspace: Workspace, order: CommerceOrder) -> dict:
    """Why an order's revenue went where it went: its touches in time order, how each matched,
    and every model's weight and cents for each touch side by side (with each model's totals).

    Rows of every model share the journey's positions, so a touch is one row here whatever the
    model; a model that credits nothing (a cancelled order) shows zero weights.
    """
    models = list(workspace.attribution_models)
    rows = (
        RevenueAttribution.objects.filter(workspace=workspace, order=order)
        .select_related("post", "campaign", "click")
        .order_by("position", "attribution_model")
    )
    touches: dict[int, dict] = {}
    totals = {model: {"weight": Decimal(0), "revenue": ZERO} for model in models}
    fallback = set()
    for row in rows:
        touch = touches.setdefault(
            row.position,
            {
                "position": row.position,
                "touched_at": row.touched_at,
                "post": row.post,
                "campaign": row.campaign,
                "platform": row.platform,
                "click": row.click,
                "matched_field": row.matched_field,
                "matched_label": MatchedField(row.matched_field).label,
                "matched_value": row.matched_value,
                "credit": {},
            },
        )
        touch["credit"][row.attribution_model] = {
            "weight": row.attribution_weight,
            "revenue": row.revenue,
        }
        if row.attribution_model in totals:
            totals[row.attribution_model]["weight"] += row.attribution_weight
            totals[row.attribution_model]["revenue"] += row.revenue
        if row.is_fallback:
            fallback.add(row.attribution_model)
    ordered = sorted(touches.values(), key=lambda t: (t["touched_at"], t["position"]))
    reached = dict(AttributionTouch.objects.filter(order=order).values_list("position", "reached"))
    coupon_posts = sum(1 for t in ordered if t["matched_field"] == MatchedField.COUPON_CODE)
    for touch in ordered:
        touch["cells"] = [touch["credit"].get(model) for model in models]
        touch["reached"] = reached.get(touch["position"], "")
        touch["how"] = touch_explanation(touch, order, coupon_posts)
    return {
        "models": [(model, AttributionModel(model).label) for model in models],
        "touches": ordered,
        "totals": [totals[model] for model in models],
        "fallback": sorted(fallback),
        # What the touches were credited in all (every model splits the same amount): the sale
        # and each refund converted at the order's rate on their own, as the engine books them,
        # so the header and the rows never differ by a rounding cent. None without a rate.
        "revenue": order.attributable_revenue()
        if order.exchange_rate is None
        else (totals[models[0]]["revenue"] if ordered and models else None),
    }


def touch_explanation(touch: dict, order: CommerceOrder, coupon_posts: int) -> str:
    """How a touch of the order page was reached, in a merchant's words, from what its stored
    touch says (`matched_field`, `matched_value`, `reached`); `coupon_posts` is how many of the
    journey's touches are the coupon's posts. The coupon rule is docs/metrics.md's."""
    field, value, reach = touch["matched_field"], touch["matched_value"], touch["reached"]
    platform = Platform(touch["platform"]).label if touch["platform"] in Platform.values else ""
    if field == MatchedField.CLICK_ID:
        return {
            Reach.COOKIE: f"Click {value}: the click id this visitor's browser carried to "
            "checkout (osc_click).",
            Reach.KEPT: f"Click {value}: a click id the storefront kept for this buyer "
            "(osc_clicks).",
            Reach.VISITOR: f"Click {value}: an earlier click by the same visitor (the browser "
            "whose click id the order carried).",
            Reach.CUSTOMER: f"Click {value}: a click by the same customer on another visit or "
            "device, linked to this buyer by an earlier order.",
        }.get(reach, f"Click {value}: its click id matched.")
    if field == MatchedField.UTM_CONTENT:
        return f"The order's landing utm_content {value} names this post."
    if field == MatchedField.UTM_CAMPAIGN:
        return f"The order's landing utm_campaign {value} names this campaign."
    if field == MatchedField.COUPON_CODE:
        if touch["post"] is None:
            return f"Coupon {value}: distributed by this campaign, with no post."
        several = (
            "; first touch takes the earliest published, last touch the latest published, "
            "the other models share them"
            if coupon_posts > 1
            else ""
        )
        if reach == Reach.PRODUCT:
            also = f" ({coupon_posts} of its posts do{several})" if coupon_posts > 1 else ""
            return f"Coupon {value}: this post links to a product in the order{also}."
        if reach != Reach.DISTRIBUTED:  # a row from before touches said how they were reached
            return f"Coupon {value}: this post distributed it."
        posts = f"{coupon_posts} post{'s' if coupon_posts != 1 else ''}"
        return (
            f"Coupon {value}: distributed by {posts}, none links to a product in the order"
            f"{several}."
        )
    if field == MatchedField.UTM_SOURCE:
        return f"The order's utm_source {value} names {platform or 'a platform'}; no post."
    site = f"{platform}'s site" if platform else "a social site"
    return f"The order came from {site} (referrer); no post."


def post_orders(workspace: Workspace, post: Post, model: str, *, limit: int = 10) -> list:
    """The latest orders that credited this post under the model, with the credit it got."""
    return list(
        RevenueAttribution.objects.filter(
            workspace=workspace, post=post, attribution_model=model, attribution_weight__gt=0
        )
        .select_related("order")
        .order_by("-order__created_at", "-order_id")[:limit]
    )
