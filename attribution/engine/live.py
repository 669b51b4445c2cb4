"""The live path: one order re-attributed as it arrives or changes (the signals' task), and the
five-minute safety net behind it.

`order_attribute` computes the order's rows with the rebuild's rules (`rows.order_rows`),
replaces them, and updates only the rollup cells they touch: DailyRevenue cells and PostRevenue
rows are recomputed from the touch rows, DailyTotals shifted by the order's difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from attribution import rollups
from attribution.engine import effects, writers
from attribution.engine.rows import (
    BATCH,
    OrderCredit,
    Sale,
    order_rows,
    refund_parts_of,
    sales_of,
    touches_write,
)
from attribution.journeys import JourneyContext
from attribution.models import (
    MODEL_COLUMNS,
    AttributionState,
    AttributionTouch,
    RefundTouch,
    VisitorIdentity,
)
from commerce.models import CommerceOrder, OrderLine, Refund
from omnisocial.db import datetime_read, decimal_read, hot_cursor, pipelined
from omnisocial.models import Workspace
from omnisocial.money import ZERO


def order_attribute(*, order_id: int) -> int:
    """Re-attributes one order, replacing its rows atomically, and refreshes the rollups it
    touches. Running it twice, or in two workers at once, leaves the same rows. While a rebuild
    of the workspace is writing, the order is deferred to its end instead (`writers`). Returns
    the number of RevenueAttribution rows (touches x models) written."""
    with transaction.atomic():
        order = _order_locked(order_id)
        if order is None:
            return 0
        # Read with the order on PostgreSQL (writers.may_write_column); SQLite asks the lease.
        may_write = getattr(order, "may_write", None)
        if may_write is None:
            may_write = writers.lease_free(order.workspace_id)
        if not may_write:
            writers.defer(workspace_id=order.workspace_id, order_id=order.pk)
            return 0
        workspace = order.workspace
        # The rest in a pipeline: a statement nobody reads travels with the next one read (the
        # refunds and units with the journey's statement, the writes with the cells' and at the
        # end).
        with pipelined(), _refunds_and_units_asked(order.pk) as refunds_and_units:
            context = JourneyContext.load(workspace, [order])
            journey = context.journey(order)
            refunds, units = refunds_and_units()
            data_driven = "data-driven" in workspace.attribution_models
            rows = order_rows(
                workspace=workspace,
                order=order,
                journey=journey,
                refunds=refunds,
                units=units,
                models=workspace.attribution_models,
                removal_effects=effects.stored(workspace, [t.key for t in journey])
                if data_driven
                else None,
            )
            old_sales, old_refunds = _rows_delete(order.pk)
            touches_write(rows)
            identities_learn(workspace, context.learnt)
            new_sales, new_refunds = sales_of(rows.touches), refund_parts_of(rows.refunds)
            _rollups_shift(workspace, old_sales, old_refunds, new_sales, new_refunds)
            # The watermark, written out (no auto_now: updated_at keeps the version's time).
            with hot_cursor() as cursor:
                cursor.execute(
                    f"UPDATE {CommerceOrder._meta.db_table} SET attributed_at = %s WHERE id = %s",  # noqa: S608
                    [connection.ops.adapt_datetimefield_value(timezone.now()), order.pk],
                )
    return len(new_sales)


def _order_locked(order_id: int) -> CommerceOrder | None:
    """The order, locked, and on PostgreSQL whether the live path may write (`may_write`, the
    writers lock taken shared), in one statement; then
    its workspace, whose row is locked too: that serialises the workspace's live attributions,
    which recompute rollup cells they may share (two at once would each replace a cell the
    other has just written). NO KEY UPDATE: rows that refer to the order or the workspace
    (refunds, clicks) are still inserted meanwhile. Written out: the ORM's compiling of the
    one query with its workspace cost more than both statements."""
    order = next(iter(CommerceOrder.objects.raw(ORDER_SQL, [order_id])), None)
    if order is not None:
        order.workspace = next(iter(Workspace.objects.raw(WORKSPACE_SQL, [order.workspace_id])))
    return order


_LOCK = " FOR NO KEY UPDATE" if connection.features.has_select_for_update else ""
ORDER_SQL = f"""
    SELECT o.* {writers.may_write_column("o.workspace_id")}
    FROM {CommerceOrder._meta.db_table} AS o WHERE o.id = %s{_LOCK}"""  # noqa: S608 - names only
WORKSPACE_SQL = f"SELECT * FROM {Workspace._meta.db_table} WHERE id = %s{_LOCK}"  # noqa: S608


REFUND_FIELDS = (
    "id", "order_id", "external_id", "amount", "units", "items_subtotal", "items_tax",
    "created_at", "reason", "recorded_at",
)  # fmt: skip


@contextmanager
def _refunds_and_units_asked(order_id: int):
    """Asks for the order's refunds and its lines' units, and yields the function that reads
    them: (Refunds, units net of the refunds'). In a pipeline they come back with the next
    statement that is read. Read after the order's lock, not with it: a statement that waited
    for the lock sees the order's new row but the lines as they were before the wait."""
    with hot_cursor() as refunds, hot_cursor() as lines:
        refunds.execute(
            f"SELECT {', '.join(REFUND_FIELDS)} FROM {Refund._meta.db_table}"  # noqa: S608
            " WHERE order_id = %s",
            [order_id],
        )
        lines.execute(
            f"SELECT COALESCE(SUM(quantity), 0) FROM {OrderLine._meta.db_table}"  # noqa: S608
            " WHERE order_id = %s",
            [order_id],
        )

        def read() -> tuple[list[Refund], int]:
            found = [_refund(*row) for row in refunds.fetchall()]
            return found, net_units(lines.fetchone()[0], found)

        yield read


def _refund(pk, order_id, external_id, amount, units, subtotal, tax, at, reason, recorded_at):
    return Refund(
        id=pk, order_id=order_id, external_id=external_id, amount=_money(amount), units=units,
        items_subtotal=_money(subtotal), items_tax=_money(tax), created_at=datetime_read(at),
        reason=reason, recorded_at=datetime_read(recorded_at),
    )  # fmt: skip


def net_units(sold: int, refunds: Iterable[Refund]) -> int:
    """An order's units net of the units its refunds returned, never below zero (`units_of`'s
    rule, for one order whose refunds are at hand)."""
    return max(int(sold) - sum(r.units for r in refunds if r.units > 0), 0)


def _rows_delete(order_id: int) -> tuple[list[Sale], list[tuple]]:
    """Deletes the order's touch and refund rows and returns what they credited, as the
    rollups read it (one statement each: DELETE ... RETURNING)."""
    touch_columns = ["order_day", "post_id", "platform", "campaign_id"] + [
        f"{figure}_{suffix}" for suffix in MODEL_COLUMNS.values() for figure in SALE_FIGURES
    ]
    refund_columns = ["day", "post_id", "platform", "campaign_id"] + [
        f"amount_{suffix}" for suffix in MODEL_COLUMNS.values()
    ]
    # Both sent before either is read: one round trip in a pipeline.
    with hot_cursor() as touch_cursor, hot_cursor() as refund_cursor:
        touch_cursor.execute(
            f"DELETE FROM {AttributionTouch._meta.db_table} WHERE order_id = %s"  # noqa: S608
            f" RETURNING {', '.join(touch_columns)}",
            [order_id],
        )
        refund_cursor.execute(
            f"DELETE FROM {RefundTouch._meta.db_table} WHERE order_id = %s"  # noqa: S608
            f" RETURNING {', '.join(refund_columns)}",
            [order_id],
        )
        touches, refunds = touch_cursor.fetchall(), refund_cursor.fetchall()
    day = _date_of
    sales = []
    for order_day, post_id, platform, campaign_id, *figures in touches:
        for index, model in enumerate(MODEL_COLUMNS):
            weight, gross, refunded, revenue = figures[4 * index : 4 * index + 4]
            if weight is not None:
                sales.append(Sale(model, day(order_day), post_id, platform, campaign_id,
                                  _money(gross), _weight(weight), _money(refunded),
                                  _money(revenue)))  # fmt: skip
    parts = [
        (model, day(refund_day), post_id, platform, campaign_id, _money(amounts[index]))
        for refund_day, post_id, platform, campaign_id, *amounts in refunds
        for index, model in enumerate(MODEL_COLUMNS)
        if amounts[index] is not None
    ]
    return sales, parts


# What a Sale reads of each model's columns, in Sale's order after its keys.
SALE_FIGURES = ("weight", "gross", "refunded", "revenue")
_CENTS, _SIX_PLACES = Decimal("0.01"), Decimal("0.000001")


def _money(value) -> Decimal:
    return decimal_read(value, _CENTS)


def _weight(value) -> Decimal:
    return decimal_read(value, _SIX_PLACES)


def _date_of(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _rollups_shift(workspace, old_sales, old_refunds, new_sales, new_refunds) -> None:
    # DailyRevenue and PostRevenue cells: (day, post_id, platform) before and after.
    cells = {(s.order_day, s.post_id, s.platform) for s in old_sales + new_sales}
    cells |= {(day, post, platform) for _, day, post, platform, _, _ in old_refunds + new_refunds}
    posts = {post for _, post, _ in cells if post is not None}
    rollups.post_revenue_shift(
        workspace, posts, lambda: rollups.daily_revenue_refresh(workspace, cells)
    )
    # DailyTotals entries: (model, day, platform, campaign_id, revenue, credited orders).
    rollups.daily_totals_shift(
        workspace,
        before=[*_sale_entries(old_sales), *_refund_entries(old_refunds)],
        after=[*_sale_entries(new_sales), *_refund_entries(new_refunds)],
    )


def _sale_entries(sales: list[Sale]) -> list[rollups.Entry]:
    """One order's sales as DailyTotals entries, credited orders per `rollups.order_counts`."""
    counts = rollups.order_counts((s.model, s.refunded, s.revenue) for s in sales)
    return [
        (s.model, s.order_day, s.platform, s.campaign_id, s.gross, s.weight * counts[s.model])
        for s in sales
    ]


def _refund_entries(parts) -> list[rollups.Entry]:
    return [(m, day, platform, c, -amount, ZERO) for m, day, _, platform, c, amount in parts]


def units_of(order_ids) -> dict[int, int]:
    """Each order's units net of the units its refunds returned (never below zero), in one
    statement; `order_ids` is a list of ids or a query of them."""
    if isinstance(order_ids, QuerySet):
        within, params = order_ids.values("pk").query.sql_with_params()
    else:
        params = list(order_ids)
        if not params:
            return {}
        within = ", ".join(["%s"] * len(params))
    lines, refunds = OrderLine._meta.db_table, Refund._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT l.order_id, SUM(l.quantity), COALESCE((SELECT SUM(r.units) FROM {refunds}
                AS r WHERE r.order_id = l.order_id AND r.units > 0), 0)
                FROM {lines} AS l WHERE l.order_id IN ({within}) GROUP BY l.order_id""",  # noqa: S608
            params,
        )
        return {order: max(int(units) - int(back), 0) for order, units, back in cursor}


def identities_learn(workspace: Workspace, learnt: dict[tuple[str, str], object]) -> None:
    """Stores customer-visitor links, keeping the earliest time each was seen: one upsert per
    batch, the earlier time winning on a conflict. (A rebuild on PostgreSQL learns its links
    with one statement instead: `touchpoints.journey_clicks`.)"""
    if not learnt:
        return
    table = VisitorIdentity._meta.db_table
    earliest = "LEAST" if connection.vendor == "postgresql" else "MIN"
    on_conflict = f"""ON CONFLICT (workspace_id, customer_key, visitor_id) DO UPDATE SET
        first_seen_at = {earliest}({table}.first_seen_at, EXCLUDED.first_seen_at)"""
    columns = "workspace_id, customer_key, visitor_id, first_seen_at"
    links = list(learnt.items())
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(links), BATCH):
            batch = links[start : start + BATCH]
            cursor.execute(
                f"""INSERT INTO {table} ({columns})
                    VALUES {", ".join(["(%s, %s, %s, %s)"] * len(batch))} {on_conflict}""",
                [value for (key, visitor), seen in batch
                 for value in (workspace.pk, key, visitor, adapt(seen))],
            )  # fmt: skip


def orders_attribute_changed(*, workspace: Workspace) -> int:
    """The scheduled incremental pass: re-attributes orders changed since the last pass that
    the signal path has not attributed since they changed (a safety net behind the signals,
    e.g. for a lost task). Returns how many it re-attributed."""
    state, _ = AttributionState.objects.get_or_create(workspace=workspace)
    now = timezone.now()
    changed = CommerceOrder.objects.filter(workspace=workspace).exclude(
        attributed_at__gte=F("updated_at")
    )
    if state.incremental_run_at is not None:
        changed = changed.filter(updated_at__gte=state.incremental_run_at)
    ids = list(changed.values_list("pk", flat=True))
    for order_id in ids:
        order_attribute(order_id=order_id)
    # Orders deferred by a rebuild whose process died before it attributed them.
    deferred = writers.deferred_attribute(workspace_id=workspace.pk, attribute=order_attribute)
    AttributionState.objects.filter(pk=state.pk).update(incremental_run_at=now)
    return len(ids) + deferred


__all__ = ["OrderCredit", "order_attribute", "orders_attribute_changed"]
