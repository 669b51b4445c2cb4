"""A refund beyond what remains of its order is capped at what remains, the store's figure kept in
the refund's reason and in the inbox (the delivery's note) or the import's report."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from commerce.models import CommerceOrder, Refund, WebhookDelivery
from tests.commerce.signing import custom_headers, fixture_bytes, shopify_headers, url
from tests.factories import StoreConnectionFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def send_custom(store, message_id="msg_1", **order_changes):
    payload = json.loads(fixture_bytes("custom_order_created.json"))
    payload["data"].update(order_changes)
    body = json.dumps(payload).encode()
    return Client().post(url(store), body, content_type="application/json",
                         **custom_headers(store, body, message_id=message_id))  # fmt: skip


@pytest.fixture
def custom_store():
    return StoreConnectionFactory(
        workspace=WorkspaceFactory(), platform="custom", shop_domain="store.example.org",
        webhook_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )  # fmt: skip


def test_a_refund_larger_than_its_order_is_capped_and_flagged(
    custom_store, django_capture_on_commit_callbacks
):
    refund = {"id": "re_1", "amount": "99999999999.99", "created_at": "2026-11-24T10:00:00Z",
              "reason": "Damaged"}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = send_custom(custom_store, total="50.00", refunds=[refund])

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error) == (
        "processed",
        "refund re_1 capped at 50.00 USD, what remained of the order's 50.00: the store's figure "
        "was 99999999999.99",
    )  # fmt: skip
    order = CommerceOrder.objects.get()
    assert (order.refunded_amount, order.order_status) == (Decimal("50.00"), "refunded")
    assert order.attributable_revenue() == Decimal("0.00")
    assert list(Refund.objects.values_list("amount", "reason")) == [
        (Decimal("50.00"), "[capped at 50.00: the store's figure was 99999999999.99] Damaged")
    ]


def test_refunds_are_capped_at_what_the_earlier_ones_left(
    custom_store, django_capture_on_commit_callbacks
):
    first = {"id": "re_1", "amount": "30.00", "created_at": "2026-11-23T10:00:00Z"}
    second = {"id": "re_2", "amount": "40.00", "created_at": "2026-11-24T10:00:00Z"}
    with django_capture_on_commit_callbacks(execute=True):
        send_custom(custom_store, total="50.00", refunds=[first])
        send_custom(custom_store, message_id="msg_2", total="50.00",
                    updated_at="2026-11-24T10:00:00Z", refunds=[first, second])  # fmt: skip

    assert list(WebhookDelivery.objects.order_by("id").values_list("status", "error")) == [
        ("processed", ""),
        ("processed", "refund re_2 capped at 20.00 USD, what remained of the order's 50.00: "
                      "the store's figure was 40.00"),
    ]  # fmt: skip
    assert list(Refund.objects.order_by("external_id").values_list("external_id", "amount")) == [
        ("re_1", Decimal("30.00")),
        ("re_2", Decimal("20.00")),
    ]
    assert CommerceOrder.objects.get().refunded_amount == Decimal("50.00")


def test_a_shopify_refund_beyond_the_rest_of_the_order_is_capped(
    django_capture_on_commit_callbacks,
):
    store = StoreConnectionFactory()
    shop = Client()
    order = fixture_bytes("shopify_order_create.json")  # total 117.50
    refund = json.loads(fixture_bytes("shopify_refund_create.json"))
    refund["transactions"][0]["amount"] = "99999999999.99"
    refund = json.dumps(refund).encode()
    with django_capture_on_commit_callbacks(execute=True):
        shop.post(url(store), order, content_type="application/json",
                  **shopify_headers(store, order))  # fmt: skip
        response = shop.post(url(store), refund, content_type="application/json",
                             **shopify_headers(store, refund, topic="refunds/create",
                                               event_id="evt-2"))  # fmt: skip

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get(topic="refunds/create")
    assert (delivery.status, delivery.error) == (
        "processed",
        "refund 929361463 capped at 117.50 USD, what remained of the order's 117.50: the "
        "store's figure was 99999999999.99",
    )  # fmt: skip
    assert Refund.objects.get().amount == Decimal("117.50")
    assert CommerceOrder.objects.get().refunded_amount == Decimal("117.50")


def test_import_orders_caps_a_refunded_amount_beyond_the_order_and_reports_it(tmp_path, capsys):
    store = StoreConnectionFactory()
    path = tmp_path / "orders.csv"
    path.write_text(
        "external_id,created_at,currency,total_price,refunded_amount\n"
        "1,2026-11-02T10:00:00Z,USD,50.00,99999999999.99\n"
        "2,2026-11-02T11:00:00Z,USD,80.00,10.00\n"
    )

    call_command("import_orders", "--store", str(store.pk), str(path))

    out, err = capsys.readouterr()
    assert "2 created, 0 updated, 0 unchanged, 0 rejected." in out
    assert err.splitlines() == [
        "order 1: refund csv capped at 50.00 USD, what remained of the order's 50.00: the "
        "store's figure was 99999999999.99"
    ]
    assert list(CommerceOrder.objects.order_by("external_id").values_list(
        "external_id", "refunded_amount")) == [("1", Decimal("50.00")), ("2", Decimal("10.00"))]  # fmt: skip
    assert Refund.objects.get(order__external_id="1").reason == (
        "[capped at 50.00: the store's figure was 99999999999.99]"
    )
