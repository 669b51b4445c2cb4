from django.urls import path

from attribution import api, pages

app_name = "attribution"

urlpatterns = [
    path("links", api.LinkListCreateView.as_view(), name="api-links"),
    path("domains", api.DomainListCreateView.as_view(), name="api-domains"),
    path("domains/<int:pk>", api.DomainDeleteView.as_view(), name="api-domain"),
    path("tracking/", pages.TrackingView.as_view(), name="tracking"),
]
