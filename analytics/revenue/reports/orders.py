"""Orders and their journeys: the orders list with each order's credit and signal (what brought
it), the receipts behind one figure (the orders and refunds that make it up), and one order's
journey with every model's credit per touch and how each touch was reached.

Shown on the orders page (/analytics/orders/) and its CSV, the receipts page
(/analytics/receipts/), the order page (/analytics/orders/<id>/), and by GET /commerce/orders
(its `signal`).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum

from analytics.revenue.filters import RevenueFilters
from analytics.revenue.reports.figures import attributions, money_of
from analytics.revenue.reports.segments import refunds_booked, uncounted_orders
from attribution import rollups
from attribution.models import (
    AttributionModel,
    AttributionTouch,
    MatchedField,
    Reach,
    RevenueAttribution,
)
from commerce.models import CommerceOrder
from omnisocial.models import Platform, Workspace
from omnisocial.money import ZERO


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
    sales = attributions(workspace, f).filter(attribution_weight__gte=0)
    refunds = refunds_booked(workspace, f)
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
    counts = uncounted_orders(workspace, f, sales)
    found = sales.aggregate(s=Sum("gross_revenue"), w=Sum("attribution_weight"))
    sold = money_of(found["s"])
    back = money_of(refunds.aggregate(s=Sum("amount"))["s"])
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
                "sold": money_of(row["sold"]),
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
