from django.urls import path, re_path

from commerce import api, views

urlpatterns = [
    path("stores/", views.StoreListView.as_view(), name="store-list"),
    path("stores/<int:pk>/", views.StoreDetailView.as_view(), name="store-detail"),
    path(
        "stores/<int:pk>/disconnect/",
        views.StoreDisconnectView.as_view(),
        name="store-disconnect",
    ),
    path("stores", api.StoreListCreateApi.as_view(), name="api-store-list"),
    path("stores/<int:pk>", api.StoreDetailApi.as_view(), name="api-store-detail"),
    path(
        "stores/<int:pk>/rotate-secret", api.StoreSecretRotateApi.as_view(), name="api-store-rotate"
    ),
    # An optional trailing slash: APPEND_SLASH must never turn a delivery into a redirect.
    re_path(
        r"^stores/(?P<store_id>[0-9]+)/webhooks/(?P<platform>shopify|woocommerce|custom)/?$",
        views.webhook,
        name="webhook",
    ),
]
