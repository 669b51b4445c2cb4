"""A delivery that fails processing stays visible in the inbox and blocks none of the others."""

import json

import pytest
from django.test import Client

from commerce.models import CommerceOrder, WebhookDelivery
from tests.commerce.signing import url
from tests.factories import StoreConnectionFactory, WorkspaceFactory
from tests.reliability.conftest import deliveries_drain, shopify_body, shopify_meta

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_failing_delivery_does_not_block_the_ones_around_it():
    store = StoreConnectionFactory(workspace=WorkspaceFactory(reporting_currency="USD"))
    broken = json.loads(shopify_body(8002))
    del broken["created_at"]  # signed and valid JSON, but no order can be made of it
    bodies = [
        shopify_body(8001),
        json.dumps(broken).encode(),
        shopify_body(8003),
        shopify_body(8004, created_at="yesterday-ish"),
        shopify_body(8005),
    ]
    answers = [
        Client()
        .post(url(store), body, content_type="application/json",
              **shopify_meta(store, body, f"evt-{n}"))
        .status_code
        for n, body in enumerate(bodies)
    ]  # fmt: skip
    deliveries_drain()

    assert answers == [200] * 5  # accepted: stored in the inbox, processed on their own
    assert sorted(CommerceOrder.objects.values_list("external_id", flat=True)) == [
        "8001", "8003", "8005",
    ]  # fmt: skip
    statuses = list(WebhookDelivery.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["processed", "failed", "processed", "failed", "processed"]
    # The reason stays on the failed delivery for the operator, and the raw body for a replay.
    assert all(d.error and d.raw_body for d in WebhookDelivery.objects.filter(status="failed"))

    # A later delivery still goes through, and the failed ones wait for a replay after the fix.
    later = shopify_body(8006)
    response = Client().post(
        url(store), later, content_type="application/json", **shopify_meta(store, later, "evt-9")
    )
    deliveries_drain()
    assert response.status_code == 200
    assert CommerceOrder.objects.filter(external_id="8006").exists()
    assert WebhookDelivery.objects.filter(status="failed").count() == 2
