"""Analytics pages: Revenue, compare models, Post Analytics, segments, coupons, orders.

Thin views: every figure comes from `analytics.revenue.reports` (one module per report), the
selectors the revenue API reads too, so a page and the API never disagree. Filters live in the
query string (a view can be shared by its URL); `?export=<table>` downloads the table as CSV.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView

from analytics import charts
from analytics.kpis.selectors import kpi_overview
from analytics.post_picker import RECENT_POSTS, PostsField
from analytics.revenue.exports import csv_response, csv_stream
from analytics.revenue.filters import (
    COMPARISONS,
    PRESETS,
    OrderFilter,
    RevenueFilters,
    compared_models,
    preset_range,
)
from analytics.revenue.paths import conversion_paths
from analytics.revenue.reports import comparison, figures, orders, posts, segments
from analytics.setup import setup_pending
from attribution.markov import MIN_CONVERTING_JOURNEYS
from attribution.models import AttributionModel
from attribution.selectors import learnt_effects, links_of
from commerce.models import CommerceOrder, OrderStatus
from commerce.selectors import store_warnings
from commerce.services import coupon_save
from omnisocial.models import Platform, Post
from omnisocial.money import ZERO
from omnisocial.params import is_id
from omnisocial.tenancy import WorkspaceViewMixin


class AnalyticsPage(WorkspaceViewMixin, TemplateView):
    """Reads the filters from the query; a bad parameter becomes a message, not an error page."""

    filter_class = RevenueFilters
    exports: dict[str, str] = {}
    keep_params: tuple[str, ...] = ()  # query parameters the filter form carries along

    def get(self, request, *args, **kwargs):
        self.params = self._params()
        self.errors = {}
        try:
            self.filters = self.filter_class.from_params(self.workspace, self.params)
        except ValidationError as exc:
            self.errors = {key: " ".join(messages) for key, messages in exc.message_dict.items()}
            self.filters = self.filter_class.from_params(self.workspace, QueryDict())
        export = request.GET.get("export")
        if export:
            if export not in self.exports:
                raise Http404(f"No table {export!r} to export here.")
            return getattr(self, f"export_{export}")()
        response = super().get(request, *args, **kwargs)
        if self.errors:
            response.status_code = 400
        return response

    def _params(self) -> QueryDict:
        """The query (`range` presets are read by the filters themselves, as in the API)."""
        return self.request.GET.copy()

    def _today(self):
        return timezone.localdate(timezone=self.workspace.zone)

    @property
    def revenue_filters(self) -> RevenueFilters:
        return self.filters

    def get_context_data(self, **kwargs):
        f = self.revenue_filters
        today = self._today()
        active = next(
            (value for value, _ in PRESETS if preset_range(value, today) == (f.start, f.end)), ""
        )
        return super().get_context_data(
            filters=f,
            errors=self.errors,
            presets=PRESETS,
            comparisons=COMPARISONS,
            active_preset=active,
            models=[(m, AttributionModel(m).label) for m in self.workspace.attribution_models],
            model_label=AttributionModel(f.model).label,
            platforms=Platform.choices,
            campaigns=list(self.workspace.campaigns.order_by("name").values("pk", "slug", "name")),
            campaign=self.params.get("campaign", ""),
            currency=self.workspace.reporting_currency,
            keep_params=self.keep_params,
            **kwargs,
        )

    def _stores(self) -> dict:
        """The broken states worth a banner: no store, or stores whose orders carry no signal."""
        stores = list(self.workspace.stores.all())
        warnings = [
            (store, warning)
            for store in stores
            if store.is_active
            for warning in store_warnings(store=store)
        ]
        return {"has_store": bool(stores), "store_warnings": warnings}

    def _local(self, instant) -> str:
        """An instant as the workspace's local time, its offset named (ISO 8601)."""
        return instant.astimezone(self.workspace.zone).isoformat()

    def _filename(self, table: str) -> str:
        f = self.revenue_filters
        return f"{table}-{f.model}-{f.start.isoformat()}-{f.end.isoformat()}.csv"


class RevenueView(AnalyticsPage):
    """Analytics › Revenue: which posts make money, at a glance."""

    template_name = "analytics/revenue.html"
    exports = {
        "headline": "Headline",
        "daily": "Revenue by day",
        "platforms": "Revenue by platform",
        "posts": "Top revenue content",
        "funnel": "Funnel",
    }

    def get_context_data(self, **kwargs):
        ws, f = self.workspace, self.filters
        current = figures.headline(ws, f)
        headline = figures.with_change(current, figures.headline(ws, f.previous()))
        by_platform = figures.revenue_by_platform(ws, f)
        series = figures.revenue_series(ws, f)
        labels = dict(Platform.choices)
        top = figures.revenue_breakdown_by_post(ws, f, limit=10)
        has_data = bool(current["revenue"] or current["orders"])
        return super().get_context_data(
            headline=headline,
            previous=f.previous(),
            by_platform=by_platform,
            platform_max=max((row["revenue"] for row in by_platform), default=0),
            top_posts=top,
            top_max=max((row["revenue"] for row in top), default=0),
            funnel=figures.funnel(ws, f, purchases=current["orders"]),
            has_data=has_data,
            best_day=max(series, key=lambda row: sum(row["platforms"].values()), default=None),
            series_chart=charts.revenue_over_time(series, labels, ws.reporting_currency)
            if has_data
            else "",
            platform_chart=charts.revenue_by_platform(by_platform, ws.reporting_currency)
            if has_data
            else "",
            kpi_panel=kpi_overview(workspace=ws),
            setup_steps=setup_pending(ws),
            **self._stores(),
            **kwargs,
        )

    def export_headline(self):
        ws, f = self.workspace, self.filters
        found = figures.with_change(figures.headline(ws, f), figures.headline(ws, f.previous()))
        return csv_response(
            self._filename("headline"),
            ["metric", "value", "previous", "change"],
            [(key, row["value"], row["previous"], row["change"]) for key, row in found.items()],
        )

    def export_daily(self):
        series = figures.revenue_series(self.workspace, self.filters)
        platforms = list(series[0]["platforms"]) if series else []
        return csv_response(
            self._filename("revenue-by-day"),
            ["day", *platforms, "total"],
            [
                (row["day"].isoformat(), *row["platforms"].values(), sum(row["platforms"].values()))
                for row in series
            ],
        )

    def export_platforms(self):
        rows = figures.revenue_by_platform(self.workspace, self.filters)
        return csv_response(
            self._filename("revenue-by-platform"),
            ["platform", "revenue", "orders"],
            [(row["platform"] or "other", row["revenue"], row["orders"]) for row in rows],
        )

    def export_posts(self):
        rows = figures.revenue_breakdown_by_post(self.workspace, self.filters, limit=None)
        return csv_response(
            self._filename("top-revenue-content"),
            [
                "rank",
                "kind",
                "post_id",
                "reference",
                "platform",
                "content_type",
                "campaign",
                "published_at",
                "caption",
                "revenue",
                "credited_orders",
                "units",
                "avg_order_value",
                "unique_clicks",
                "converted_clicks",
                "conversion_rate",
                "ad_spend",
                "roas",
            ],  # fmt: skip
            [
                (
                    row["rank"],
                    row["kind"],
                    post.pk if post else "",
                    post.reference if post else "",
                    row["platform"],
                    post.content_type if post else "",
                    post.campaign.slug if post and post.campaign else "",
                    self._local(post.published_at) if post and post.published_at else "",
                    post.caption if post else row["label"],
                    row["revenue"],
                    row["orders"],
                    row["units"],
                    row["avg_order_value"],
                    row["unique_clicks"],
                    row["converted_clicks"],
                    row["conversion_rate"],
                    row["ad_spend"],
                    row["roas"],
                )  # fmt: skip
                for row in rows
                for post in [row["post"]]
            ],
        )

    def export_funnel(self):
        f = figures.funnel(self.workspace, self.filters)
        return csv_response(
            self._filename("funnel"),
            ["step", "count", "rate_from_previous_step"],
            [
                ("impressions", f["impressions"], None),
                ("clicks", f["clicks"], f["click_through_rate"]),
                ("purchases", f["purchases"], f["purchase_rate"]),
            ],
        )


class CompareModelsView(AnalyticsPage):
    """Two models side by side with the change per post (GA4's model comparison), then the same
    range under every model."""

    template_name = "analytics/compare.html"
    exports = {"compare": "All models", "comparison": "Two models"}
    # The largest removal effects shown; GET /attribution/removal-effects lists every one.
    LEARNT_SHOWN = 10

    def _pair(self) -> tuple[str, str]:
        try:
            return compared_models(self.workspace, self.request.GET)
        except ValidationError as exc:
            self.errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
            return compared_models(self.workspace, QueryDict())

    def get_context_data(self, **kwargs):
        base, against = self._pair()
        columns = comparison.compare_models(self.workspace, self.filters)
        platforms = [(row["platform"], row["label"]) for row in columns[0]["by_platform"]]
        by_platform = [
            (label, [{r["platform"]: r for r in c["by_platform"]}.get(key) for c in columns])
            for key, label in platforms
        ]
        return super().get_context_data(
            columns=columns, platform_rows=by_platform,
            comparison=comparison.model_comparison(self.workspace, self.filters, base, against),
            learnt=learnt_effects(self.workspace, limit=self.LEARNT_SHOWN),
            min_journeys=MIN_CONVERTING_JOURNEYS, **self._stores(), **kwargs,
        )  # fmt: skip

    def export_comparison(self):
        base, against = self._pair()
        found = comparison.model_comparison(self.workspace, self.filters, base, against)
        return csv_response(
            self._filename(f"{base}-vs-{against}"),
            ["kind", "post_reference", "label", f"revenue_{base}", f"revenue_{against}",
             "revenue_change", "revenue_change_pct", f"orders_{base}", f"orders_{against}",
             "orders_change", "orders_change_pct", f"roas_{base}", f"roas_{against}"],
            [(row["kind"], row["post"].reference if row["post"] else "", row["label"],
              row["base"]["revenue"], row["other"]["revenue"], row["revenue_change"],
              row["revenue_change_pct"], row["base"]["orders"], row["other"]["orders"],
              row["orders_change"], row["orders_change_pct"], row["base"]["roas"],
              row["other"]["roas"]) for row in found["rows"]],
        )  # fmt: skip

    def export_compare(self):
        rows = []
        for column in comparison.compare_models(self.workspace, self.filters):
            head = column["headline"]
            rows.append((column["model"], "total", "", head["revenue"], head["orders"]))
            for row in column["by_platform"]:
                rows.append((column["model"], "platform", row["platform"] or "other",
                             row["revenue"], row["orders"]))  # fmt: skip
            for row in column["top_posts"]:
                rows.append((column["model"], "post", row["post"].reference, row["revenue"],
                             row["orders"]))  # fmt: skip
            for row in column["without_post"]:
                rows.append((column["model"], "no post", row["platform"], row["revenue"],
                             row["orders"]))  # fmt: skip
        return csv_response(
            self._filename("compare-models"), ["model", "level", "key", "revenue", "orders"], rows
        )


SORT_COLUMNS = [
    ("revenue", "Revenue"), ("orders", "Credited orders"), ("unique_clicks", "Clicks"),
    ("conversion_rate", "Conversion"), ("ad_spend", "Spend"), ("roas", "ROAS"),
    ("published_at", "Published"),
]  # fmt: skip


class PostsView(AnalyticsPage):
    """Posts as a creative view: every post with its revenue, credited orders, clicks,
    conversion, spend and ROAS for the range under the model, sortable (`sort`, `-` first for
    descending), 50 a page."""

    template_name = "analytics/posts.html"
    exports = {"posts": "Posts"}
    keep_params = ("sort",)
    PER_PAGE = 50

    def _sort(self) -> tuple[str, bool]:
        raw = self.request.GET.get("sort") or "-revenue"
        name = raw.removeprefix("-")
        if name not in posts.POST_SORTS:
            self.errors["sort"] = f"Unknown sort; use one of {', '.join(posts.POST_SORTS)}."
            return "revenue", True
        return name, raw.startswith("-")

    def get_context_data(self, **kwargs):
        sort, descending = self._sort()
        rows = posts.posts_performance(self.workspace, self.filters, sort=sort,
                                         descending=descending)  # fmt: skip
        page = Paginator(rows, self.PER_PAGE).get_page(self.request.GET.get("page"))
        return super().get_context_data(
            page_obj=page, is_paginated=page.has_other_pages(), rows=page.object_list,
            sort=sort, descending=descending,
            sort_columns=SORT_COLUMNS, **kwargs,
        )  # fmt: skip

    def export_posts(self):
        sort, descending = self._sort()
        rows = posts.posts_performance(self.workspace, self.filters, sort=sort,
                                         descending=descending)  # fmt: skip
        return csv_response(
            self._filename("posts"),
            ["reference", "platform", "content_type", "published_at", "campaign", "caption",
             "revenue", "orders", "unique_clicks", "conversion_rate", "ad_spend", "roas"],
            [(r["post"].reference, r["post"].platform, r["post"].content_type,
              r["published_at"].isoformat() if r["published_at"] else "",
              r["post"].campaign.slug if r["post"].campaign else "", r["post"].caption,
              r["revenue"], r["orders"], r["unique_clicks"], r["conversion_rate"],
              r["ad_spend"], r["roas"]) for r in rows],
        )  # fmt: skip


class ConversionPathsView(AnalyticsPage):
    """Conversion paths (GA4's report), from the stored journeys: see analytics.revenue.paths."""

    template_name = "analytics/paths.html"
    exports = {
        "post_paths": "Post paths", "platform_paths": "Platform paths",
        "lengths": "Path length", "days": "Days to conversion", "stages": "Stage credit",
    }  # fmt: skip

    def get_context_data(self, **kwargs):
        found = conversion_paths(self.workspace, self.filters)
        return super().get_context_data(
            paths=found, **self._stores(),
            orders_max=max((p["orders"] for p in found["post_paths"]), default=0),
            **kwargs,
        )  # fmt: skip

    def _paths(self):
        return conversion_paths(self.workspace, self.filters, limit=1000)

    @staticmethod
    def _path_text(steps) -> str:
        return " > ".join(
            step["label"] + (f" x{step['count']}" if step["count"] > 1 else "") for step in steps
        )

    def _export_paths(self, key: str, name: str):
        return csv_response(
            self._filename(name), ["path", "orders", "revenue", "share"],
            [(self._path_text(p["steps"]), p["orders"], p["revenue"], p["share"])
             for p in self._paths()[key]],
        )  # fmt: skip

    def export_post_paths(self):
        return self._export_paths("post_paths", "post-paths")

    def export_platform_paths(self):
        return self._export_paths("platform_paths", "platform-paths")

    def export_lengths(self):
        return csv_response(
            self._filename("path-lengths"),
            ["touches", "orders", "share"],
            [(r["touches"], r["orders"], r["share"]) for r in self._paths()["lengths"]],
        )

    def export_days(self):
        return csv_response(
            self._filename("days-to-conversion"),
            ["days", "orders", "share"],
            [(r["label"], r["orders"], r["share"]) for r in self._paths()["days"]],
        )

    def export_stages(self):
        return csv_response(
            self._filename("stage-credit"), ["platform", "early", "middle", "late", "total"],
            [(r["platform"], r["early"], r["middle"], r["late"], r["total"])
             for r in self._paths()["stages"]],
        )  # fmt: skip


class PostAnalyticsView(AnalyticsPage):
    """Post Analytics: a post's engagement beside the revenue it earned."""

    template_name = "analytics/post.html"
    exports = {"daily": "Daily revenue and clicks", "touchpoints": "Touchpoints"}

    def get(self, request, *args, **kwargs):
        try:
            self.post = self.workspace.posts.select_related("campaign").get(pk=kwargs["pk"])
        except Post.DoesNotExist as exc:
            raise Http404("No such post in this workspace.") from exc
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        data = posts.post_revenue(self.workspace, self.post, self.filters)
        engagement = data["engagement"]
        series = data["series"]
        return super().get_context_data(
            post=self.post,
            data=data,
            current=data["current"],
            engagement=engagement,
            series_chart=charts.post_daily(series, self.workspace.reporting_currency),
            range_revenue=sum((row["revenue"] for row in series), ZERO),
            range_clicks=sum(row["clicks"] for row in series),
            links=list(links_of(self.post)),
            orders=posts.post_orders(self.workspace, self.post, self.filters.model),
            **kwargs,
        )

    def export_daily(self):
        data = posts.post_revenue(self.workspace, self.post, self.filters)
        return csv_response(
            self._filename(f"post-{self.post.pk}-daily"),
            ["day", "revenue", "clicks"],
            [(row["day"].isoformat(), row["revenue"], row["clicks"]) for row in data["series"]],
        )

    def export_touchpoints(self):
        data = posts.post_revenue(self.workspace, self.post, self.filters)
        return csv_response(
            self._filename(f"post-{self.post.pk}-touchpoints"),
            ["matched_field", "touches", "orders", "revenue"],
            [
                (r["matched_field"], r["touches"], r["orders"], r["revenue"])
                for r in data["touchpoints"]
            ],
        )


SEGMENT_LABELS = [
    ("platform", "Platform"),
    ("campaign", "Campaign"),
    ("contentType", "Content type"),
    ("audience", "Audience"),
]
FAMILY_LABELS = {
    "newVsReturning": "New vs returning customers",
    "acquisitionMonth": "Acquisition month (first order)",
    "customerTag": "Customer tags",
}


class SegmentsView(AnalyticsPage):
    template_name = "analytics/segments.html"
    exports = {"segments": "Segments"}
    keep_params = ("by",)

    @property
    def by(self) -> str:
        by = self.request.GET.get("by") or "platform"
        return by if by in segments.SEGMENTS else "platform"

    def get_context_data(self, **kwargs):
        rows = segments.segments(self.workspace, self.filters, self.by)
        groups = {}
        for row in rows:
            groups.setdefault(row["family"], []).append(row)
        currency = self.workspace.reporting_currency
        # Each table gets its chart: the same rows in the same order (the first ones, then
        # "Other"), so the bars never say what the table does not.
        bars = {family: charts.segment_bars(items) for family, items in groups.items()}
        return super().get_context_data(
            by=self.by,
            segment_tabs=SEGMENT_LABELS,
            groups=[
                {
                    "label": FAMILY_LABELS.get(family, ""),
                    "rows": items,
                    "top": max(r["revenue"] for r in items),
                    "bars": bars[family],
                    "others": max(len(items) - charts.SEGMENT_BARS, 0),
                    "chart": charts.segments_revenue(bars[family], currency),
                }
                for family, items in groups.items()
            ],
            **kwargs,
        )

    def export_segments(self):
        rows = segments.segments(self.workspace, self.filters, self.by)
        return csv_response(
            self._filename(f"segments-{self.by}"),
            [
                "family",
                "segment",
                "label",
                "revenue",
                "orders",
                "customers",
                "avg_order_value",
                "conversion_rate",
                "ad_spend",
                "roas",
            ],  # fmt: skip
            [
                (
                    row["family"] or self.by,
                    row["segment"],
                    row["label"],
                    row["revenue"],
                    row["orders"],
                    row["customers"],
                    row["avg_order_value"],
                    row["conversion_rate"],
                    row["ad_spend"],
                    row["roas"],
                )  # fmt: skip
                for row in rows
            ],
        )


class CouponForm(forms.Form):
    code = forms.CharField(max_length=100, help_text="As buyers type it at checkout (any case).")
    campaign = forms.ModelChoiceField(queryset=None, required=False, empty_label="No campaign")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = workspace.campaigns.all()
        # The recent posts plus the chosen ones, named by the one post label, and a search for
        # older ones; any post of the workspace is accepted, another workspace's refused.
        self.fields["posts"] = PostsField(
            workspace=workspace, label="Distributed by", required=False,
            help_text="The posts that share the code: they share an order that used it and "
            f"clicked none of them. The {RECENT_POSTS} newest are listed; search for older ones.",
        )  # fmt: skip


class CouponsView(AnalyticsPage):
    """Each code's redemptions and revenue, and a form to create a code (or add posts to one)
    through the service the API uses."""

    template_name = "analytics/coupons.html"
    exports = {"coupons": "Coupons"}

    def get_context_data(self, **kwargs):
        rows = segments.coupon_performance(self.workspace, self.filters)
        kwargs.setdefault("coupon_form", CouponForm(workspace=self.workspace))
        return super().get_context_data(
            coupons=rows, revenue_max=max((r["revenue"] for r in rows), default=0), **kwargs
        )

    def post(self, request, *args, **kwargs):
        form = CouponForm(request.POST, workspace=self.workspace)
        if form.is_valid():
            try:
                coupon = coupon_save(workspace=self.workspace, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(
                    request,
                    f"Coupon {coupon.code} saved: new orders that use it credit its posts; "
                    "earlier ones at the nightly recalculation.",
                )
                return redirect("analytics:coupons")
        self.get(request, *args, **kwargs)  # filters, as a GET reads them
        response = self.render_to_response(self.get_context_data(coupon_form=form))
        response.status_code = 400
        return response

    def export_coupons(self):
        rows = segments.coupon_performance(self.workspace, self.filters)
        return csv_response(
            self._filename("coupons"),
            [
                "code",
                "campaign",
                "redemptions",
                "revenue",
                "posts",
                "unique_clicks",
                "conversion_rate",
            ],  # fmt: skip
            [
                (
                    row["coupon"].code,
                    row["coupon"].campaign.slug if row["coupon"].campaign else "",
                    row["redemptions"],
                    row["revenue"],
                    " ".join(p.reference for p in row["posts"]),
                    row["unique_clicks"],
                    row["conversion_rate"],
                )  # fmt: skip
                for row in rows
            ],
        )


class OrdersView(AnalyticsPage):
    """The orders list: the API's own filter (analytics.revenue.filters.OrderFilter), with the
    page's range (a preset or from/to, default the last 30 days) handed to it as from/to."""

    template_name = "analytics/orders.html"
    exports = {"orders": "Orders"}
    paginate_by = 50
    keep_params = ("store", "attributed", "status", "coupon", "minAmount", "maxAmount")

    def get(self, request, *args, **kwargs):
        self.order_filter = None
        return super().get(request, *args, **kwargs)

    def _orders(self):
        """The filtered orders; filter errors join the page's (a 400 with the reasons)."""
        if self.order_filter is None:
            data = self.params.copy()
            data.pop("range", None)
            data["from"], data["to"] = self.filters.start.isoformat(), self.filters.end.isoformat()
            data["model"] = self.filters.model
            for name in ("platform", "campaign"):
                data.pop(name, None)
            if self.filters.platform:
                data["platform"] = self.filters.platform
            if self.filters.campaign_id:
                data["campaign"] = str(self.filters.campaign_id)
            self.order_filter = OrderFilter(
                data=data, queryset=self.workspace.orders.all(), request=self.request
            )
            if not self.order_filter.is_valid():
                self.errors.update(
                    {key: " ".join(messages) for key, messages in self.order_filter.errors.items()}
                )
        queryset = self.order_filter.qs if not self.order_filter.errors else self.workspace.orders
        if self.order_filter.errors:
            start, end = self.filters.instants(self.workspace)
            queryset = queryset.filter(created_at__gte=start, created_at__lt=end)
        return orders.orders_with_credit(queryset, self.filters.model)

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        if self.errors:
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        placed = self._orders()
        page = Paginator(placed, self.paginate_by).get_page(self.request.GET.get("page"))
        for order in page.object_list:
            order.signal = orders.order_signal(order)
        values = self.order_filter.form.cleaned_data if self.order_filter.is_bound else {}
        return super().get_context_data(
            page_obj=page,
            orders=page.object_list,
            is_paginated=page.has_other_pages(),
            order_filters={name: self.params.get(name, "") for name in self.keep_params},
            order_values=values,
            stores=list(self.workspace.stores.order_by("name")),
            statuses=OrderStatus.choices,
            **self._stores(),
            **kwargs,
        )

    # Orders read per chunk of the streamed orders CSV (each chunk's credit and touches are
    # prefetched together).
    EXPORT_CHUNK = 2000

    def export_orders(self):
        placed = self._orders().iterator(chunk_size=self.EXPORT_CHUNK)
        return csv_stream(
            self._filename("orders"),
            [
                "order",
                "placed_at",
                "store",
                "status",
                "currency",
                "total",
                "reporting_currency",
                "reporting_total",
                "refunded",
                "coupons",
                "utm_source",
                "utm_campaign",
                "utm_content",
                "signal",
                "credited_posts",
                "credited_lifetime_net",
            ],  # fmt: skip
            (  # a generator: each row is written as it is read
                (
                    o.order_number or o.external_id,
                    self._local(o.created_at),
                    o.store.shop_domain,
                    o.order_status,
                    o.currency,
                    o.total_price,
                    o.reporting_currency,
                    o.reporting_total,
                    o.refunded_amount,
                    " ".join(o.coupon_codes or []),
                    o.utm_source,
                    o.utm_campaign,
                    o.utm_content,
                    orders.order_signal(o),
                    " ".join(r.post.reference for r in o.credited if r.post),
                    sum((r.revenue for r in o.credited), ZERO),
                )  # fmt: skip
                for o in placed
            ),
        )


class ReceiptsView(AnalyticsPage):
    """The receipts of one figure: the orders behind a revenue or orders figure of another page
    (same model, range, platform and campaign, and a post or "no post"), whose credited sales
    less the refunds booked in the range are that figure, to the cent."""

    template_name = "analytics/receipts.html"
    keep_params = ("post", "campaign_none", "content_type")

    def get_context_data(self, **kwargs):
        post = self.request.GET.get("post", "").strip()
        if post and post != "none":
            if not is_id(post):
                self.errors["post"] = f"`post` must be a post id or none, not {post!r}."
                post = ""
            elif not self.workspace.posts.filter(pk=int(post)).exists():
                raise Http404("No such post in this workspace.")
        campaign = "none" if self.request.GET.get("campaign_none") else ""
        content_type = self.request.GET.get("content_type", "")
        if content_type and content_type not in Post.ContentType.values:
            raise Http404("No such content type.")
        try:
            page = int(self.request.GET.get("page") or 1)
        except ValueError:
            page = 1
        found = orders.receipts(
            self.workspace, self.filters, post=post, campaign=campaign,
            content_type=content_type, page=page,
        )  # fmt: skip
        subject = None
        if post and post != "none":
            subject = self.workspace.posts.get(pk=int(post))
        return super().get_context_data(
            receipts=found,
            subject=subject,
            no_post=post == "none",
            no_campaign=bool(campaign),
            **kwargs,
        )


class OrderJourneyView(AnalyticsPage):
    """One order: its touches in time order and every model's credit for each."""

    template_name = "analytics/order.html"

    def get(self, request, *args, **kwargs):
        try:
            self.order = (
                CommerceOrder.objects.filter(workspace=self.workspace)
                .select_related("store")
                .prefetch_related("lines", "refunds")
                .get(pk=kwargs["pk"])
            )
        except CommerceOrder.DoesNotExist as exc:
            raise Http404("No such order in this workspace.") from exc
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            order=self.order,
            status=self.order.order_status.label,
            journey=orders.order_journey(self.workspace, self.order),
            **kwargs,
        )
