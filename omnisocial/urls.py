from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from analytics.revenue import cost_import
from analytics.revenue import pages as revenue_pages
from attribution import post_pages, posts_api
from attribution.views import click_redirect
from commerce import rates_api
from omnisocial import accounts, connections_pages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("welcome/", accounts.WelcomeView.as_view(), name="welcome"),
    path("accounts/signup/", accounts.SignupView.as_view(), name="signup"),
    path("accounts/password-reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("invitations/<str:token>/", accounts.InvitationView.as_view(), name="invitation-accept"),
    path("workspaces/switch/", views.workspace_switch, name="workspace-switch"),
    path("settings/", views.WorkspaceSettingsView.as_view(), name="workspace-settings"),
    path("settings/members/", accounts.TeamView.as_view(), name="team"),
    path("settings/api-keys/", accounts.ApiKeysView.as_view(), name="api-key-list"),
    path(
        "settings/connections/",
        connections_pages.ConnectionsView.as_view(),
        name="platform-connections",
    ),
    path(
        "settings/connections/meta/callback/",
        connections_pages.PlatformCallbackView.as_view(),
        {"platform": "meta"},
        name="platform-callback-meta",
    ),
    path(
        "settings/connections/tiktok/callback/",
        connections_pages.PlatformCallbackView.as_view(),
        {"platform": "tiktok"},
        name="platform-callback-tiktok",
    ),
    path("posts/", revenue_pages.PostsView.as_view(), name="post-list"),
    # The post pages show their tracked links, so they live in attribution (post_pages.py).
    path("posts/new/", post_pages.PostFormView.as_view(), name="post-create"),
    path("posts/<int:pk>/", post_pages.PostDetailView.as_view(), name="post-detail"),
    path("posts/<int:pk>/edit/", post_pages.PostFormView.as_view(), name="post-edit"),
    path("posts/<int:pk>/links/", post_pages.PostLinkCreateView.as_view(), name="post-links"),
    path(
        "posts/metrics/import/", cost_import.MetricsImportView.as_view(), name="post-metrics-import"
    ),
    path("campaigns/", views.CampaignListView.as_view(), name="campaign-list"),
    path("r/<str:code>", click_redirect, name="click-redirect"),
    path("attribution/", include("attribution.urls")),
    path("api/post-metrics", cost_import.PostMetricsImportApi.as_view(), name="api-post-metrics"),
    # Each app's API is mounted here, the composition point, so no app imports one above it.
    path(
        "api/exchange-rates",
        rates_api.ExchangeRateListCreateApi.as_view(),
        name="api-exchange-rates",
    ),
    # The posts API shows each post's tracked links, so it lives in attribution (posts_api.py).
    path("api/posts", posts_api.PostListCreateApi.as_view(), name="api-posts"),
    path("api/posts/<int:pk>", posts_api.PostDetailApi.as_view(), name="api-post"),
    path("api/", include("omnisocial.api_urls")),
    # Before the commerce app's own URLs: the documented revenue endpoints live under /commerce/.
    path("commerce/", include("analytics.revenue.urls")),
    path("commerce/", include(("commerce.urls", "commerce"))),
    # One include for the whole "analytics" namespace: pages_urls appends the KPI urls itself.
    path("analytics/", include(("analytics.pages_urls", "analytics"))),
    path("admin/", admin.site.urls),
]

handler404 = "omnisocial.errors.not_found"
handler500 = "omnisocial.errors.server_error"
