"""Revenue reads: what Analytics › Revenue, Post Analytics and the revenue API show.

Every function takes the workspace first and starts its querysets from it. Figures come from the
rollups (`DailyRevenue`, `PostRevenue`, and `DailyTotals` / `DailyClicks` for the counts); a
post's own distinct orders, segments and journeys read `RevenueAttribution` (indexed by post).
Days are the workspace's days; money is Decimal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from attribution import rollups
from attribution.models import (
    AttributionModel,
    Click,
    DailyRevenue,
    MatchedField,
    PostRevenue,
    RevenueAttribution,
)
from commerce.models import CommerceOrder
from omnisocial.models import Platform, Post, PostMetrics, Workspace
from omnisocial.money import ZERO, round_money

DEFAULT_DAYS = 30
# Reports cover days in this span, at most MAX_DAYS at once: a range of centuries would walk
# millions of days (and its previous period would leave the calendar).
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)
MAX_DAYS = 3660


@dataclass(frozen=True)
class RevenueFilters:
    """A report's scope: model, inclusive day range (workspace days), platform, campaign."""

    model: str
    start: date
    end: date
    platform: str = ""
    campaign_id: int | None = None

    @classmethod
    def from_params(cls, workspace: Workspace, params) -> RevenueFilters:
        """Reads `model`, `from`, `to`, `platform`, `campaign` (a query dict); raises
        ValidationError naming each bad parameter. Defaults: the workspace's model, the last
        30 days up to today."""
        errors = {}
        model = params.get("model") or workspace.default_attribution_model
        if model not in workspace.attribution_models:
            errors["model"] = (
                f"Unknown or disabled model {model!r}; use one of "
                f"{', '.join(workspace.attribution_models)}."
            )
        today = timezone.localdate(timezone=workspace.zone)
        start, end = today - timedelta(days=DEFAULT_DAYS - 1), today
        for name in ("from", "to"):
            value = params.get(name)
            if value:
                try:
                    parsed = date.fromisoformat(value)
                except ValueError:
                    errors[name] = f"{value!r} is not a date (YYYY-MM-DD)."
                    continue
                if not EARLIEST_DAY <= parsed <= LATEST_DAY:
                    errors[name] = f"Dates run from {EARLIEST_DAY} to {LATEST_DAY}."
                    continue
                start, end = (parsed, end) if name == "from" else (start, parsed)
        if start > end and not errors:
            errors["to"] = "The range ends before it starts."
        elif (end - start).days >= MAX_DAYS and not errors:
            errors["to"] = f"A report covers at most {MAX_DAYS} days."
        platform = params.get("platform") or ""
        if platform and platform not in Platform.values:
            errors["platform"] = f"Unknown platform; use one of {', '.join(Platform.values)}."
        campaign_id = None
        campaign = params.get("campaign")
        if campaign:
            found = workspace.campaigns.filter(
                Q(slug=campaign) | Q(pk=int(campaign) if campaign.isdigit() else None)
            ).first()
            if found is None:
                errors["campaign"] = f"No campaign {campaign!r} in this workspace."
            else:
                campaign_id = found.pk
        if errors:
            raise ValidationError(errors)
        return cls(model, start, end, platform, campaign_id)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> RevenueFilters:
        """The period of the same length just before this one."""
        return replace(self, start=self.start - timedelta(self.days), end=self.start - timedelta(1))

    def instants(self, workspace: Workspace) -> tuple[datetime, datetime]:
        """The range as aware instants: [start 00:00, day after end 00:00) in the workspace."""
        zone = workspace.zone
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(1), time.min, tzinfo=zone),
        )


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
    """Total social revenue, attributed orders, AOV and ROAS of boosted posts for the range."""
    found = _totals(workspace, f, model)
    revenue, orders = _money(found["revenue"]), found["orders"]
    spend, boosted_revenue = _boost(workspace, f, model)
    return {
        "revenue": revenue,
        "orders": orders,
        "avg_order_value": round_money(revenue / orders) if orders else None,
        "ad_spend": spend,
        "roas": _ratio(boosted_revenue, spend),
    }


def _boost(workspace: Workspace, f: RevenueFilters, model: str | None) -> tuple[Decimal, Decimal]:
    """Spend on boosted posts in the range (their daily metrics) and the revenue they earned."""
    metrics = PostMetrics.objects.filter(
        post__workspace=workspace, day__gte=f.start, day__lte=f.end, spend__gt=0
    )
    if f.platform:
        metrics = metrics.filter(post__platform=f.platform)
    if f.campaign_id:
        metrics = metrics.filter(post__campaign_id=f.campaign_id)
    spend = _money(metrics.aggregate(s=Sum("spend"))["s"])
    boosted = workspace.posts.filter(boosted_spend__gt=0).values("pk")
    revenue = _money(
        _daily(workspace, f, model).filter(post__in=boosted).aggregate(s=Sum("revenue"))["s"]
    )
    return spend, revenue


def with_change(current: dict, previous: dict) -> dict:
    """Each headline figure with its change against the previous period (a ratio, or None)."""
    result = {}
    for key, value in current.items():
        before = previous.get(key)
        change = None
        if value is not None and before:
            change = ((Decimal(value) - Decimal(before)) / Decimal(before)).quantize(
                Decimal("0.0001")
            )
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
            "orders": orders.get(platform, 0),
        }
        for platform in platforms
        if platform in found or platform in labels
    ]


def revenue_by_post(
    workspace: Workspace, f: RevenueFilters, *, limit: int | None = 20, model=None
) -> list[dict]:
    """Posts ranked by revenue in the range, with orders, unique clicks and conversion rate."""
    # A post's cells of one day count each of its orders once, and an order sits on one day, so
    # summing the cells' distinct orders gives the post's distinct orders in the range (the same
    # sum PostRevenue relies on).
    rows = (
        _daily(workspace, f, model)
        .filter(post__isnull=False)
        .values("post_id")
        .annotate(revenue=Sum("revenue"), orders=Sum("orders"))
        .order_by("-revenue", "post_id")
    )
    if limit:
        rows = rows[:limit]
    rows = list(rows)
    ids = [row["post_id"] for row in rows]
    orders = {row["post_id"]: row["orders"] for row in rows}
    clicks = _unique_clicks_by_post(workspace, f, ids)
    posts = workspace.posts.select_related("campaign").in_bulk(ids)
    ranked = []
    for rank, row in enumerate(rows, start=1):
        post = posts[row["post_id"]]
        ranked.append(
            {
                "rank": rank,
                "post": post,
                "revenue": _money(row["revenue"]),
                "orders": orders.get(post.pk, 0),
                "unique_clicks": clicks.get(post.pk, 0),
                "conversion_rate": _ratio(orders.get(post.pk, 0), clicks.get(post.pk, 0)),
            }
        )
    return ranked


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
    workspace: Workspace, f: RevenueFilters, model=None, *, purchases: int | None = None
) -> dict:
    """Impression -> click -> purchase for the range, with the rates between the steps.
    `purchases`: `orders_attributed_count` for the same scope, when the caller already has it."""
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
    click_count = rollups.unique_clicks(workspace, start=f.start, end=f.end, posts=posts)
    if purchases is None:
        purchases = orders_attributed_count(workspace, f, model)
    return {
        "impressions": impressions,
        "clicks": click_count,
        "purchases": purchases,
        "click_through_rate": _ratio(click_count, impressions),
        "purchase_rate": _ratio(purchases, click_count),
        "impression_to_purchase_rate": _ratio(purchases, impressions, "0.000001"),
    }


def compare_models(workspace: Workspace, f: RevenueFilters) -> list[dict]:
    """The same headline, platform split and top posts under every model the workspace keeps."""
    return [
        {
            "model": model,
            "label": AttributionModel(model).label,
            "headline": headline(workspace, f, model),
            "by_platform": revenue_by_platform(workspace, f, model),
            "top_posts": revenue_by_post(workspace, f, limit=5, model=model),
        }
        for model in workspace.attribution_models
    ]


# --- one post ------------------------------------------------------------------------------------


def post_revenue(workspace: Workspace, post: Post, f: RevenueFilters) -> dict:
    """A post's PostRevenue under every model, its daily revenue and clicks, its touchpoints by
    matched field and its coupons (all-time figures from the rollup; the series in the range)."""
    rollups = {
        row.attribution_model: row
        for row in PostRevenue.objects.filter(workspace=workspace, post=post)
    }
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
    clicks_by_day: dict[date, int] = {}
    for clicked_at in Click.objects.filter(
        post=post, is_bot=False, clicked_at__gte=start, clicked_at__lt=end
    ).values_list("clicked_at", flat=True):
        day = timezone.localdate(clicked_at, workspace.zone)
        clicks_by_day[day] = clicks_by_day.get(day, 0) + 1
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
            "orders": row["orders"],
            "revenue": _money(row["revenue"]),
        }
        for row in RevenueAttribution.objects.filter(
            workspace=workspace, post=post, attribution_model=f.model
        )
        .values("matched_field")
        .annotate(touches=Count("pk"), orders=Count("order", distinct=True), revenue=Sum("revenue"))
        .order_by("-revenue")
    ]
    return {
        "rollups": rollups,
        "current": rollups.get(f.model),
        "series": series,
        "touchpoints": touchpoints,
        "coupons": list(post.coupons.order_by("code")),
        "engagement": PostMetrics.objects.filter(post=post).aggregate(
            impressions=Sum("impressions"),
            reach=Sum("reach"),
            engagements=Sum("engagements"),
            link_clicks=Sum("link_clicks"),
        ),
    }


# --- segments and coupons ------------------------------------------------------------------------

SEGMENTS = ("platform", "campaign", "contentType", "audience")


def segments(workspace: Workspace, f: RevenueFilters, by: str) -> list[dict]:
    """Revenue, orders, customers, AOV and conversion rate per segment.

    `audience` gives three cohort families: new vs returning customers, acquisition month (the
    month of the customer's first order in this workspace) and store customer tags.
    """
    rows = _attributions(workspace, f).filter(attribution_weight__gte=0)
    if by == "platform":
        return _segment_rows(rows, "platform", _clicks_by(workspace, f, "platform"),
                             labels=dict(Platform.choices))  # fmt: skip
    if by == "campaign":
        labels = dict(workspace.campaigns.values_list("pk", "name"))
        return _segment_rows(rows, "campaign_id", _clicks_by(workspace, f, "campaign_id"),
                             labels=labels, unknown="No campaign")  # fmt: skip
    if by == "contentType":
        return _segment_rows(rows.filter(post__isnull=False), "post__content_type",
                             _clicks_by(workspace, f, "content_type"),
                             labels=dict(Post.ContentType.choices))  # fmt: skip
    if by == "audience":
        return _audience(workspace, rows)
    raise ValidationError({"by": f"Segment by one of {', '.join(SEGMENTS)}."})


def _clicks_by(workspace, f: RevenueFilters, field: str) -> dict:
    return rollups.unique_clicks(workspace, start=f.start, end=f.end, by=field)


def _segment_rows(rows, field, clicks, *, labels, unknown="Unknown", family=None) -> list[dict]:
    found = (
        rows.values(field)
        .annotate(
            revenue=Sum("revenue"),
            orders=Count("order", distinct=True),
            customers=Count("order__customer_key", distinct=True),
        )
        .order_by("-revenue")
    )
    result = []
    for row in found:
        key = row[field]
        revenue = _money(row["revenue"])
        result.append(
            {
                "segment": key if key not in (None, "") else "",
                "label": labels.get(key, key or unknown) if labels else (key or unknown),
                "family": family,
                "revenue": revenue,
                "orders": row["orders"],
                "customers": row["customers"],
                "avg_order_value": round_money(revenue / row["orders"]) if row["orders"] else None,
                "conversion_rate": _ratio(row["orders"], clicks.get(key)) if clicks else None,
            }
        )
    return result


def _audience(workspace: Workspace, rows) -> list[dict]:
    kind = {True: "Returning customers", False: "New customers"}
    result = _segment_rows(rows, "order__is_returning_customer", {}, labels=kind,
                           family="newVsReturning")  # fmt: skip
    for item in result:
        item["segment"] = "returning" if item["segment"] is True else "new"
    # Acquisition month: the month of each customer's first order in the workspace.
    first_orders = {}
    for key, created_at in (
        CommerceOrder.objects.filter(workspace=workspace)
        .exclude(customer_key="")
        .order_by("created_at")
        .values_list("customer_key", "created_at")
    ):
        first_orders.setdefault(
            key, timezone.localdate(created_at, workspace.zone).strftime("%Y-%m")
        )
    by_month: dict[str, dict] = {}
    by_tag: dict[str, dict] = {}
    for order_id, customer, tags, revenue in rows.values_list(
        "order_id", "order__customer_key", "order__customer_tags", "revenue"
    ):
        month = first_orders.get(customer, "")
        for bucket, key in [(by_month, month), *((by_tag, tag) for tag in (tags or []))]:
            entry = bucket.setdefault(key, {"revenue": ZERO, "orders": set(), "customers": set()})
            entry["revenue"] += revenue
            entry["orders"].add(order_id)
            if customer:
                entry["customers"].add(customer)
    for family, bucket in (("acquisitionMonth", by_month), ("customerTag", by_tag)):
        for key, entry in sorted(bucket.items(), key=lambda kv: (-kv[1]["revenue"], kv[0])):
            orders = len(entry["orders"])
            result.append(
                {
                    "segment": key,
                    "label": key or "Guest checkout",
                    "family": family,
                    "revenue": _money(entry["revenue"]),
                    "orders": orders,
                    "customers": len(entry["customers"]),
                    "avg_order_value": round_money(entry["revenue"] / orders) if orders else None,
                    "conversion_rate": None,
                }
            )
    return result


def coupon_performance(workspace: Workspace, f: RevenueFilters) -> list[dict]:
    """Per coupon: redemptions and revenue of the orders that used it in the range, the posts
    that distributed it, and its conversion rate = redemptions / unique human clicks on those
    posts in the range (None when no post distributed it or nobody clicked)."""
    start, end = f.instants(workspace)
    coupons = list(workspace.coupons.prefetch_related("posts").select_related("campaign"))
    used: dict[str, list[CommerceOrder]] = {c.code: [] for c in coupons}
    orders = (
        CommerceOrder.objects.filter(workspace=workspace, created_at__gte=start, created_at__lt=end)
        .exclude(coupon_codes=[])
        .select_related("workspace")
    )
    for order in orders:
        for code in order.coupon_codes or []:
            if code in used:
                used[code].append(order)
    clicks = _unique_clicks_by_post(
        workspace, f, [post.pk for coupon in coupons for post in coupon.posts.all()]
    )
    result = []
    for coupon in coupons:
        redeemed = used[coupon.code]
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
    result.sort(key=lambda item: (-item["revenue"], item["coupon"].code))
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
    by_post = revenue_by_post(workspace, f, limit=POSTS_RANKED)
    current = headline(workspace, f)
    result = {
        "filters": report_scope(workspace, f),
        "headline": with_change(current, headline(workspace, f.previous())),
        "by_platform": revenue_by_platform(workspace, f),
        "by_post": by_post,
        "top_content": by_post[:TOP_CONTENT],
        "funnel": funnel(workspace, f, purchases=current["orders"]),
    }
    if compare:
        result["models"] = compare_models(workspace, f)
    return result


def report_scope(workspace: Workspace, f: RevenueFilters) -> dict:
    return {
        "model": f.model,
        "start": f.start,
        "end": f.end,
        "platform": f.platform,
        "campaign_id": f.campaign_id,
        "currency": workspace.reporting_currency,
    }


def post_figures(workspace: Workspace, post: Post, f: RevenueFilters) -> dict:
    """`post_revenue` shaped for the API: the chosen model's PostRevenue figures at the top, the
    same under every model the workspace keeps (zeros where the post earned nothing yet)."""
    found = post_revenue(workspace, post, f)

    def figures(model: str) -> dict:
        row = found["rollups"].get(model)
        return {
            "model": model,
            "total_revenue": row.total_revenue if row else ZERO,
            "total_orders": row.total_orders if row else 0,
            "total_units": row.total_units if row else ZERO,
            "avg_order_value": row.avg_order_value if row else None,
            "unique_clicks": row.unique_clicks if row else 0,
            "conversion_rate": row.conversion_rate if row else None,
            "roas": row.roas if row else None,
        }

    return {
        **figures(f.model),
        "post": post,
        "filters": report_scope(workspace, f),
        "by_model": [figures(model) for model in workspace.attribution_models],
        "daily": found["series"],
        "touchpoints": found["touchpoints"],
        "coupons": found["coupons"],
    }


# --- orders and their journeys ------------------------------------------------------------------

ORDER_STATUSES = ("open", "cancelled", "refunded")


@dataclass(frozen=True)
class OrderFilters:
    """The orders list's scope: the revenue filters plus store, attributed or not, coupon, status
    and an amount range (reporting currency)."""

    revenue: RevenueFilters
    store_id: int | None = None
    attributed: bool | None = None
    coupon: str = ""
    status: str = ""
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None

    @classmethod
    def from_params(cls, workspace: Workspace, params) -> OrderFilters:
        """Reads the revenue parameters and `store`, `attributed` (yes/no), `coupon`, `status`
        (open, cancelled, refunded), `min`, `max`; raises ValidationError naming each bad one."""
        errors = {}
        try:
            revenue = RevenueFilters.from_params(workspace, params)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            revenue = None
        store_id = None
        store = params.get("store") or ""
        if store:
            if not store.isdigit() or not workspace.stores.filter(pk=int(store)).exists():
                errors["store"] = f"No store {store!r} in this workspace."
            else:
                store_id = int(store)
        attributed = {"yes": True, "no": False, "": None}.get(params.get("attributed") or "", "?")
        if attributed == "?":
            errors["attributed"] = "Use yes or no."
            attributed = None
        status = params.get("status") or ""
        if status and status not in ORDER_STATUSES:
            errors["status"] = f"Use one of {', '.join(ORDER_STATUSES)}."
        amounts = {}
        for name in ("min", "max"):
            value = (params.get(name) or "").strip()
            if not value:
                continue
            try:
                amounts[name] = Decimal(value)
                if not amounts[name].is_finite() or amounts[name] < 0:
                    raise ValueError(value)
            except (ArithmeticError, ValueError):
                errors[name] = f"{value!r} is not an amount."
        if errors:
            raise ValidationError(errors)
        return cls(
            revenue=revenue,
            store_id=store_id,
            attributed=attributed,
            coupon=(params.get("coupon") or "").strip().lower(),
            status=status,
            min_amount=amounts.get("min"),
            max_amount=amounts.get("max"),
        )


def orders_filtered(workspace: Workspace, f: OrderFilters) -> QuerySet[CommerceOrder]:
    """The workspace's orders placed in the range, newest first, narrowed by the filters.

    Platform and campaign narrow to orders credited to that platform or campaign under the chosen
    model; `attributed` means credited to at least one social touch under that model. Each order
    carries `credited` (its attribution rows under the model, posts joined) prefetched.
    """
    start, end = f.revenue.instants(workspace)
    orders = CommerceOrder.objects.filter(
        workspace=workspace, created_at__gte=start, created_at__lt=end
    )
    credit = RevenueAttribution.objects.filter(
        workspace=workspace, attribution_model=f.revenue.model, order=OuterRef("pk")
    )
    if f.revenue.platform:
        orders = orders.filter(Exists(credit.filter(platform=f.revenue.platform)))
    if f.revenue.campaign_id:
        orders = orders.filter(Exists(credit.filter(campaign_id=f.revenue.campaign_id)))
    if f.attributed is not None:
        orders = orders.filter(Exists(credit)) if f.attributed else orders.exclude(Exists(credit))
    if f.store_id:
        orders = orders.filter(store_id=f.store_id)
    if f.coupon:
        # The JSON text holds the code quoted; `contains` on a JSON list is PostgreSQL-only.
        orders = orders.filter(coupon_codes__icontains=json.dumps(f.coupon))
    if f.status == "cancelled":
        orders = orders.filter(Q(cancelled_at__isnull=False) | Q(status="cancelled"))
    elif f.status == "refunded":
        orders = orders.filter(refunded_amount__gt=0, cancelled_at__isnull=True)
    elif f.status == "open":
        orders = orders.filter(cancelled_at__isnull=True, refunded_amount=0).exclude(
            status="cancelled"
        )
    if f.min_amount is not None:
        orders = orders.filter(reporting_total__gte=f.min_amount)
    if f.max_amount is not None:
        orders = orders.filter(reporting_total__lte=f.max_amount)
    rows = RevenueAttribution.objects.filter(
        attribution_model=f.revenue.model, attribution_weight__gt=0
    ).select_related("post")
    return (
        orders.select_related("store")
        .prefetch_related(Prefetch("attributions", queryset=rows, to_attr="credited"))
        .order_by("-created_at", "-pk")
    )


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
    for touch in ordered:
        touch["cells"] = [touch["credit"].get(model) for model in models]
    return {
        "models": [(model, AttributionModel(model).label) for model in models],
        "touches": ordered,
        "totals": [totals[model] for model in models],
        "fallback": sorted(fallback),
        "revenue": order.attributable_revenue(),
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
