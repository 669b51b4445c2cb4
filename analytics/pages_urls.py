"""URLs of the analytics pages, namespace "analytics".

The KPI and alert pages live in `analytics.kpis.urls`. Django allows one include per namespace,
so the root URLconf includes only this module and this module appends the KPI urls: every
analytics url, pages and KPIs, reverses as `analytics:<name>`.
"""

from django.urls import path

from analytics import post_picker
from analytics.revenue import pages

app_name = "analytics"

urlpatterns = [
    path("revenue/", pages.RevenueView.as_view(), name="revenue"),
    path("revenue/compare/", pages.CompareModelsView.as_view(), name="revenue-compare"),
    path("revenue/paths/", pages.ConversionPathsView.as_view(), name="paths"),
    path("posts/<int:pk>/", pages.PostAnalyticsView.as_view(), name="post"),
    # The post pickers' search (JSON for static/omnisocial/post-picker.js).
    path("posts/search/", post_picker.PostSearchView.as_view(), name="post-search"),
    path("segments/", pages.SegmentsView.as_view(), name="segments"),
    path("coupons/", pages.CouponsView.as_view(), name="coupons"),
    path("orders/", pages.OrdersView.as_view(), name="orders"),
    path("receipts/", pages.ReceiptsView.as_view(), name="receipts"),
    path("orders/<int:pk>/", pages.OrderJourneyView.as_view(), name="order"),
]

try:
    from analytics.kpis.urls import urlpatterns as kpi_urlpatterns
except ModuleNotFoundError as exc:  # the KPI pages have not landed yet
    if exc.name != "analytics.kpis.urls":
        raise
    kpi_urlpatterns = []

urlpatterns += kpi_urlpatterns
