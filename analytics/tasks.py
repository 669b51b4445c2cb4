"""django-q2 entry points of the analytics app."""

import logging

from django.utils import timezone
from django_q.tasks import async_task

from analytics.kpis import services
from omnisocial.models import Workspace

logger = logging.getLogger(__name__)


def evaluate_all_workspaces() -> int:
    """The hourly schedule: one `evaluate_workspace` task per workspace, so one slow or failing
    workspace neither delays nor stops the others. Returns how many were enqueued."""
    workspace_ids = list(Workspace.objects.order_by("pk").values_list("pk", flat=True))
    for workspace_id in workspace_ids:
        async_task("analytics.tasks.evaluate_workspace", workspace_id, group="kpi-checks")
    return len(workspace_ids)


def evaluate_workspace(workspace_id: int) -> int:
    """Evaluates the workspace's KPIs and looks for outliers. Safe to run twice: alerts are
    raised on transitions and deduplicated. Returns how many alerts were raised.

    A failure is logged with the workspace and raised again, so django-q2 records this
    workspace's task as failed; the other workspaces' tasks run on their own."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:  # deleted since the task was enqueued
        return 0
    try:
        return len(services.workspace_check(workspace=workspace, now=timezone.now()))
    except Exception:
        logger.exception("KPI check failed for workspace %s (id %s)", workspace.slug, workspace.pk)
        raise
