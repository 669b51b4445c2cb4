"""Live attribution while a rebuild of the same workspace runs (PostgreSQL, where they run in
separate sessions at once): an order that arrives, a refund and a new version of an order the
rebuild has already read are deferred while it writes, attributed when it ends, and the rows and
rollups are then exactly what a rebuild from scratch writes. Nothing is lost, nothing counted
twice, and no worker waits for the rebuild."""

import threading
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from attribution import engine
from attribution.engine.rows import TOUCH_COLUMNS
from attribution.engine.writers import WRITERS_LOCK_NAMESPACE
from attribution.models import AttributionTouch, Click, DeferredOrder, RefundTouch
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData, RefundData
from commerce.models import CommerceOrder
from tests.attribution.test_rebuilt_equals_live import _data_set, _stored
from tests.reliability.conftest import (
    attribution_consistency_problems,
    postgresql_only,
    test_database_url,
)

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]


def _version(order, *, total: str, later: timedelta, external_id=None, **attribution):
    """A version of `order` (or, with `external_id`, a new order like it) with another total;
    it keeps the order's signals unless `attribution` names others."""
    signals = attribution or {name: getattr(order, name) for name in vars(Attribution())}
    return OrderData(
        external_id=external_id or order.external_id, order_number="#late",
        created_at=order.created_at, updated_at=order.updated_at_source + later, currency="USD",
        total_price=Decimal(total), attribution=Attribution(**signals),
        coupon_codes=order.coupon_codes, customer_id="late-buyer",
        lines=[LineData(title="Hat", quantity=1, price=Decimal(total))],
    )  # fmt: skip


def test_orders_that_arrive_or_change_during_a_rebuild_are_attributed_when_it_ends():
    workspace, orders = _data_set()  # each order attributed live as it was saved (the signals)
    engine.workspace_recalculate(workspace=workspace)
    store = orders[0].store
    paused, resume, outcome = threading.Event(), threading.Event(), {}

    def progress(done, total):  # the rebuild has read every order and built their journeys
        if not paused.is_set():
            paused.set()
            assert resume.wait(60)

    def rebuild():
        try:
            outcome["result"] = engine.workspace_recalculate(workspace=workspace, progress=progress)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            outcome["error"] = exc
        finally:
            paused.set()
            connection.close()

    thread = threading.Thread(target=rebuild)
    thread.start()
    try:
        assert paused.wait(60) and "error" not in outcome
        click = Click.objects.filter(workspace=workspace, is_bot=False).exclude(visitor_id="")[0]
        arrived = commerce_services.order_save(
            store=store,
            data=_version(orders[0], total="88.40", later=timedelta(0), external_id="late",
                          osc_click=click.click_id),
        )  # fmt: skip
        refunded, changed = [o for o in orders if AttributionTouch.objects.filter(order=o)][2:4]
        commerce_services.refund_record(
            store=store, order_external_id=refunded.external_id,
            refund=RefundData("late-refund", Decimal("5.00"), refunded.created_at + timedelta(1)),
        )  # fmt: skip
        commerce_services.order_save(
            store=store, data=_version(changed, total="61.17", later=timedelta(hours=1))
        )
        # Their live attributions (the signals' tasks, run here at once) waited for the rebuild.
        deferred = set(DeferredOrder.objects.values_list("order_id", flat=True))
        assert deferred == {arrived.pk, refunded.pk, changed.pk}
        assert not AttributionTouch.objects.filter(order=arrived).exists()
    finally:
        resume.set()
        thread.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"]["orders"] == len(orders)  # what it read before they came

    assert not DeferredOrder.objects.exists()
    assert attribution_consistency_problems(workspace) == []
    after = _stored(workspace)
    assert AttributionTouch.objects.filter(order=arrived).exists()
    assert RefundTouch.objects.filter(refund__external_id="late-refund").exists()
    changed.refresh_from_db()
    assert changed.total_price == Decimal("61.17")
    credited = sum(t.revenue_multi for t in AttributionTouch.objects.filter(order=changed))
    assert credited == changed.attributable_revenue()
    # Exactly the rows the live path writes for every order now, with the removal effects
    # the rebuild stored...
    for order in CommerceOrder.objects.filter(workspace=workspace).order_by("created_at", "pk"):
        engine.order_attribute(order_id=order.pk)
    assert _stored(workspace) == after
    # ... and, but for data-driven credit (whose effects now learn from the late order's
    # journey too), what a rebuild from scratch writes.
    engine.workspace_recalculate(workspace=workspace)
    assert _without_data_driven(_stored(workspace)) == _without_data_driven(after)
    assert attribution_consistency_problems(workspace) == []


def _without_data_driven(stored):
    touches, refunds = stored
    kept = [n for n, name in enumerate(TOUCH_COLUMNS)
            if not name.endswith("_data") and name != "data_fallback"]  # fmt: skip
    return [[row[n] for n in kept] for row in touches], [row[:-1] for row in refunds]


def test_an_order_deferred_by_a_rebuild_that_died_is_attributed_by_the_safety_net():
    workspace, orders = _data_set()
    store = orders[0].store
    with psycopg.connect(test_database_url(), autocommit=True) as rebuild:
        # A rebuild's session holds the workspace's writers lock...
        rebuild.execute("SELECT pg_advisory_lock(%s, %s)", [WRITERS_LOCK_NAMESPACE, workspace.pk])
        order = commerce_services.order_save(
            store=store, data=_version(orders[0], total="19.99", later=timedelta(0),
                                       external_id="while-locked", utm_content="a-post-2")
        )  # fmt: skip
        assert DeferredOrder.objects.filter(order=order).exists()
        assert not AttributionTouch.objects.filter(order=order).exists()
    # ... and its process died (the session ended) before it attributed what it deferred.
    assert engine.orders_attribute_changed(workspace=workspace) >= 1
    assert not DeferredOrder.objects.exists()
    post_ids = set(AttributionTouch.objects.filter(order=order).values_list("post__reference"))
    assert post_ids == {("a-post-2",)}
    assert attribution_consistency_problems(workspace) == []
    assert CommerceOrder.objects.get(pk=order.pk).attributed_at is not None
