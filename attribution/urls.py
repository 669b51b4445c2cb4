from django.urls import path

from attribution import api, pages

app_name = "attribution"

urlpatterns = [
    path("links", api.LinkListCreateView.as_view(), name="api-links"),
    path("domains", api.DomainListCreateView.as_view(), name="api-domains"),
    path("domains/<int:pk>", api.DomainDeleteView.as_view(), name="api-domain"),
    path("recalculations", api.RecalculationListCreateView.as_view(), name="api-recalculations"),
    path(
        "recalculations/<int:pk>", api.RecalculationDetailView.as_view(), name="api-recalculation"
    ),
    path("removal-effects", api.RemovalEffectsView.as_view(), name="api-removal-effects"),
    path("tracking/", pages.TrackingView.as_view(), name="tracking"),
]
