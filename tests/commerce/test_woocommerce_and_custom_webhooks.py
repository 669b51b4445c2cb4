import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from commerce import services
from commerce.models import CommerceOrder, WebhookDelivery
from tests.commerce.signing import custom_headers, fixture_bytes, url, woocommerce_headers
from tests.factories import ExchangeRateFactory, StoreConnectionFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def woo():
    ExchangeRateFactory(day=datetime(2026, 11, 21).date(), rate=Decimal("1.05"))
    return StoreConnectionFactory(
        workspace=WorkspaceFactory(), platform="woocommerce", shop_domain="shop.example.de",
        currency="EUR", webhook_secret="wc-secret-4f9a",
    )  # fmt: skip


def send_woo(store, body, **kwargs):
    return Client().post(
        url(store), body, content_type="application/json",
        **woocommerce_headers(store, body, **kwargs),
    )  # fmt: skip


def test_a_woocommerce_order_is_created_from_its_attribution_meta(
    woo, django_capture_on_commit_callbacks
):
    body = fixture_bytes("woocommerce_order_created.json")
    with django_capture_on_commit_callbacks(execute=True):
        assert send_woo(woo, body).status_code == 200
    order = CommerceOrder.objects.get()
    assert (order.external_id, order.order_number, order.currency) == ("727", "727", "EUR")
    assert order.created_at == datetime(2026, 11, 21, 15, 30, 5, tzinfo=UTC)
    assert order.total_price == Decimal("59.40")
    assert (order.subtotal, order.total_tax) == (Decimal("50.00"), Decimal("9.50"))
    assert (order.total_shipping, order.total_discounts) == (Decimal("4.90"), Decimal("5.00"))
    assert (order.financial_status, order.status) == ("processing", "open")
    assert (order.reporting_total, order.is_converted) == (Decimal("62.37"), True)
    assert (order.utm_source, order.utm_medium) == ("facebook", "social")
    assert (order.utm_campaign, order.utm_content) == ("new-arrivals", "post-8")
    assert order.referrer_url == "https://lm.facebook.com/"
    assert order.landing_page.startswith("https://shop.example.de/produkt/canvas-tote/?")
    assert (order.osc_click, order.visitor_id) == ("c_77aa01", "v_9b31d4")
    assert order.coupon_codes == ["summer20"]
    assert order.customer_key == (
        "sha256:" + __import__("hashlib").sha256(b"lena.maier@example.de").hexdigest()
    )
    assert order.is_returning_customer is False
    assert list(order.lines.values_list("variant_id", "sku", "quantity", "price")) == [
        ("", "TOTE-CNV", 2, Decimal("11.25")),
        ("23", "HAT-STRAW-N", 1, Decimal("22.50")),
    ]


def test_woocommerce_ping_answers_200_and_a_foreign_source_401(woo):
    ping = Client().post(
        url(woo), b"webhook_id=12", content_type="application/x-www-form-urlencoded"
    )
    assert ping.status_code == 200
    body = fixture_bytes("woocommerce_order_created.json")
    headers = woocommerce_headers(woo, body)
    headers["HTTP_X_WC_WEBHOOK_SOURCE"] = "https://attacker.example/"
    assert (
        Client().post(url(woo), body, content_type="application/json", **headers).status_code == 401
    )
    assert CommerceOrder.objects.count() == 0


def test_woocommerce_updates_dedupe_on_date_modified_and_refunds_are_negative(
    woo, django_capture_on_commit_callbacks
):
    payload = json.loads(fixture_bytes("woocommerce_order_created.json"))
    with django_capture_on_commit_callbacks(execute=True):
        send_woo(woo, json.dumps(payload).encode(), delivery="d-1")
        # The same event delivered again under a new delivery id changes nothing.
        send_woo(woo, json.dumps(payload).encode(), delivery="d-2")
    payload.update(
        date_modified_gmt="2026-11-25T10:00:00", status="refunded",
        refunds=[{"id": 731, "reason": "Damaged", "total": "-12.40"}],
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        send_woo(woo, json.dumps(payload).encode(), topic="order.updated", delivery="d-3")
    order = CommerceOrder.objects.get()
    assert order.refunded_amount == Decimal("12.40")
    assert order.refunds.get().created_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert order.attributable_revenue() == Decimal("49.35")  # (59.40 - 12.40) × 1.05
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == [
        "duplicate", "processed", "processed",
    ]  # fmt: skip
    payload.update(date_modified_gmt="2026-11-26T10:00:00", status="cancelled")
    with django_capture_on_commit_callbacks(execute=True):
        send_woo(woo, json.dumps(payload).encode(), topic="order.updated", delivery="d-4")
    order.refresh_from_db()
    assert (order.status, order.attributable_revenue()) == ("cancelled", Decimal("0.00"))


def test_a_custom_store_signs_with_standard_webhooks(django_capture_on_commit_callbacks):
    store = services.store_connect(
        workspace=WorkspaceFactory(), platform="custom", shop_domain="store.example.org"
    )
    assert store.webhook_secret.startswith("whsec_")
    body = fixture_bytes("custom_order_created.json")
    with django_capture_on_commit_callbacks(execute=True):
        ok = Client().post(
            url(store), body, content_type="application/json", **custom_headers(store, body)
        )
    headers = custom_headers(store, body, message_id="msg_2")
    headers["HTTP_WEBHOOK_SIGNATURE"] = "v1,bm90IGEgc2lnbmF0dXJl"
    bad = Client().post(url(store), body, content_type="application/json", **headers)
    assert (ok.status_code, bad.status_code) == (200, 401)
    order = CommerceOrder.objects.get()
    assert (order.external_id, order.order_number, order.total_price) == (
        "ord_01JD8W3", "A-1001", Decimal("64.00"),
    )  # fmt: skip
    assert (order.utm_source, order.utm_content, order.ttclid) == (
        "tiktok", "post-21", "E.C.P.abc123",
    )  # fmt: skip
    assert order.customer_key == f"{store.pk}:cus_881"
    assert order.customer_tags == ["wholesale"]
