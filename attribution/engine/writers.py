"""Who writes a workspace's attribution rows while a rebuild runs (PostgreSQL).

A rebuild reads every order, computes for minutes and then replaces every touch row and rollup
cell of the workspace; the live path replaces one order's rows and shifts the cells they touch.
Interleaved, a live write would be deleted by the rebuild (a new order's rows), overwritten with
what the rebuild read before the change (a refund), or counted twice in the cells. So a rebuild
holds the workspace's *writers lock* exclusively from before it reads the orders until it has
committed, and the live path takes it shared, without waiting: when a rebuild holds it, the
order is *deferred* (a `DeferredOrder` row) and attributed once the rebuild ends, by the
rebuild itself or, if its process died, by the five-minute safety net. Nothing is lost and no
worker waits for a rebuild.

The lock is a transaction-level advisory lock for the live path (released at its commit) and a
session-level one for the rebuild. On SQLite the rebuild's lease on the workspace's
`AttributionState` plays the exclusive part: while it is held, the live path defers.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

from attribution.models import AttributionState, DeferredOrder

#: The first key of the writers lock (the second is the workspace id); the recalculation lock
#: (`rebuild.ADVISORY_LOCK_NAMESPACE`) is another one.
WRITERS_LOCK_NAMESPACE = 0x05C1A772


def may_write_column(workspace_column: str) -> str:
    """On PostgreSQL, whether the live path may write as a select-list column `may_write` of a
    query that reads `workspace_column`: the workspace's writers lock taken shared for the
    current transaction, without waiting (false while a rebuild holds it). The live path reads
    its order with it, so the lock is taken as the row is read. Elsewhere nothing: the caller
    asks `lease_free`."""
    if connection.vendor != "postgresql":
        return ""
    return (
        f", pg_try_advisory_xact_lock_shared({WRITERS_LOCK_NAMESPACE}, "
        f"{workspace_column}::integer) AS may_write"
    )


def lease_free(workspace_id: int) -> bool:
    """SQLite's part of the writers lock: False while a rebuild holds its lease."""
    leased = AttributionState.objects.filter(
        workspace_id=workspace_id, lease_until__gt=timezone.now()
    )
    return not leased.exists()


@contextmanager
def rebuild_exclusive(workspace_id: int):
    """Holds the workspace's writers lock exclusively (waiting for live attributions already
    writing: milliseconds each)."""
    if connection.vendor != "postgresql":
        yield
        return
    key = [WRITERS_LOCK_NAMESPACE, workspace_id]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def defer(*, workspace_id: int, order_id: int) -> None:
    """Notes an order the live path could not attribute now (a rebuild is writing)."""
    DeferredOrder.objects.bulk_create(
        [DeferredOrder(workspace_id=workspace_id, order_id=order_id)],
        update_conflicts=True, unique_fields=["order"], update_fields=["deferred_at"],
    )  # fmt: skip


def deferred_attribute(*, workspace_id: int, attribute) -> int:
    """Attributes the workspace's deferred orders with `attribute(order_id=...)` (the live
    path), then forgets the ones deferred before it began. Returns how many it attributed."""
    started = timezone.now()
    ids = list(
        DeferredOrder.objects.filter(workspace_id=workspace_id)
        .order_by("order_id")
        .values_list("order_id", flat=True)
    )
    for order_id in ids:
        attribute(order_id=order_id)
    # An order deferred again meanwhile (another rebuild began) keeps its newer row.
    DeferredOrder.objects.filter(
        workspace_id=workspace_id, order_id__in=ids, deferred_at__lt=started
    ).delete()
    return len(ids)
