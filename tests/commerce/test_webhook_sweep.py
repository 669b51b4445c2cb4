"""Accepting a delivery is one INSERT; a throttled sweep task processes the inbox."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf
from django_q.models import OrmQ

from commerce import tasks
from commerce.models import CommerceOrder, StoreConnection, WebhookDelivery
from commerce.services import inbox as services
from omnisocial.schedules import SCHEDULES
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import StoreConnectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreConnectionFactory()


@pytest.fixture
def queued(monkeypatch):
    """Tasks go to the broker, as in production, and this process has not asked for a sweep."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(services, "_sweep_asked_at", -services.SWEEP_INTERVAL)


def order_body(order_id: int) -> bytes:
    payload = json.loads(fixture_bytes("shopify_order_create.json"))
    payload["id"] = order_id
    return json.dumps(payload).encode()


def deliver(store, body, **kwargs):
    return Client().post(
        url(store), body, content_type="application/json", **shopify_headers(store, body, **kwargs)
    )


def test_accepting_a_delivery_is_one_insert_once_the_store_is_cached(store):
    deliver(store, order_body(1), event_id="e1")
    with CaptureQueriesContext(connection) as queries:
        response = deliver(store, order_body(2), event_id="e2")

    assert response.status_code == 200
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert WebhookDelivery.objects.filter(status="received").count() == 2


def test_deliveries_ask_for_one_sweep_per_interval_and_the_sweep_processes_them_all(
    store, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answers = [deliver(store, order_body(n), event_id=f"e{n}").status_code for n in range(3)]

    assert answers == [200, 200, 200]
    assert OrmQ.objects.count() == 1  # not one task per delivery
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"received"}

    assert tasks.deliveries_sweep() == 3
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    assert CommerceOrder.objects.count() == 3
    assert tasks.deliveries_sweep() == 0  # idempotent: nothing left


def test_the_sweep_waits_out_the_interval_and_looks_again(store, queued, monkeypatch):
    deliver(store, order_body(1), event_id="e1")
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        deliver(store, order_body(2), event_id="e2")  # stored while the first pass had ended

    monkeypatch.setattr(tasks.time, "sleep", sleep)
    assert tasks.deliveries_sweep(not_before=tasks.time.time() + 0.5) == 2
    assert len(slept) == 1 and 0 < slept[0] <= services.SWEEP_INTERVAL
    assert CommerceOrder.objects.count() == 2


def test_a_delivery_that_breaks_the_sweep_is_marked_failed_not_retried_forever(
    store, queued, monkeypatch
):
    deliver(store, order_body(1), event_id="e1")
    deliver(store, order_body(2), event_id="e2")
    real = services.delivery_process
    broken = WebhookDelivery.objects.order_by("id").first().pk

    def process(*, delivery):
        if delivery.pk == broken:
            raise RuntimeError("database hiccup")
        return real(delivery=delivery)

    monkeypatch.setattr(services, "delivery_process", process)
    # The batch is rolled back, the culprit marked failed, the rest swept again.
    assert services.deliveries_sweep() == 1
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses.pop(broken) == "failed"
    assert list(statuses.values()) == ["processed"]
    assert WebhookDelivery.objects.get(pk=broken).error == "RuntimeError: database hiccup"


def test_a_secret_rotated_in_another_process_is_honoured_despite_the_cache(store):
    assert deliver(store, order_body(1), event_id="e1").status_code == 200  # cached now
    # Another process rotates: no signal reaches this one's cache.
    StoreConnection.objects.filter(pk=store.pk).update(
        webhook_secret="shpss_new", previous_webhook_secret=store.webhook_secret
    )
    response = deliver(store, order_body(2), event_id="e2", secret="shpss_new")
    assert response.status_code == 200
    assert WebhookDelivery.objects.get(event_key="event:e2").verified


def test_a_lost_enqueue_is_caught_by_the_minute_schedule():
    sweep = [s for s in SCHEDULES if s["func"] == "commerce.tasks.deliveries_sweep"]
    assert sweep == [
        {
            "name": "sweep-webhook-deliveries",
            "func": "commerce.tasks.deliveries_sweep",
            "schedule_type": "I",
            "minutes": 1,
        }
    ]
