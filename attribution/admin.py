from django.contrib import admin

from attribution.models import (
    AllowedDomain,
    AttributionState,
    Click,
    DailyRevenue,
    DeferredOrder,
    PostRevenue,
    Recalculation,
    RefundAttribution,
    RemovalEffect,
    RevenueAttribution,
    TrackedLink,
    VisitorIdentity,
)
from omnisocial.admin_deletions import RollupsFollowDeletions
from omnisocial.admin_times import WorkspaceTimesAdmin


@admin.register(AllowedDomain)
class AllowedDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["domain"]


@admin.register(TrackedLink)
class TrackedLinkAdmin(RollupsFollowDeletions, admin.ModelAdmin):
    list_display = ["code", "post", "destination_url", "utm_source", "utm_campaign", "created_at"]
    list_filter = ["workspace", "source", "utm_source"]
    search_fields = ["code", "destination_url", "utm_content", "utm_campaign"]
    list_select_related = ["post"]
    raw_id_fields = ["post"]
    readonly_fields = ["code", "tagged_url", "created_at"]


@admin.register(Click)
class ClickAdmin(WorkspaceTimesAdmin, RollupsFollowDeletions, admin.ModelAdmin):
    list_display = ["click_id", "link", "post", "clicked_at", "is_bot", "bot_reason", "is_unique"]
    list_filter = ["workspace", "is_bot", "is_unique", "bot_reason"]
    search_fields = ["click_id", "visitor_id", "link__code"]
    date_hierarchy = "clicked_at"
    list_select_related = ["link", "post"]
    raw_id_fields = ["link", "post"]
    readonly_fields = [field.name for field in Click._meta.fields]

    def has_add_permission(self, request):
        return False  # clicks come from visitors, not from admins


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: the engine writes them, admins only look (recalculate to change them)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RevenueAttribution)
class RevenueAttributionAdmin(ReadOnlyAdmin):
    list_display = [
        "order", "attribution_model", "position", "post", "platform", "matched_field",
        "matched_value", "attribution_weight", "revenue", "order_day", "is_fallback",
    ]  # fmt: skip
    list_filter = ["workspace", "attribution_model", "matched_field", "platform", "is_fallback"]
    search_fields = ["matched_value", "order__external_id", "order__order_number"]
    date_hierarchy = "order_day"
    list_select_related = ["order", "post"]


@admin.register(RefundAttribution)
class RefundAttributionAdmin(ReadOnlyAdmin):
    list_display = ["refund", "order", "attribution_model", "position", "post", "day", "amount"]
    list_filter = ["workspace", "attribution_model", "platform"]
    search_fields = ["order__external_id", "refund__external_id"]
    date_hierarchy = "day"
    list_select_related = ["refund", "order", "post"]


@admin.register(PostRevenue)
class PostRevenueAdmin(ReadOnlyAdmin):
    list_display = [
        "post", "attribution_model", "total_revenue", "total_orders", "total_units",
        "avg_order_value", "unique_clicks", "conversion_rate", "roas", "updated_at",
    ]  # fmt: skip
    list_filter = ["workspace", "attribution_model"]
    search_fields = ["post__caption", "post__reference"]
    list_select_related = ["post"]


@admin.register(DailyRevenue)
class DailyRevenueAdmin(ReadOnlyAdmin):
    list_display = ["day", "attribution_model", "platform", "campaign", "post", "revenue", "orders"]
    list_filter = ["workspace", "attribution_model", "platform"]
    search_fields = ["post__reference", "campaign__slug"]
    date_hierarchy = "day"
    list_select_related = ["campaign", "post"]


@admin.register(VisitorIdentity)
class VisitorIdentityAdmin(ReadOnlyAdmin):
    list_display = ["customer_key", "visitor_id", "first_seen_at", "workspace"]
    list_filter = ["workspace"]
    search_fields = ["customer_key", "visitor_id"]


@admin.register(AttributionState)
class AttributionStateAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "converting_journeys", "full_run_at", "incremental_run_at"]


@admin.register(DeferredOrder)
class DeferredOrderAdmin(ReadOnlyAdmin):
    """Orders whose live attribution waits for a running rebuild (attribution.engine.writers);
    rows that stay here after it ended are attributed by the five-minute safety net."""

    list_display = ["order", "workspace", "deferred_at"]
    list_filter = ["workspace"]
    ordering = ["deferred_at"]


@admin.register(RemovalEffect)
class RemovalEffectAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "post", "campaign", "platform", "effect"]
    list_filter = ["workspace"]
    search_fields = ["post__reference", "campaign__slug", "platform"]
    list_select_related = ["post", "campaign"]
    ordering = ["workspace", "-effect"]


@admin.register(Recalculation)
class RecalculationAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "status", "since", "requested_by", "orders", "created_at"]
    list_filter = ["status", "workspace"]
