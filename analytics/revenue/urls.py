"""The documented revenue endpoints, under /commerce/ (included before the commerce app's URLs)."""

from django.urls import path

from analytics.revenue import api as revenue_api

app_name = "revenue-api"

urlpatterns = [
    path("revenue/dashboard", revenue_api.RevenueDashboardApi.as_view(), name="dashboard"),
    path("revenue/posts/<int:post_id>", revenue_api.PostRevenueApi.as_view(), name="post"),
    path("revenue/paths", revenue_api.ConversionPathsApi.as_view(), name="paths"),
    path(
        "revenue/model-comparison",
        revenue_api.ModelComparisonApi.as_view(),
        name="model-comparison",
    ),
    path("orders", revenue_api.OrderListApi.as_view(), name="orders"),
    path("segments", revenue_api.SegmentsApi.as_view(), name="segments"),
    path("coupons", revenue_api.CouponsApi.as_view(), name="coupons"),
]
