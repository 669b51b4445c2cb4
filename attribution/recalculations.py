"""Recalculations asked for through the API: one is queued at a time per workspace, a worker
runs it (`attribution.tasks.recalculation_run`), and its record says how it went."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from attribution import engine
from attribution.models import Recalculation
from omnisocial.jobs import failure_text
from omnisocial.models import Workspace

logger = logging.getLogger(__name__)

PENDING = (Recalculation.Status.QUEUED, Recalculation.Status.RUNNING)


def recalculation_request(
    *, workspace: Workspace, requested_by: str = "", since: date | None = None
) -> Recalculation:
    """Queues a recalculation of the workspace (every order, or those from `since` on).
    Raises ValidationError while another one is queued or running: it recomputes everything
    the new one would."""
    with transaction.atomic():
        # The workspace row serialises two requests arriving at once.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        _lost_runs_fail(workspace)
        pending = Recalculation.objects.filter(workspace=workspace, status__in=PENDING).first()
        if pending is not None:
            raise ValidationError(
                f"Recalculation {pending.pk} is {pending.status}; follow it at "
                f"/attribution/recalculations/{pending.pk}.",
                code="pending",
            )
        wait = cooldown_left(workspace)
        if wait:
            raise ValidationError(
                f"A recalculation was asked for less than {settings.RECALCULATION_COOLDOWN} s "
                f"ago; ask again in {wait} s (the nightly one runs anyway).",
                code="cooldown",
                params={"wait": wait},
            )
        recalculation = Recalculation.objects.create(
            workspace=workspace, requested_by=requested_by[:200], since=since
        )
        transaction.on_commit(
            lambda: async_task(
                "attribution.tasks.recalculation_run", recalculation.pk, group="attribution"
            )
        )
    return recalculation


def cooldown_left(workspace: Workspace) -> int:
    """Seconds until the workspace may ask for another recalculation: RECALCULATION_COOLDOWN
    after the last one was asked for, so one key cannot keep a worker rebuilding everything."""
    last = (
        Recalculation.objects.filter(workspace=workspace)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return 0
    left = settings.RECALCULATION_COOLDOWN - (timezone.now() - last).total_seconds()
    return max(0, int(left + 0.999))


def _lost_runs_fail(workspace: Workspace) -> None:
    """A run whose worker died (killed, host lost) stays "running"; past the task timeout no
    worker can still be on it, so it is recorded as failed and no longer blocks a new one."""
    limit = timedelta(seconds=settings.Q_CLUSTER["timeout"])
    Recalculation.objects.filter(
        workspace=workspace,
        status=Recalculation.Status.RUNNING,
        started_at__lt=timezone.now() - limit,
    ).update(
        status=Recalculation.Status.FAILED,
        finished_at=timezone.now(),
        error=f"The worker running it stopped: no outcome within {limit.seconds} s.",
    )


def recalculation_run(recalculation_id: int) -> str:
    """Runs a queued recalculation and records its outcome; returns its status."""
    taken = Recalculation.objects.filter(
        pk=recalculation_id, status=Recalculation.Status.QUEUED
    ).update(status=Recalculation.Status.RUNNING, started_at=timezone.now())
    if not taken:
        return "gone"  # deleted with its workspace, or already run
    recalculation = Recalculation.objects.select_related("workspace").get(pk=recalculation_id)
    workspace = recalculation.workspace
    since = recalculation.since
    outcome: dict = {}
    try:
        result = engine.workspace_recalculate(
            workspace=workspace,
            since=datetime.combine(since, time.min, tzinfo=workspace.zone) if since else None,
        )
        outcome = {
            "status": Recalculation.Status.DONE,
            "orders": result["orders"],
            "attributions": result["attributions"],
        }
    except engine.RecalculationBusy as exc:
        outcome = {"status": Recalculation.Status.BUSY, "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - recorded for the client, and logged
        logger.exception("recalculation %s of workspace %s failed", recalculation_id, workspace)
        outcome = {"status": Recalculation.Status.FAILED, "error": failure_text(exc)}
    Recalculation.objects.filter(pk=recalculation_id).update(finished_at=timezone.now(), **outcome)
    return outcome["status"]
