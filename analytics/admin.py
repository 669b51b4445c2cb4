from django.contrib import admin

from analytics.models import Alert, RevenueKPI
from omnisocial.admin_times import WorkspaceTimesAdmin


@admin.register(RevenueKPI)
class RevenueKPIAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "scope", "period", "target", "state", "evaluated_at"]
    list_filter = ["workspace", "scope", "period", "state"]
    search_fields = ["name"]
    list_select_related = ["workspace"]
    raw_id_fields = ["campaign", "post", "owner"]
    readonly_fields = ["state", "state_period_start", "evaluated_at", "created_at", "updated_at"]


@admin.register(Alert)
class AlertAdmin(WorkspaceTimesAdmin, admin.ModelAdmin):
    list_display = ["title", "workspace", "kind", "severity", "created_at", "acknowledged_at"]
    list_filter = ["workspace", "kind", "severity", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "message", "dedupe_key"]
    date_hierarchy = "created_at"
    list_select_related = ["workspace"]
    raw_id_fields = ["kpi", "post", "campaign", "acknowledged_by"]
    readonly_fields = ["dedupe_key", "figures", "created_at"]
