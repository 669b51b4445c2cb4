"""Output and input shapes of the revenue API, in the documented camelCase.

The reports in analytics/revenue/reports/ return snake_case dicts and Decimals; these serializers
rename the keys and turn money into strings with two decimals and rates into strings with four
(the impression-to-purchase rate keeps six: it is usually well under 0.0001).
"""

from rest_framework import serializers

from attribution.models import AttributionModel, MatchedField, RevenueAttribution
from commerce.models import CommerceOrder, OrderStatus
from omnisocial.models import Campaign, MetricsSource, Platform, Post


def money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def rate(places: int = 4, **kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=places, **kwargs)


CREDITED_ORDERS = (
    "Credited orders: the sum of the orders' weights (fractional under fractional models; an "
    "order counts on its day, a cancelled or fully refunded one not at all), so every breakdown "
    "sums to its total."
)


# The figures' one definitions (docs/metrics.md), said the same way wherever they appear.
REVENUE = (
    "Revenue credited to social under the model: sales on the order's day less refunds on the "
    "refund's day, in the reporting currency."
)
AOV = "Average order value: revenue / credited orders; null without orders."
CLICKS = "Unique human clicks on the posts' tracked links in the range (bots never counted)."
SPEND = "Ad spend of the posts' daily metrics on the range's days."
COUPON_REVENUE = (
    "The net revenue of the orders placed in the range that used the code (coupon revenue, "
    "docs/metrics.md): not a credited figure."
)


def credited_orders(**kwargs) -> serializers.DecimalField:
    kwargs.setdefault("help_text", CREDITED_ORDERS)
    return serializers.DecimalField(max_digits=16, decimal_places=6, **kwargs)


class FiltersOutput(serializers.Serializer):
    """The scope a report was computed for, echoed back."""

    model = serializers.ChoiceField(choices=AttributionModel.choices)
    # `from` is a Python keyword: declared as `from_`, published as `from` (below).
    from_ = serializers.DateField(source="start")
    to = serializers.DateField(source="end")
    platform = serializers.CharField()
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    currency = serializers.CharField()
    countedThrough = serializers.DateField(
        source="counted_through",
        help_text="The last day the figures can hold events of: `to`, or today when `to` is later.",
    )


FiltersOutput._declared_fields = {
    ("from" if name == "from_" else name): field
    for name, field in FiltersOutput._declared_fields.items()
}


def _change_of(field_class, **kwargs):
    class Change(serializers.Serializer):
        value = field_class(allow_null=True, **kwargs)
        previous = field_class(allow_null=True, **kwargs)
        change = rate(allow_null=True, help_text="(value - previous) / previous; null if no base")

    return Change


class MoneyChange(_change_of(money)):
    pass


class CountChange(_change_of(credited_orders)):
    pass


class RateChange(_change_of(rate)):
    pass


class PlatformRevenueOutput(serializers.Serializer):
    platform = serializers.CharField()
    label = serializers.CharField()
    revenue = money(help_text=REVENUE)
    orders = credited_orders()


class PostRankOutput(serializers.Serializer):
    """A row of revenue by post: a post (`kind` post), the posts past the list's length in one
    row (`other`), or a platform's revenue credited to no post (`noPost`); the rows sum to the
    headline."""

    kind = serializers.ChoiceField(choices=["post", "other", "noPost"])
    label = serializers.CharField()
    rank = serializers.IntegerField(allow_null=True)
    postId = serializers.IntegerField(source="post.pk", allow_null=True, default=None)
    reference = serializers.CharField(source="post.reference", default="")
    caption = serializers.CharField(source="post.caption", default="")
    platform = serializers.CharField(help_text="The post's platform; '' for `other`.")
    contentType = serializers.CharField(source="post.content_type", default="")
    campaign = serializers.IntegerField(source="post.campaign_id", allow_null=True, default=None)
    publishedAt = serializers.DateTimeField(
        source="post.published_at", allow_null=True, default=None
    )
    revenue = money(help_text=REVENUE)
    orders = credited_orders()
    units = money()
    avgOrderValue = money(source="avg_order_value", allow_null=True, help_text=AOV)
    uniqueClicks = serializers.IntegerField(
        source="unique_clicks",
        help_text=f"{CLICKS} The `other` row counts every other post's (the rows sum to the "
        "funnel's clicks).",
    )
    convertedClicks = serializers.IntegerField(
        source="converted_clicks", allow_null=True, help_text="Null on the `other` row."
    )
    conversionRate = rate(
        source="conversion_rate", allow_null=True,
        help_text="Converted clicks / unique human clicks in the range; null without clicks "
        "and on the `other` row.",
    )  # fmt: skip
    adSpend = money(source="ad_spend", help_text=SPEND)
    roas = rate(allow_null=True, help_text="Revenue / ad spend in the range; null without spend.")


class MetricsSourceOutput(serializers.Serializer):
    source = serializers.ChoiceField(choices=MetricsSource.choices)
    label = serializers.CharField()
    platforms = serializers.ListField(
        child=serializers.CharField(), help_text="The platforms of the posts it gave figures for."
    )


class FunnelOutput(serializers.Serializer):
    impressions = serializers.IntegerField(
        help_text="The posts' daily impressions (views, as Meta and TikTok now name them) on the "
        "range's days."
    )
    impressionsSources = MetricsSourceOutput(
        source="impressions_sources", many=True,
        help_text="Where the impressions came from: Meta, TikTok, a CSV import, the API or "
        "entered by hand.",
    )  # fmt: skip
    clicks = serializers.IntegerField(help_text="Unique human clicks on the posts' links.")
    purchases = credited_orders()
    clickThroughRate = rate(
        source="click_through_rate", allow_null=True,
        help_text="Click-through rate: unique human clicks / impressions.",
    )  # fmt: skip
    purchaseRate = rate(
        source="purchase_rate", allow_null=True,
        help_text="Orders per click: credited orders / unique human clicks (every credited "
        "order counts; not the conversion rate, the share of clicks that led to an order).",
    )  # fmt: skip
    impressionToPurchaseRate = rate(
        6, source="impression_to_purchase_rate", allow_null=True,
        help_text="Orders per impression: credited orders / impressions.",
    )  # fmt: skip


class ModelFiguresOutput(serializers.Serializer):
    model = serializers.ChoiceField(choices=AttributionModel.choices)
    label = serializers.CharField()
    totalSocialRevenue = money(source="headline.revenue", help_text=REVENUE)
    orders = credited_orders(source="headline.orders")
    avgOrderValue = money(source="headline.avg_order_value", allow_null=True, help_text=AOV)
    adSpend = money(source="headline.ad_spend", help_text=SPEND)
    roas = rate(source="headline.roas", allow_null=True)
    revenueByPlatform = PlatformRevenueOutput(source="by_platform", many=True)
    topRevenueContent = PostRankOutput(source="top_posts", many=True)


class DashboardOutput(serializers.Serializer):
    filters = FiltersOutput()
    totalSocialRevenue = MoneyChange(source="headline.revenue", help_text=REVENUE)
    orders = CountChange(source="headline.orders")
    avgOrderValue = MoneyChange(source="headline.avg_order_value", help_text=AOV)
    adSpend = MoneyChange(source="headline.ad_spend", help_text=SPEND)
    roas = RateChange(source="headline.roas")
    blendedRoas = RateChange(
        source="headline.blended_roas",
        help_text="All social revenue / all ad spend in the range; null without spend.",
    )
    revenueByPlatform = PlatformRevenueOutput(source="by_platform", many=True)
    revenueByPost = PostRankOutput(source="by_post", many=True)
    topRevenueContent = PostRankOutput(source="top_content", many=True)
    conversionFunnel = FunnelOutput(source="funnel")
    models = ModelFiguresOutput(many=True, required=False)


# --- two models side by side --------------------------------------------------------------------


class ComparedFiguresOutput(serializers.Serializer):
    revenue = money(help_text=REVENUE)
    orders = credited_orders()
    roas = rate(allow_null=True, help_text="Revenue / ad spend in the range; null without spend.")


class ComparedModelOutput(serializers.Serializer):
    model = serializers.ChoiceField(choices=AttributionModel.choices)
    label = serializers.CharField()
    rewards = serializers.CharField(help_text="What the model rewards, in a line.")
    totalSocialRevenue = money(source="revenue", help_text=REVENUE)
    orders = credited_orders()
    roas = rate(allow_null=True, help_text="ROAS of boosted posts; null without spend.")


class ComparisonRowOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["post", "noPost"])
    label = serializers.CharField()
    postId = serializers.IntegerField(source="post.pk", allow_null=True, default=None)
    caption = serializers.CharField(source="post.caption", default="")
    platform = serializers.CharField()
    base = ComparedFiguresOutput()
    against = ComparedFiguresOutput(source="other")
    revenueChange = money(source="revenue_change", help_text="against - base")
    revenueChangePct = rate(source="revenue_change_pct", allow_null=True,
                            help_text="(against - base) / base; null when base is 0")  # fmt: skip
    ordersChange = credited_orders(source="orders_change", help_text="against - base")
    ordersChangePct = rate(source="orders_change_pct", allow_null=True)


class ModelComparisonOutput(serializers.Serializer):
    filters = FiltersOutput()
    base = ComparedModelOutput()
    against = ComparedModelOutput(source="other")
    revenueChange = money(source="revenue_change")
    ordersChange = credited_orders(source="orders_change")
    count = serializers.IntegerField(help_text="The rows there are; `results` holds `limit`.")
    results = ComparisonRowOutput(source="rows", many=True)


# --- conversion paths ----------------------------------------------------------------------------


class PathStepOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["post", "platform"], required=False)
    postId = serializers.IntegerField(source="post.pk", allow_null=True, default=None)
    platform = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Touches in a row on this step.")


class PathOutput(serializers.Serializer):
    steps = PathStepOutput(many=True)
    orders = serializers.IntegerField()
    revenue = money(help_text="Net revenue credited to social of the path's orders.")
    share = rate(allow_null=True, help_text="The path's orders / all converting orders.")


class PathLengthOutput(serializers.Serializer):
    touches = serializers.IntegerField()
    orders = serializers.IntegerField()
    share = rate(allow_null=True)


class PathDaysOutput(serializers.Serializer):
    label = serializers.CharField()
    fromDay = serializers.IntegerField(source="from_day", help_text="Days, from the first touch.")
    toDay = serializers.IntegerField(source="to_day", allow_null=True, help_text="null: no end.")
    orders = serializers.IntegerField()
    share = rate(allow_null=True)


class StageCreditOutput(serializers.Serializer):
    platform = serializers.CharField()
    label = serializers.CharField()
    early = money(help_text="Credited to first touches (of journeys of two touches or more).")
    middle = money(help_text="Credited to the touches between the first and the last.")
    late = money(help_text="Credited to last touches (one-touch journeys included).")
    total = money()


class ConversionPathsOutput(serializers.Serializer):
    filters = FiltersOutput()
    orders = serializers.IntegerField(help_text="Converting orders placed in the range.")
    revenue = money(help_text="Their net revenue credited to social.")
    postPaths = PathOutput(source="post_paths", many=True)
    platformPaths = PathOutput(source="platform_paths", many=True)
    pathLengths = PathLengthOutput(source="lengths", many=True)
    daysToConversion = PathDaysOutput(source="days", many=True)
    stageCredit = StageCreditOutput(source="stages", many=True)


# --- one post ------------------------------------------------------------------------------------


class PostFiguresOutput(serializers.Serializer):
    """A post's PostRevenue figures for the report's range (`range=all` for all time), defined
    as in revenue by post (docs/metrics.md)."""

    model = serializers.ChoiceField(choices=AttributionModel.choices)
    totalRevenue = money(source="revenue", help_text=REVENUE)
    totalOrders = credited_orders(source="orders")
    totalUnits = money(source="units")
    avgOrderValue = money(source="avg_order_value", allow_null=True, help_text=AOV)
    uniqueClicks = serializers.IntegerField(source="unique_clicks", help_text=CLICKS)
    convertedClicks = serializers.IntegerField(
        source="converted_clicks", help_text="Unique human clicks in the range an order carried."
    )
    conversionRate = rate(source="conversion_rate", allow_null=True)
    ordersWithoutClick = serializers.IntegerField(
        source="orders_without_click",
        help_text="Orders placed in the range that credited the post through a coupon, UTM or "
        "referrer match rather than a click of it.",
    )
    adSpend = money(source="ad_spend", help_text=SPEND)
    roas = rate(allow_null=True, help_text="Revenue / ad spend in the range; null without spend.")


class DailyPointOutput(serializers.Serializer):
    day = serializers.DateField()
    revenue = money()
    clicks = serializers.IntegerField()


class TouchpointOutput(serializers.Serializer):
    matchedField = serializers.ChoiceField(source="matched_field", choices=MatchedField.choices)
    label = serializers.CharField()
    touches = serializers.IntegerField()
    orders = credited_orders()
    revenue = money(help_text="Net credit (sales less refunds) of the orders placed in the range.")


class CouponRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()


class PostRevenueOutput(PostFiguresOutput):
    postId = serializers.IntegerField(source="post.pk")
    reference = serializers.CharField(source="post.reference")
    caption = serializers.CharField(source="post.caption")
    platform = serializers.ChoiceField(source="post.platform", choices=Platform.choices)
    contentType = serializers.ChoiceField(
        source="post.content_type", choices=Post.ContentType.choices
    )
    boosted = serializers.BooleanField(help_text="Whether the post has ad spend on any day.")
    filters = FiltersOutput()
    byModel = PostFiguresOutput(source="by_model", many=True)
    daily = DailyPointOutput(many=True)
    touchpoints = TouchpointOutput(many=True)
    coupons = CouponRefOutput(many=True)


# --- orders --------------------------------------------------------------------------------------


class AttributionOutput(serializers.ModelSerializer):
    attributionModel = serializers.CharField(source="attribution_model")
    attributionWeight = serializers.DecimalField(
        source="attribution_weight", max_digits=7, decimal_places=6
    )
    revenue = money()
    grossRevenue = money(source="gross_revenue")
    refunded = money()
    matchedField = serializers.CharField(source="matched_field")
    matchedValue = serializers.CharField(source="matched_value")
    postId = serializers.IntegerField(source="post_id", allow_null=True)
    campaignId = serializers.IntegerField(source="campaign_id", allow_null=True)
    touchedAt = serializers.DateTimeField(source="touched_at")
    isFallback = serializers.BooleanField(
        source="is_fallback",
        help_text="Data-driven only: too few converting journeys; the weights are multi-touch's.",
    )

    class Meta:
        model = RevenueAttribution
        fields = [
            "attributionModel", "attributionWeight", "revenue", "grossRevenue", "refunded",
            "currency", "matchedField", "matchedValue", "postId", "campaignId", "platform",
            "position", "touchedAt", "isFallback",
        ]  # fmt: skip


class OrderOutput(serializers.ModelSerializer):
    status = serializers.ChoiceField(
        source="order_status", choices=OrderStatus.choices,
        help_text="cancelled wins; refunded: refunds reach the total; partially_refunded; open.",
    )  # fmt: skip
    storeId = serializers.IntegerField(source="store_id")
    externalId = serializers.CharField(source="external_id")
    orderNumber = serializers.CharField(source="order_number")
    createdAt = serializers.DateTimeField(source="created_at")
    totalPrice = money(source="total_price")
    subtotal = money()
    totalTax = money(source="total_tax")
    totalShipping = money(source="total_shipping")
    totalDiscounts = money(source="total_discounts")
    refundedAmount = money(source="refunded_amount")
    financialStatus = serializers.CharField(source="financial_status")
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)
    reportingCurrency = serializers.CharField(source="reporting_currency")
    exchangeRate = serializers.DecimalField(
        source="exchange_rate", max_digits=20, decimal_places=10, allow_null=True
    )
    reportingTotal = money(source="reporting_total", allow_null=True)
    isConverted = serializers.BooleanField(source="is_converted")
    utmSource = serializers.CharField(source="utm_source")
    utmMedium = serializers.CharField(source="utm_medium")
    utmCampaign = serializers.CharField(source="utm_campaign")
    utmContent = serializers.CharField(source="utm_content")
    utmTerm = serializers.CharField(source="utm_term")
    referrerUrl = serializers.CharField(source="referrer_url")
    landingPage = serializers.CharField(source="landing_page")
    couponCodes = serializers.ListField(source="coupon_codes", child=serializers.CharField())
    isReturningCustomer = serializers.BooleanField(source="is_returning_customer")
    attributions = AttributionOutput(source="model_attributions", many=True)
    signal = serializers.SerializerMethodField(
        help_text="What brought the order its journey, as the orders page and its CSV say it: "
        "the strongest stored touch (click, kept click, visitor's earlier click, customer's "
        "earlier click, utm_content …, coupon …, referrer), else what it carried that matched "
        'nothing ("…, unmatched") or "none".'
    )

    class Meta:
        model = CommerceOrder
        fields = [
            "id", "storeId", "externalId", "orderNumber", "createdAt", "status", "currency",
            "totalPrice", "subtotal", "totalTax", "totalShipping", "totalDiscounts",
            "refundedAmount", "financialStatus", "cancelledAt", "reportingCurrency",
            "exchangeRate", "reportingTotal", "isConverted", "utmSource", "utmMedium",
            "utmCampaign", "utmContent", "utmTerm", "referrerUrl", "landingPage", "couponCodes",
            "isReturningCustomer", "attributions", "signal",
        ]  # fmt: skip

    def get_signal(self, order) -> str:
        from analytics.revenue.reports.orders import order_signal

        return order_signal(order)


# --- segments and coupons ------------------------------------------------------------------------


class SegmentRowOutput(serializers.Serializer):
    segment = serializers.CharField()
    label = serializers.CharField()
    family = serializers.CharField(
        allow_null=True, help_text="audience only: newVsReturning, acquisitionMonth, customerTag"
    )
    revenue = money(help_text=REVENUE)
    orders = credited_orders()
    customers = serializers.IntegerField()
    avgOrderValue = money(source="avg_order_value", allow_null=True, help_text=AOV)
    conversionRate = rate(source="conversion_rate", allow_null=True)
    adSpend = money(
        source="ad_spend", allow_null=True,
        help_text="Ad spend of the segment's posts on the range's days (their daily metrics); "
        "null for audience segments, whose customers have no spend of their own.",
    )  # fmt: skip
    roas = rate(allow_null=True, help_text="Revenue / ad spend; null without spend.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        segment = instance["segment"]
        data["segment"] = "" if segment is None else str(segment)
        return data


class SegmentsOutput(serializers.Serializer):
    by = serializers.CharField()
    filters = FiltersOutput()
    results = SegmentRowOutput(many=True)


class CouponPostOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    platform = serializers.CharField()


class CouponPerformanceOutput(serializers.Serializer):
    id = serializers.IntegerField(source="coupon.pk")
    code = serializers.CharField(source="coupon.code")
    campaign = serializers.IntegerField(source="coupon.campaign_id", allow_null=True)
    redemptions = serializers.IntegerField()
    revenue = money(help_text=COUPON_REVENUE)
    posts = CouponPostOutput(many=True)
    uniqueClicks = serializers.IntegerField(source="unique_clicks")
    conversionRate = rate(source="conversion_rate", allow_null=True)


class CouponsOutput(serializers.Serializer):
    filters = FiltersOutput()
    results = CouponPerformanceOutput(many=True)


class CouponInput(serializers.Serializer):
    """`campaign` and `posts` are ids of this workspace's objects; the view scopes the querysets."""

    code = serializers.CharField(max_length=100)
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.none(), required=False, allow_null=True, default=None
    )
    posts = serializers.PrimaryKeyRelatedField(
        queryset=Post.objects.none(), many=True, required=False, default=list
    )

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Another workspace's id is then simply not found: 400 with the field and the reason.
        if workspace is not None:
            self.fields["campaign"].queryset = workspace.campaigns.all()
            self.fields["posts"].child_relation.queryset = workspace.posts.all()
