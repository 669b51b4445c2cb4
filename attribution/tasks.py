"""django-q2 entry points of the attribution app: take ids, call one service."""

from datetime import datetime

from attribution import engine, recalculations, rollups, services
from omnisocial.jobs import each_workspace
from omnisocial.models import Workspace


def click_spool_flush() -> int:
    return services.click_spool_flush()


def clicks_roll_up_all() -> dict:
    """Every minute: new clicks of every workspace into the DailyClicks rollup. Returns
    `{"done": clicks rolled up, "failed": {slug: error}}` (a failing workspace is logged and
    skipped, see `omnisocial.jobs`)."""
    run = each_workspace(
        "click roll-up", lambda workspace: rollups.clicks_roll_up(workspace=workspace)
    )
    return run.report(sum(run.results.values()))


def attribute_order(order_id: int) -> int:
    return engine.order_attribute(order_id=order_id)


def attribute_orders(order_ids: list[int]) -> int:
    return sum(engine.order_attribute(order_id=order_id) for order_id in order_ids)


def attribute_changed_orders() -> dict:
    """Every few minutes: orders changed since the last pass, in every workspace. Returns
    `{"done": orders re-attributed, "failed": {slug: error}}`."""
    run = each_workspace(
        "incremental attribution pass",
        lambda workspace: engine.orders_attribute_changed(workspace=workspace),
    )
    return run.report(sum(run.results.values()))


def _rebuild(workspace_id: int, rebuild) -> str:
    """`rebuild(workspace=...)` for a workspace that may be gone by now; "busy" when a
    recalculation of it is already running (it rebuilds everything when it ends)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return "gone"
    try:
        rebuild(workspace=workspace)
    except engine.RecalculationBusy:
        return "busy"
    return "rebuilt"


def rollups_rebuild(workspace_id: int) -> str:
    """After a deletion (the admin, or a service such as campaign_delete): the workspace's
    rollups from its raw rows."""
    services.rebuild_started("rollups_rebuild", workspace_id)
    return _rebuild(workspace_id, engine.rollups_rebuild)


def orders_recalculate(workspace_id: int, since: str) -> str:
    """After a store's history import: the workspace's orders from `since` (an ISO instant)
    attributed in one set-based pass. A recalculation already running leaves it to the nightly
    one ("busy")."""
    moment = datetime.fromisoformat(since)
    return _rebuild(
        workspace_id,
        lambda *, workspace: engine.workspace_recalculate(workspace=workspace, since=moment),
    )


def recalculate_all_workspaces() -> dict:
    """Nightly: a full rebuild of every workspace (a busy workspace is skipped, not waited on).
    Returns `{"done": {slug: result or "busy"}, "failed": {slug: error}}`: a workspace whose
    rebuild raises is logged and reported, and the next one is rebuilt all the same."""

    def rebuild(workspace):
        try:
            return engine.workspace_recalculate(workspace=workspace)
        except engine.RecalculationBusy:
            return "busy"

    run = each_workspace("nightly recalculation", rebuild)
    return run.report(run.results)


def workspace_recalculate(workspace_id: int) -> str:
    """After a settings change (revenue basis, lookback, models): every order of the workspace
    re-attributed under the new settings. A run already going is left to finish; the settings
    it read may be the old ones, so this one is retried by the nightly rebuild at the latest."""
    services.rebuild_started("workspace_recalculate", workspace_id)
    return _rebuild(workspace_id, engine.workspace_recalculate)


def recalculation_run(recalculation_id: int) -> str:
    """A recalculation asked for through the API (see attribution.recalculations)."""
    return recalculations.recalculation_run(recalculation_id)
