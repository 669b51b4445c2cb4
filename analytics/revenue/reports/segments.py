"""Segments and coupons: revenue, credited orders, customers, AOV, conversion rate, spend and
ROAS per platform, campaign, content type or audience cohort, and each coupon's redemptions,
revenue and conversion rate.

Shown on the segments page (/analytics/segments/) and its CSV, the coupons page
(/analytics/coupons/) and its CSV, and by GET /commerce/segments and GET /commerce/coupons.
The refund and uncounted-order readers here serve the receipts too (`orders.py`).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Min, QuerySet, Sum
from django.utils import timezone

from analytics.revenue.filters import RevenueFilters
from analytics.revenue.reports.figures import (
    attributions,
    converted_clicks,
    daily,
    figures,
    money_of,
    ratio,
    revenue_without_post,
    spend_by,
    totals,
    unique_clicks_by_post,
)
from attribution import rollups
from attribution.models import RefundAttribution, RevenueAttribution
from commerce.models import CommerceOrder
from omnisocial.models import Platform, Post, Workspace
from omnisocial.money import ZERO

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
        cells = totals(workspace, f, by=("platform",))
        labels = dict(Platform.choices)
        clicks = _clicks_by(workspace, f, "platform")
        converted = converted_clicks(workspace, f, by="platform")
        customers = _customers_by(workspace, f, "platform")
        spend = spend_by(workspace, f, "post__platform")
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
        cells = totals(workspace, f)
        names = dict(workspace.campaigns.values_list("pk", "name"))
        clicks = _clicks_by(workspace, f, "campaign_id")
        converted = converted_clicks(workspace, f, by="campaign_id")
        customers = _customers_by(workspace, f, "campaign_id")
        by_campaign = totals(workspace, f, by=("campaign_key",))
        spend = spend_by(workspace, f, "post__campaign_id")
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
            daily(workspace, f)
            .values("post__content_type")
            .annotate(revenue=Sum("revenue"), orders=Sum("orders"))
        )
        clicks = _clicks_by(workspace, f, "content_type")
        converted = converted_clicks(workspace, f, by="post__content_type")
        customers = _customers_by(workspace, f, "post__content_type")
        spend = spend_by(workspace, f, "post__content_type")
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
    rows = attributions(workspace, f).exclude(order__customer_key="")
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
        attributions(workspace, f).exclude(order__customer_key="").values("order__customer_key")
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
        attributions(workspace, f)
        .filter(attribution_weight__gte=0)
        .values_list("order_id", "order__customer_key", "order__is_returning_customer",
                     "order__customer_tags", "gross_revenue", "attribution_weight")
    )  # fmt: skip
    counts = uncounted_orders(
        workspace, f, attributions(workspace, f).filter(attribution_weight__gte=0)
    )
    refunds = refunds_booked(workspace, f).values_list(
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


def uncounted_orders(workspace: Workspace, f: RevenueFilters, sales: QuerySet) -> dict[int, int]:
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


def refunds_booked(workspace: Workspace, f: RevenueFilters) -> QuerySet:
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
    clicks = unique_clicks_by_post(
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
                "revenue": money_of(revenue),
                "posts": posts,
                "unique_clicks": post_clicks,
                "conversion_rate": ratio(len(redeemed), post_clicks),
            }
        )
    result.sort(key=lambda item: (-item["revenue"], item["coupon"].code.lower()))
    return result
