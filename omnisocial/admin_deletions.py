"""The admin's deletions that the rollups do not follow by themselves (a post, an order, a
refund, a store, a link or a click cascades to attribution rows or clicks): once the deletion
commits, `workspace_rows_deleted` is sent with the workspaces concerned, and attribution, which
listens, rebuilds their rollups. It lives on the ground floor so every app's admin can use it
without importing the attribution app."""

from django.db import transaction

from omnisocial import signals


class RollupsFollowDeletions:
    """For the admin of a model whose deletion cascades to attribution rows or clicks.
    `workspace_field` is the lookup from the model to its workspace id."""

    workspace_field = "workspace_id"

    def delete_model(self, request, obj):
        workspace_ids = self._workspace_ids(type(obj).objects.filter(pk=obj.pk))
        super().delete_model(request, obj)
        self._announce(workspace_ids, type(obj))

    def delete_queryset(self, request, queryset):
        workspace_ids = self._workspace_ids(queryset)
        super().delete_queryset(request, queryset)
        self._announce(workspace_ids, queryset.model)

    def _workspace_ids(self, queryset) -> set[int]:
        return set(queryset.values_list(self.workspace_field, flat=True))

    @staticmethod
    def _announce(workspace_ids: set[int], model) -> None:
        transaction.on_commit(
            lambda: signals.workspace_rows_deleted.send(sender=model, workspace_ids=workspace_ids)
        )
