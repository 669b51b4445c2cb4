"""Deliveries that fail verification cost little to store and are rate-limited per store and
client address: only their headers and a 4 KiB prefix of the body are kept (marked truncated),
and past the limit the address is answered 429 with Retry-After and nothing is stored. A
verified delivery is still kept byte for byte."""

import json

import pytest
from django.db.models.functions import Length
from django.test import Client

from commerce.models import WebhookDelivery
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import StoreConnectionFactory

pytestmark = pytest.mark.django_db

MB = 1_000_000
WRONG = "The signature does not match the store's webhook secret."


def forged(store, body: bytes, address="203.0.113.7", **extra):
    return Client(REMOTE_ADDR=address).post(
        url(store), body, content_type="application/json",
        **shopify_headers(store, body, secret="not-the-secret"), **extra,
    )  # fmt: skip


def test_ten_forged_megabyte_deliveries_keep_4_kib_each():
    store = StoreConnectionFactory()
    body = b'{"id": 1, "note": "' + b"x" * (MB - 30) + b'"}'

    answers = {(r.status_code, r.content) for r in (forged(store, body) for _ in range(10))}

    assert answers == {(401, WRONG.encode())}
    rows = WebhookDelivery.objects.annotate(kept=Length("raw_body"))
    assert rows.count() == 10
    assert sum(rows.values_list("kept", flat=True)) == 10 * 4096  # not 9.5 MiB
    assert set(rows.values_list("verified", "status", "body_truncated", "body_size", "kept")) == {
        (False, "rejected", True, len(body), 4096)
    }
    delivery = rows.first()
    assert bytes(delivery.raw_body) == body[:4096]
    assert delivery.headers["X-Shopify-Topic"] == "orders/create"
    assert delivery.error == WRONG


def test_a_body_that_is_not_utf8_is_truncated_too():
    store = StoreConnectionFactory()
    response = forged(store, b"\xff" * 10_000)
    assert (response.status_code, response.content) == (400, b"The body is not UTF-8 text.")
    delivery = WebhookDelivery.objects.get()
    assert (len(bytes(delivery.raw_body)), delivery.body_truncated, delivery.body_size) == (
        4096, True, 10_000,
    )  # fmt: skip


def test_a_verified_delivery_is_kept_whole(django_capture_on_commit_callbacks):
    store = StoreConnectionFactory()
    payload = json.loads(fixture_bytes("shopify_order_create.json"))
    payload["note"] = "y" * 200_000
    body = json.dumps(payload).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            url(store), body, content_type="application/json", **shopify_headers(store, body)
        )
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.verified, delivery.status, delivery.body_truncated) == (True, "processed",
                                                                            False)  # fmt: skip
    assert (bytes(delivery.raw_body), delivery.body_size) == (body, len(body))


def test_verification_failures_are_rate_limited_per_store_and_address(settings):
    settings.COMMERCE_WEBHOOK_UNVERIFIED_RATE = "3/min"
    store, other_store = (
        StoreConnectionFactory(),
        StoreConnectionFactory(shop_domain="other.myshopify.com"),
    )
    body = fixture_bytes("shopify_order_create.json")

    first = [forged(store, body).status_code for _ in range(3)]
    limited = forged(store, body)
    signed = Client(REMOTE_ADDR="203.0.113.7").post(
        url(store), body, content_type="application/json", **shopify_headers(store, body)
    )

    assert first == [401, 401, 401]
    assert (limited.status_code, limited.content) == (
        429, b"Too many deliveries that failed verification.",
    )  # fmt: skip
    assert 1 <= int(limited["Retry-After"]) <= 60
    # The signature is checked before anything is counted: a delivery the store signed is
    # accepted from that address all the same (a shared proxy's forgeries never hold back real
    # orders) and counts against the store's own budget instead.
    assert signed.status_code == 200
    assert WebhookDelivery.objects.count() == 4
    # Another address, or another store from that address, is not held back.
    assert forged(store, body, address="198.51.100.9").status_code == 401
    assert forged(other_store, body).status_code == 401
    assert WebhookDelivery.objects.count() == 6


def test_accepted_deliveries_never_count_towards_the_limit(settings):
    settings.COMMERCE_WEBHOOK_UNVERIFIED_RATE = "2/min"
    store = StoreConnectionFactory()
    body = fixture_bytes("shopify_order_create.json")
    client = Client(REMOTE_ADDR="203.0.113.7")

    statuses = [
        client.post(url(store), body, content_type="application/json",
                    **shopify_headers(store, body, event_id=f"evt-{n}")).status_code
        for n in range(5)
    ]  # fmt: skip

    assert statuses == [200] * 5
    assert forged(store, body).status_code == 401
