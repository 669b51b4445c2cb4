"""Thin receivers: each only enqueues attribution work for committed orders and settings, except
the one for a saved post, which tags its links at once (the same request shows them)."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.dispatch import receiver
from django_q.tasks import async_task

from attribution.services import post_links_tag, rebuild_enqueue
from commerce import signals
from omnisocial import signals as core_signals

_paused: ContextVar[bool] = ContextVar("attribution_enqueue_paused", default=False)


@contextmanager
def order_attribution_paused():
    """For a caller that re-attributes the whole workspace itself right after (the demo's
    seeding): orders recorded inside enqueue no task each, which the worker would then run for
    nothing on its next start."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


@receiver(signals.order_recorded, dispatch_uid="attribution.order_recorded")
@receiver(signals.order_changed, dispatch_uid="attribution.order_changed")
def order_attribution_enqueue(sender, order, **kwargs):
    if not _paused.get():
        async_task("attribution.tasks.attribute_order", order.pk, group="attribution")


@receiver(signals.orders_bulk_written, dispatch_uid="attribution.orders_bulk_written")
def orders_attribution_enqueue(sender, order_ids, **kwargs):
    if not _paused.get():
        async_task("attribution.tasks.attribute_orders", list(order_ids), group="attribution")


@receiver(signals.store_orders_imported, dispatch_uid="attribution.store_orders_imported")
def imported_orders_recalculation_enqueue(sender, store, since, **kwargs):
    """A store's imported history: one recalculation of the range it covers."""
    async_task(
        "attribution.tasks.orders_recalculate",
        store.workspace_id,
        since.isoformat(),
        group="attribution",
    )


@receiver(core_signals.workspace_settings_changed, dispatch_uid="attribution.settings_changed")
def workspace_recalculation_enqueue(sender, workspace, **kwargs):
    rebuild_enqueue("workspace_recalculate", workspace.pk)


@receiver(core_signals.workspace_rows_deleted, dispatch_uid="attribution.rows_deleted")
def rollups_rebuild_enqueue(sender, workspace_ids, **kwargs):
    for workspace_id in sorted(workspace_ids):
        rebuild_enqueue("rollups_rebuild", workspace_id)


@receiver(core_signals.post_saved, dispatch_uid="attribution.post_saved")
def post_links_tag_on_save(sender, post, **kwargs):
    """Tags the saved post's links inside its save's transaction: the page and the API that saved
    it list them in the same answer. What was tagged or refused stays on `post.tagging`."""
    post.tagging = post_links_tag(post=post)
