"""A duplicate storm: the same delivery 50 times at once against the live WSGI server and
PostgreSQL leaves one order and one set of attribution rows."""

import threading
import time
import urllib.error
import urllib.request

import pytest

from attribution.models import RevenueAttribution
from commerce.models import CommerceOrder, WebhookDelivery
from tests.commerce.signing import url
from tests.factories import PostFactory, StoreConnectionFactory, WorkspaceFactory
from tests.reliability.conftest import (
    attribution_consistency_problems,
    deliveries_drain,
    postgresql_only,
    shopify_body,
    shopify_http_headers,
)

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]
STORM = 50


def test_the_same_delivery_fifty_times_at_once_leaves_one_order_and_one_attribution(live_server):
    workspace = WorkspaceFactory(reporting_currency="USD")
    store = StoreConnectionFactory(workspace=workspace)
    # The fixture's order names post-17 in its UTMs: the order has a journey to attribute.
    PostFactory(workspace=workspace, reference="post-17",
                link_url=f"https://{store.shop_domain}/products/linen-shirt")  # fmt: skip
    body = shopify_body(9001)
    headers = shopify_http_headers(store, body, "evt-storm")
    start = threading.Barrier(STORM)
    answers: list[int] = []

    def deliver():
        request = urllib.request.Request(
            live_server.url + url(store), data=body, headers=headers, method="POST"
        )
        start.wait()
        for _attempt in range(20):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    answers.append(response.status)
                return
            except urllib.error.HTTPError as error:
                answers.append(error.code)
                return
            except (ConnectionError, urllib.error.URLError):
                # The test server's listen queue is short: a refused connection never reached
                # the application, and the store retries it like any failed delivery.
                time.sleep(0.05)

    threads = [threading.Thread(target=deliver) for _ in range(STORM)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    deliveries_drain()

    assert answers == [200] * STORM
    assert WebhookDelivery.objects.count() == STORM  # every request is kept in the inbox
    assert CommerceOrder.objects.filter(external_id="9001").count() == 1
    order = CommerceOrder.objects.get()
    statuses = list(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses.count("processed") + statuses.count("duplicate") == STORM
    assert set(WebhookDelivery.objects.values_list("order_id", flat=True)) <= {order.pk, None}
    # One set of rows: one per model and touch, weights summing to 1, nothing doubled.
    models = workspace.attribution_models
    rows = RevenueAttribution.objects.filter(order=order)
    assert rows.count() == len(models)
    assert sorted(rows.values_list("attribution_model", flat=True)) == sorted(models)
    assert attribution_consistency_problems(workspace) == []
