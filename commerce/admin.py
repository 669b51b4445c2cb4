from django.contrib import admin, messages

from commerce import services
from commerce.models import (
    CommerceOrder,
    Coupon,
    ExchangeRate,
    OrderLine,
    Refund,
    StoreConnection,
    StoreProbe,
    WebhookDelivery,
)
from omnisocial.admin_deletions import RollupsFollowDeletions
from omnisocial.admin_times import WorkspaceTimesAdmin


@admin.register(StoreConnection)
class StoreConnectionAdmin(RollupsFollowDeletions, admin.ModelAdmin):
    list_display = ["__str__", "workspace", "platform", "shop_domain", "currency", "is_active"]
    list_filter = ["platform", "is_active", "workspace"]
    search_fields = ["name", "shop_domain"]
    readonly_fields = ["created_at", "previous_secret_expires_at"]


@admin.register(StoreProbe)
class StoreProbeAdmin(WorkspaceTimesAdmin, admin.ModelAdmin):
    workspace_path = "store.workspace"
    list_display = ["id", "store", "requested_at", "outcome", "status_code", "finished_at"]
    list_filter = ["outcome", "store__platform"]
    readonly_fields = [
        "store", "requested_at", "finished_at", "outcome", "status_code", "verdict", "delivery_id",
    ]  # fmt: skip
    date_hierarchy = "requested_at"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(WorkspaceTimesAdmin, admin.ModelAdmin):
    workspace_path = "store.workspace"
    list_display = [
        "id", "store", "topic", "delivery_id", "received_at", "verified", "status", "attempts",
    ]  # fmt: skip
    list_filter = ["status", "verified", "body_truncated", "store__platform", "topic"]
    search_fields = ["delivery_id", "event_key", "order_external_id", "error"]
    readonly_fields = [
        "store", "topic", "delivery_id", "event_key", "order_external_id", "body_text",
        "body_truncated", "body_size", "headers", "received_at", "verified", "status",
        "attempts", "error", "processed_at", "order",
    ]  # fmt: skip
    exclude = ["raw_body"]
    actions = ["replay"]
    date_hierarchy = "received_at"

    @admin.display(description="raw body")
    def body_text(self, obj) -> str:
        return bytes(obj.raw_body).decode("utf-8", errors="replace")

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request, queryset):
        done = 0
        for delivery in queryset.filter(verified=True).select_related("store__workspace"):
            services.delivery_replay(delivery=delivery)
            done += 1
        messages.info(request, f"Replayed {done} deliveries.")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0


@admin.register(CommerceOrder)
class CommerceOrderAdmin(WorkspaceTimesAdmin, RollupsFollowDeletions, admin.ModelAdmin):
    list_display = [
        "__str__", "workspace", "store", "created_at", "total_price", "currency",
        "reporting_total", "refunded_amount", "status", "utm_source", "utm_content",
    ]  # fmt: skip
    list_filter = ["status", "is_converted", "currency", "store__platform", "workspace"]
    search_fields = ["external_id", "order_number", "utm_campaign", "utm_content", "osc_click"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, RefundInline]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["order", "title", "sku", "quantity", "price"]
    list_filter = ["order__store"]
    search_fields = ["title", "sku", "product_id"]


@admin.register(Refund)
class RefundAdmin(WorkspaceTimesAdmin, RollupsFollowDeletions, admin.ModelAdmin):
    workspace_field = "order__workspace_id"
    workspace_path = "order.workspace"

    list_display = ["external_id", "order", "amount", "created_at", "reason"]
    list_filter = ["order__store"]
    search_fields = ["external_id", "order__external_id"]


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ["__str__", "workspace", "campaign", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["code"]
    filter_horizontal = ["posts"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["day", "from_currency", "to_currency", "rate", "workspace"]
    list_filter = ["from_currency", "to_currency", ("workspace", admin.EmptyFieldListFilter)]
    search_fields = ["from_currency", "to_currency"]
    date_hierarchy = "day"
