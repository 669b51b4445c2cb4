from django.urls import path

from analytics.kpis import api
from analytics.kpis import pages as views

app_name = "analytics"

urlpatterns = [
    path("kpis/", views.KpiListView.as_view(), name="kpi-list"),
    path("kpis/<int:pk>/delete/", views.KpiDeleteView.as_view(), name="kpi-delete"),
    path("alerts/", views.AlertListView.as_view(), name="alert-list"),
    path(
        "alerts/<int:pk>/acknowledge/",
        views.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
    path("api/kpis", api.KpiListCreateApi.as_view(), name="api-kpi-list"),
    path("api/kpis/<int:pk>", api.KpiDetailApi.as_view(), name="api-kpi-detail"),
    path("api/alerts", api.AlertListApi.as_view(), name="api-alert-list"),
    path(
        "api/alerts/<int:pk>/acknowledge",
        api.AlertAcknowledgeApi.as_view(),
        name="api-alert-acknowledge",
    ),
    path("api/insights", api.InsightsApi.as_view(), name="api-insights"),
]
