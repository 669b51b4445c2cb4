from django.contrib import admin

from attribution.models import AllowedDomain, Click, TrackedLink


@admin.register(AllowedDomain)
class AllowedDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["domain"]


@admin.register(TrackedLink)
class TrackedLinkAdmin(admin.ModelAdmin):
    list_display = ["code", "post", "destination_url", "utm_source", "utm_campaign", "created_at"]
    list_filter = ["workspace", "source", "utm_source"]
    search_fields = ["code", "destination_url", "utm_content", "utm_campaign"]
    list_select_related = ["post"]
    raw_id_fields = ["post"]
    readonly_fields = ["code", "tagged_url", "created_at"]


@admin.register(Click)
class ClickAdmin(admin.ModelAdmin):
    list_display = ["click_id", "link", "post", "clicked_at", "is_bot", "bot_reason", "is_unique"]
    list_filter = ["workspace", "is_bot", "is_unique", "bot_reason"]
    search_fields = ["click_id", "visitor_id", "link__code"]
    date_hierarchy = "clicked_at"
    list_select_related = ["link", "post"]
    raw_id_fields = ["link", "post"]
    readonly_fields = [field.name for field in Click._meta.fields]

    def has_add_permission(self, request):
        return False  # clicks come from visitors, not from admins
