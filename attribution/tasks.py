"""django-q2 entry points of the attribution app: take ids, call one service."""

from attribution import engine, rollups, services
from omnisocial.models import Workspace


def click_spool_flush() -> int:
    return services.click_spool_flush()


def clicks_roll_up_all() -> int:
    """Every minute: new clicks of every workspace into the DailyClicks rollup."""
    return sum(rollups.clicks_roll_up(workspace=w) for w in Workspace.objects.all())


def attribute_order(order_id: int) -> int:
    return engine.order_attribute(order_id=order_id)


def attribute_orders(order_ids: list[int]) -> int:
    return sum(engine.order_attribute(order_id=order_id) for order_id in order_ids)


def attribute_changed_orders() -> int:
    """Every few minutes: orders changed since the last pass, in every workspace."""
    return sum(
        engine.orders_attribute_changed(workspace=workspace)
        for workspace in Workspace.objects.all()
    )


def rollups_rebuild(workspace_id: int) -> str:
    """After a deletion in the admin: the workspace's rollups from its raw rows."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return "gone"
    try:
        engine.rollups_rebuild(workspace=workspace)
    except engine.RecalculationBusy:
        return "busy"  # the running recalculation rebuilds them when it ends
    return "rebuilt"


def recalculate_all_workspaces() -> dict:
    """Nightly: a full rebuild of every workspace (a busy workspace is skipped, not waited on)."""
    done = {}
    for workspace in Workspace.objects.all():
        try:
            done[workspace.slug] = engine.workspace_recalculate(workspace=workspace)
        except engine.RecalculationBusy:
            done[workspace.slug] = "busy"
    return done


def workspace_recalculate(workspace_id: int) -> str:
    """After a settings change (revenue basis, lookback, models): every order of the workspace
    re-attributed under the new settings. A run already going is left to finish; the settings
    it read may be the old ones, so this one is retried by the nightly rebuild at the latest."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return "gone"
    try:
        engine.workspace_recalculate(workspace=workspace)
    except engine.RecalculationBusy:
        return "busy"
    return "rebuilt"
