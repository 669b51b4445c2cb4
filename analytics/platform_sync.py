"""django-q2 entry points of the Meta and TikTok sync (omnisocial.connections).

The sync lives on the ground floor with the models it writes; spend is converted with commerce's
exchange rates, which the ground floor may not import. This module, in the highest app, composes
the two: it hands the sync the workspace's `RateBook`, as the metrics import does.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from commerce.services.rates import RateBook
from omnisocial import connections
from omnisocial.models import PlatformConnection, PlatformSync

logger = logging.getLogger(__name__)


def platform_sync_run(sync_id: int, *, sleep=time.sleep) -> str:
    """Runs (or resumes) one sync with the workspace's exchange rates. Returns its status.
    `sleep` is how the run waits (backoff, usage pacing): tests pass their own."""
    sync = PlatformSync.objects.select_related("connection__workspace").filter(pk=sync_id).first()
    if sync is None or sync.status in (PlatformSync.Status.DONE, PlatformSync.Status.PARTIAL):
        return "gone" if sync is None else sync.status
    workspace = sync.connection.workspace
    rates = RateBook(workspace.reporting_currency, workspace).rate
    try:
        return connections.sync_run(sync=sync, rates=rates, sleep=sleep).status
    except Exception as exc:
        logger.exception("Platform sync %s failed", sync_id)
        PlatformSync.objects.filter(pk=sync_id).update(
            status=PlatformSync.Status.FAILED,
            finished_at=timezone.now(),
            message=f"The sync stopped on an unexpected error: {type(exc).__name__}.",
        )
        raise


def platform_syncs_due() -> dict:
    """The hourly schedule: resumes paused runs whose pause is over and runs that lost their
    worker (running past the task timeout, or queued past the broker's retry: they go on from
    their next unwritten window), and queues each active connection's daily run once per day
    of its workspace. Returns what it queued."""
    from django_q.tasks import async_task

    now = timezone.now()
    resumed = 0
    lost = Q(
        status=PlatformSync.Status.RUNNING,
        started_at__lt=now - timedelta(seconds=settings.Q_CLUSTER["timeout"]),
    ) | Q(
        status=PlatformSync.Status.QUEUED,
        requested_at__lt=now - timedelta(seconds=settings.Q_CLUSTER["retry"]),
    )
    paused = PlatformSync.objects.filter(
        Q(status=PlatformSync.Status.PAUSED)
        & (Q(connection__paused_until__isnull=True) | Q(connection__paused_until__lte=now))
        | lost
    )
    for sync_id in paused.values_list("pk", flat=True):
        async_task("analytics.platform_sync.platform_sync_run", sync_id, group="platform-syncs")
        resumed += 1
    queued = 0
    active = PlatformConnection.objects.filter(
        status=PlatformConnection.Status.ACTIVE, accounts__selected=True
    ).distinct()
    for connection in active.select_related("workspace"):
        today = connections.workspace_today(connection.workspace)
        if connection.last_synced_at and (
            timezone.localdate(connection.last_synced_at, connection.workspace.zone) >= today
        ):
            continue
        try:
            connections.sync_request(connection=connection, kind=PlatformSync.Kind.DAILY)
        except ValidationError:
            continue  # a run is queued, running or paused: it covers today
        queued += 1
    return {"resumed": resumed, "queued": queued}
