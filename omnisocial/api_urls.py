"""The resource API under /api/: the workspace, campaigns, API keys, and the schema. (The root
URLconf mounts the other apps' resources under /api/ too: posts, exchange rates, post metrics.)"""

from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from omnisocial import api
from omnisocial.api_schema import SchemaView

urlpatterns = [
    path("workspace", api.WhoAmIView.as_view(), name="api-whoami"),
    path("campaigns", api.CampaignListCreateApi.as_view(), name="api-campaigns"),
    path("campaigns/<int:pk>", api.CampaignDetailApi.as_view(), name="api-campaign"),
    path("keys", api.ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("keys/<int:pk>", api.ApiKeyDetailApi.as_view(), name="api-key"),
    # For authenticated requests only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]): an API key or
    # a session. The docs are a page: a visitor is sent to the login form.
    re_path(r"^schema/?$", SchemaView.as_view(), name="api-schema"),
    re_path(
        r"^docs/?$",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]
