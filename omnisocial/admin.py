from django.contrib import admin, messages

from omnisocial import services
from omnisocial.admin_deletions import RollupsFollowDeletions
from omnisocial.models import (
    ApiKey,
    Campaign,
    Invitation,
    Membership,
    OrganicTotal,
    PlatformAccount,
    PlatformConnection,
    PlatformSync,
    PlatformSyncIssue,
    Post,
    PostMetrics,
    Workspace,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "reporting_currency",
        "time_zone",
        "lookback_days",
        "created_at",
    ]
    list_filter = ["reporting_currency", "revenue_basis"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role", "workspace"]
    search_fields = ["user__username", "user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]
    fields = ["workspace", "name", "prefix", "key_hash", "created_by", "revoked_at", "created_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, raw_key = services.api_key_create(
            workspace=obj.workspace, name=obj.name, created_by=request.user
        )
        obj.pk = key.pk
        messages.warning(request, f"Copy the key now, it is not shown again: {raw_key}")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: an invitation is made by its workspace's owner, whose page shows its link once
    (only the token's hash is stored)."""

    list_display = [
        "email", "workspace", "role", "created_at", "expires_at", "accepted_at", "revoked_at",
    ]  # fmt: skip
    list_filter = ["workspace", "role"]
    search_fields = ["email"]
    readonly_fields = [
        "workspace", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at",
        "accepted_by", "revoked_at",
    ]  # fmt: skip
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "slug"]

    # Deletions go through the service the API calls too (it rebuilds the rollups).
    def delete_model(self, request, obj):
        services.campaign_delete(campaign=obj)

    def delete_queryset(self, request, queryset):
        for campaign in queryset:
            services.campaign_delete(campaign=campaign)


class PostMetricsInline(admin.TabularInline):
    model = PostMetrics
    extra = 0
    ordering = ["-day"]


@admin.register(Post)
class PostAdmin(RollupsFollowDeletions, admin.ModelAdmin):
    list_display = [
        "__str__", "workspace", "platform", "content_type", "campaign", "reference",
        "published_at", "boosted_spend",
    ]  # fmt: skip
    list_filter = ["workspace", "platform", "content_type"]
    search_fields = ["caption", "reference", "external_id"]
    date_hierarchy = "published_at"
    list_select_related = ["workspace", "campaign"]
    inlines = [PostMetricsInline]

    def save_model(self, request, obj, form, change):
        # The same path as the API and the demo data, so links are tagged the same way.
        services.post_save(
            workspace=obj.workspace,
            post=obj,
            **{field: getattr(obj, field) for field in services.POST_FIELDS},
        )


@admin.register(PostMetrics)
class PostMetricsAdmin(admin.ModelAdmin):
    list_display = ["post", "day", "impressions", "reach", "engagements", "link_clicks", "spend"]
    list_filter = ["post__workspace", "post__platform"]
    search_fields = ["post__caption", "post__reference"]
    date_hierarchy = "day"
    list_select_related = ["post"]


class PlatformAccountInline(admin.TabularInline):
    model = PlatformAccount
    extra = 0
    fields = ["kind", "external_id", "name", "currency", "selected"]
    readonly_fields = ["kind", "external_id", "name", "currency"]


@admin.register(PlatformConnection)
class PlatformConnectionAdmin(admin.ModelAdmin):
    """Read-only but for the status: a connection is made by its workspace's owner through the
    platform's OAuth flow (Settings › Connections); its token is never shown."""

    list_display = ["workspace", "platform", "status", "token_expires_at", "last_synced_at"]
    list_filter = ["platform", "status", "workspace"]
    readonly_fields = [
        "workspace", "platform", "status_reason", "token_expires_at", "external_user",
        "connected_by", "connected_at", "last_synced_at", "paused_until",
    ]  # fmt: skip
    fields = ["status", *readonly_fields]
    inlines = [PlatformAccountInline]

    def has_add_permission(self, request):
        return False


class PlatformSyncIssueInline(admin.TabularInline):
    model = PlatformSyncIssue
    extra = 0
    readonly_fields = ["account", "day", "message"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PlatformSync)
class PlatformSyncAdmin(admin.ModelAdmin):
    list_display = [
        "connection", "kind", "status", "since", "until", "requested_at", "finished_at",
        "rows_created", "rows_updated",
    ]  # fmt: skip
    list_filter = ["kind", "status", "connection__platform"]
    readonly_fields = [f.name for f in PlatformSync._meta.concrete_fields]
    inlines = [PlatformSyncIssueInline]

    def has_add_permission(self, request):
        return False


@admin.register(OrganicTotal)
class OrganicTotalAdmin(admin.ModelAdmin):
    list_display = ["post", "day", "impressions", "reach", "engagements"]
    list_filter = ["day"]
    search_fields = ["post__reference"]
    readonly_fields = [f.name for f in OrganicTotal._meta.concrete_fields]
