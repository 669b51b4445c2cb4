"""Scheduled work over many workspaces: one workspace's failure never stops the others.

A job that walks every workspace (the nightly recalculation, the incremental pass, the KPI check,
the click roll-up) runs each workspace through `each_workspace`: an exception is logged with the
workspace, the walk goes on with the next one, and the report says which failed and why.
"""

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from omnisocial.models import Workspace

logger = logging.getLogger(__name__)


@dataclass
class WorkspacesRun:
    """What a walk over workspaces did: each workspace's result by slug, and the failures
    (slug -> the exception, one line)."""

    results: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def report(self, done: Any) -> dict:
        """The task's return value (kept by django-q2): what was done, and what failed."""
        return {"done": done, "failed": dict(self.failed)}


def failure_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()[:500]


def each_workspace(
    job: str,
    work: Callable[[Workspace], Any],
    workspaces: Iterable[Workspace] | None = None,
) -> WorkspacesRun:
    """Runs `work(workspace)` for each workspace (every workspace, by id, unless given).

    An exception of one workspace is logged (with the job, the workspace's slug and id) and
    recorded in `failed`; the next workspace runs as if nothing happened.
    """
    run = WorkspacesRun()
    for workspace in Workspace.objects.order_by("pk") if workspaces is None else workspaces:
        try:
            run.results[workspace.slug] = work(workspace)
        except Exception as exc:  # noqa: BLE001 - isolated per workspace, logged and reported
            logger.exception(
                "%s failed for workspace %s (id %s)", job, workspace.slug, workspace.pk
            )
            run.failed[workspace.slug] = failure_text(exc)
    return run
