"""A store's webhook budget (COMMERCE_WEBHOOK_RATE) is counted in batches on Redis
(`ratelimit.hit_batched`): one process is exact, and across gunicorn workers at most
(batch - 1) per worker get through beyond it. Every delivery answered 200 is stored, and none
answered 429 is."""

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from commerce.models import WebhookDelivery
from omnisocial import ratelimit
from omnisocial.settings import caches_from_url
from tests.commerce.signing import hmac_b64
from tests.factories import StoreConnectionFactory, WorkspaceFactory
from tests.reliability.conftest import (
    gunicorn_server,
    http_request,
    postgresql_only,
    redis_flush,
    redis_only,
    test_database_url,
)

pytestmark = [redis_only]

CACHE_URL = "redis://127.0.0.1:6379/11"
RATE = "300/h"  # batches of 3: up to 2 per process held back from the shared count
LIMIT = 300
BODY = json.dumps({"id": 1, "name": "Shop"}).encode()


def headers(store, n: int) -> dict:
    """A signed delivery of a topic the product ignores: it is counted and stored, and costs
    no order processing."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": hmac_b64(store.webhook_secret, BODY),
        "X-Shopify-Topic": "shop/update",
        "X-Shopify-Shop-Domain": store.shop_domain,
        "X-Shopify-Event-Id": f"budget-{n}",
    }


def test_the_budget_is_batched_only_where_it_is_large():
    assert ratelimit.batch_size("6000/min") == 10
    assert ratelimit.batch_size(RATE) == 3
    # A small limit is counted one hit at a time: exact across processes.
    assert ratelimit.batch_size("199/min") == 1
    assert ratelimit.batch_size("5/h") == 1


@pytest.mark.django_db
def test_one_process_counts_a_batched_budget_exactly(client):
    store = StoreConnectionFactory(workspace=WorkspaceFactory())
    url = f"/commerce/stores/{store.pk}/webhooks/shopify"
    redis_flush(CACHE_URL)
    try:
        with override_settings(CACHES=caches_from_url(CACHE_URL), COMMERCE_WEBHOOK_RATE=RATE):
            answers = [
                client.post(
                    url,
                    BODY,
                    content_type="application/json",
                    headers={k: v for k, v in headers(store, n).items() if k != "Content-Type"},
                )  # fmt: skip
                for n in range(LIMIT + 5)
            ]
    finally:
        redis_flush(CACHE_URL)
    assert [a.status_code for a in answers] == [200] * LIMIT + [429] * 5
    assert all(0 < int(a["Retry-After"]) <= 3600 for a in answers[LIMIT:])
    assert WebhookDelivery.objects.filter(store=store, verified=True).count() == LIMIT


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    env = {"DATABASE_URL": test_database_url(), "CACHE_URL": CACHE_URL,
           "COMMERCE_WEBHOOK_RATE": RATE}  # fmt: skip
    redis_flush(CACHE_URL)
    log = tmp_path_factory.mktemp("gunicorn") / "budget.log"
    try:
        with gunicorn_server(env, workers=3, log=log) as address:
            yield address
    finally:
        redis_flush(CACHE_URL)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_budget_holds_across_workers_within_its_tolerance(server):
    store = StoreConnectionFactory(workspace=WorkspaceFactory())
    path = f"/commerce/stores/{store.pk}/webhooks/shopify"

    def deliver(n):
        return http_request(server, "POST", path, body=BODY, headers=headers(store, n))

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(deliver, range(400)))
    codes = Counter(status for status, _, _ in answers)
    assert set(codes) == {200, 429}, codes
    # 3 workers, each holding back at most 2 hits the others do not see yet.
    assert LIMIT <= codes[200] <= LIMIT + 3 * 2, codes
    assert all(int(h["Retry-After"]) > 0 for status, h, _ in answers if status == 429)
    # Nothing lost, nothing counted twice: every 200 is one stored row, a 429 stores nothing.
    assert WebhookDelivery.objects.filter(store=store).count() == codes[200]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_gunicorn_answers_every_kind_of_delivery_as_the_view_does(server):
    """Under gunicorn a webhook POST is served by `WebhookDispatch` (omnisocial/wsgi.py), past
    Django's handler: the same answers as through it, a 405 for another method included."""
    store = StoreConnectionFactory(workspace=WorkspaceFactory())
    path = f"/commerce/stores/{store.pk}/webhooks/shopify"
    signed = headers(store, 1)
    forged = {**signed, "X-Shopify-Hmac-Sha256": hmac_b64("another secret", BODY)}

    assert http_request(server, "POST", path, body=BODY, headers=signed)[::2] == (200, b"OK")
    assert http_request(server, "POST", f"{path}/", body=BODY, headers=signed)[0] == 200
    status, _, text = http_request(server, "POST", path, body=BODY, headers=forged)
    assert (status, text) == (401, b"The signature does not match the store's webhook secret.")
    status, _, text = http_request(server, "POST", f"/commerce/stores/{store.pk + 1000}"
                                   "/webhooks/shopify", body=BODY, headers=signed)  # fmt: skip
    assert (status, text) == (404, b"No such store.")
    assert http_request(server, "GET", path)[0] == 405
    kept = WebhookDelivery.objects.filter(store=store).order_by("id")
    assert [(d.verified, d.status, d.topic) for d in kept] == [
        (True, "ignored", "shop/update"), (True, "ignored", "shop/update"),
        (False, "rejected", ""),  # no topic is read from an unverified delivery
    ]  # fmt: skip
    assert bytes(kept[0].raw_body) == BODY
    assert kept[0].headers["X-Shopify-Event-Id"] == "budget-1"
