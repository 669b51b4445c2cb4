"""The documented revenue endpoints: dashboard, per-post revenue, orders, segments, coupons.

Thin views: parameters are read by `RevenueFilters.from_params`, figures come from the reports
in analytics/revenue/reports/ (the same ones the pages read), and the serializers in
analytics/revenue/serializers.py give them their documented camelCase names.
"""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.revenue.filters import (
    OrderFilter,
    RevenueFilters,
    compared_models,
)
from analytics.revenue.paths import conversion_paths
from analytics.revenue.reports import comparison, dashboard, figures, orders, posts, segments
from analytics.revenue.serializers import (
    ConversionPathsOutput,
    CouponInput,
    CouponPerformanceOutput,
    CouponsOutput,
    DashboardOutput,
    ModelComparisonOutput,
    OrderOutput,
    PostRevenueOutput,
    SegmentsOutput,
)
from attribution.models import AttributionModel, RevenueAttribution
from commerce import services as commerce_services
from commerce.models import CommerceOrder
from omnisocial.models import Platform
from omnisocial.params import count_param
from omnisocial.tenancy import WorkspaceAPIMixin

REPORT_PARAMETERS = [
    OpenApiParameter(
        "model", OpenApiTypes.STR, enum=AttributionModel.values,
        description="Attribution model; default: the workspace's. Must be one it keeps.",
    ),
    OpenApiParameter(
        "from", OpenApiTypes.DATE,
        description="First day (the workspace's time zone); default: 29 days before `to`.",
    ),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, inclusive; default: today."),
    OpenApiParameter("platform", OpenApiTypes.STR, enum=Platform.values),
    OpenApiParameter("campaign", OpenApiTypes.STR, description="A campaign's id or slug."),
    OpenApiParameter(
        "comparison", OpenApiTypes.STR, enum=["previous", "year"],
        description="What `previous` and `change` compare with: the period before (default; a "
        "whole month with the month before, a month to date with the same days of the month "
        "before) or the same days a year earlier.",
    ),
]  # fmt: skip

TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


def report_filters(workspace, params) -> RevenueFilters:
    """The report's scope; its ValidationError names each bad parameter and why (400)."""
    return RevenueFilters.from_params(workspace, params)


def flag(params, name: str) -> bool:
    value = params.get(name, "").strip().lower()
    if value not in TRUE | FALSE:
        raise ValidationError({name: f"{value!r} is not a boolean; use true or false."})
    return value in TRUE


class RevenueDashboardApi(WorkspaceAPIMixin, APIView):
    """GET /commerce/revenue/dashboard: the Analytics › Revenue figures."""

    @extend_schema(
        parameters=[
            *REPORT_PARAMETERS,
            OpenApiParameter(
                "compare",
                OpenApiTypes.BOOL,
                description="true: add `models`, the same figures under every model.",
            ),
        ],  # fmt: skip
        responses=DashboardOutput,
    )
    def get(self, request):
        f = report_filters(self.workspace, request.query_params)
        compare = flag(request.query_params, "compare")
        return Response(
            DashboardOutput(dashboard.dashboard(self.workspace, f, compare=compare)).data
        )


# The comparison's rows answered by default, and at most: a workspace has a row per post.
COMPARISON_ROWS = 100
COMPARISON_MOST = 10_000


class ModelComparisonApi(WorkspaceAPIMixin, APIView):
    """GET /commerce/revenue/model-comparison: two models side by side (GA4's model comparison):
    per post, and per platform for revenue credited to no post, each model's revenue, credited
    orders and ROAS and the change from `base` to `against`."""

    @extend_schema(
        parameters=[
            *REPORT_PARAMETERS,
            OpenApiParameter(
                "base",
                OpenApiTypes.STR,
                enum=AttributionModel.values,
                description="The model compared from; default: the workspace's.",
            ),
            OpenApiParameter(
                "against",
                OpenApiTypes.STR,
                enum=AttributionModel.values,
                description="The model compared with; default: the next it keeps.",
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"The rows answered, largest first (1 to {COMPARISON_MOST}; default "
                f"{COMPARISON_ROWS}). `count` says how many there are; the totals count them all.",
            ),
        ],  # fmt: skip
        responses=ModelComparisonOutput,
    )
    def get(self, request):
        f = report_filters(self.workspace, request.query_params)
        base, against = compared_models(self.workspace, request.query_params)
        limit = count_param(
            request.query_params, "limit", default=COMPARISON_ROWS, most=COMPARISON_MOST
        )
        found = comparison.model_comparison(self.workspace, f, base, against)
        found["count"] = len(found["rows"])
        found["rows"] = found["rows"][:limit]
        found["filters"] = figures.report_scope(self.workspace, f)
        return Response(ModelComparisonOutput(found).data)


class ConversionPathsApi(WorkspaceAPIMixin, APIView):
    """GET /commerce/revenue/paths: conversion paths from the stored journeys (GA4's report):
    the most common post and platform paths with their orders, revenue and share, path lengths,
    days to conversion, and early / middle / late credit per platform under the model."""

    @extend_schema(parameters=REPORT_PARAMETERS, responses=ConversionPathsOutput)
    def get(self, request):
        f = report_filters(self.workspace, request.query_params)
        found = conversion_paths(self.workspace, f)
        found["filters"] = figures.report_scope(self.workspace, f)
        return Response(ConversionPathsOutput(found).data)


class PostRevenueApi(WorkspaceAPIMixin, APIView):
    """GET /commerce/revenue/posts/<postId>: one post's PostRevenue, by model, by day."""

    @extend_schema(parameters=REPORT_PARAMETERS, responses=PostRevenueOutput)
    def get(self, request, post_id: int):
        post = get_object_or_404(self.workspace.posts, pk=post_id)
        f = report_filters(self.workspace, request.query_params)
        return Response(PostRevenueOutput(posts.post_figures(self.workspace, post, f)).data)


class OrderListApi(WorkspaceAPIMixin, generics.ListAPIView):
    """GET /commerce/orders: the workspace's orders, newest first, with their attribution rows
    under the chosen model."""

    serializer_class = OrderOutput
    filterset_class = OrderFilter
    queryset = CommerceOrder.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        model = self.request.query_params.get("model") or self.workspace.default_attribution_model
        rows = RevenueAttribution.objects.filter(attribution_model=model).order_by("position")
        return (
            self.workspace.orders.all()
            .prefetch_related(
                Prefetch("attributions", queryset=rows, to_attr="model_attributions"),
                Prefetch(
                    "touches", queryset=orders.journey_touches_query(), to_attr="journey_touches"
                ),
            )
            .order_by("-created_at", "-pk")
        )


class SegmentsApi(WorkspaceAPIMixin, APIView):
    """GET /commerce/segments?by=platform|campaign|contentType|audience."""

    @extend_schema(
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=segments.SEGMENTS, required=True),
            *REPORT_PARAMETERS,
        ],
        responses=SegmentsOutput,
    )
    def get(self, request):
        by = request.query_params.get("by", "")
        # Every bad parameter at once: `by` with those of the report's scope.
        errors = {}
        if by not in segments.SEGMENTS:
            errors["by"] = [f"Segment by one of {', '.join(segments.SEGMENTS)}."]
        try:
            f = RevenueFilters.from_params(self.workspace, request.query_params)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)
        data = {
            "by": by,
            "filters": figures.report_scope(self.workspace, f),
            "results": segments.segments(self.workspace, f, by),
        }
        return Response(SegmentsOutput(data).data)


class CouponsApi(WorkspaceAPIMixin, APIView):
    """GET /commerce/coupons: each code's redemptions, revenue, posts and conversion rate.
    POST: create a coupon (or add posts to an existing code)."""

    @extend_schema(parameters=REPORT_PARAMETERS, responses=CouponsOutput)
    def get(self, request):
        f = report_filters(self.workspace, request.query_params)
        data = {
            "filters": figures.report_scope(self.workspace, f),
            "results": segments.coupon_performance(self.workspace, f),
        }
        return Response(CouponsOutput(data).data)

    @extend_schema(request=CouponInput, responses={201: CouponPerformanceOutput})
    def post(self, request):
        data = CouponInput(data=request.data, workspace=self.workspace)
        data.is_valid(raise_exception=True)
        coupon = commerce_services.coupon_save(
            workspace=self.workspace,
            code=data.validated_data["code"],
            campaign=data.validated_data["campaign"],
            posts=data.validated_data["posts"],
        )
        f = report_filters(self.workspace, {})
        performance = next(
            item
            for item in segments.coupon_performance(self.workspace, f)
            if item["coupon"].pk == coupon.pk
        )
        return Response(CouponPerformanceOutput(performance).data, status=status.HTTP_201_CREATED)
