"""Admin lists show times in each row's workspace time zone, the zone named: the days the
reports cut are the workspace's, so an order listed on Nov 30 is on Nov 30 in its reports too."""

from functools import reduce

from django.contrib import admin
from django.db import models
from django.utils import timezone


def local_time(value, zone) -> str:
    if value is None:
        return "—"
    return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M %Z")


class WorkspaceTimesAdmin:
    """For a ModelAdmin: each DateTimeField of `list_display` is shown in the time zone of the
    row's workspace, reached through `workspace_path` (a dotted attribute path)."""

    workspace_path = "workspace"

    def get_list_display(self, request):
        shown = []
        for name in super().get_list_display(request):
            field = self._datetime_field(name)
            shown.append(self._local_column(field) if field is not None else name)
        return shown

    def get_list_select_related(self, request):
        related = super().get_list_select_related(request)
        path = self.workspace_path.replace(".", "__")
        if related is True or related is False:
            return [path] if related is False else related
        return [*related, path]

    def _datetime_field(self, name):
        if not isinstance(name, str):
            return None
        try:
            field = self.model._meta.get_field(name)
        except Exception:  # noqa: BLE001 - a method or property name, not a field
            return None
        return field if isinstance(field, models.DateTimeField) else None

    def _local_column(self, field):
        path = self.workspace_path.split(".")

        @admin.display(description=f"{field.verbose_name} (workspace time)",
                       ordering=field.name)  # fmt: skip
        def column(obj):
            workspace = reduce(getattr, path, obj)
            return local_time(getattr(obj, field.attname), workspace.zone)

        column.__name__ = f"{field.name}_local"
        return column
