import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from commerce import services, signals
from commerce.models import CommerceOrder, Refund, WebhookDelivery
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import ExchangeRateFactory, StoreConnectionFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreConnectionFactory(workspace=WorkspaceFactory(reporting_currency="USD"))


@pytest.fixture
def shop():
    return Client()


def deliver(shop, store, body, **kwargs):
    return shop.post(
        url(store), body, content_type="application/json", **shopify_headers(store, body, **kwargs)
    )


def test_a_signed_order_creates_the_order_with_every_field(
    shop, store, django_capture_on_commit_callbacks
):
    body = fixture_bytes("shopify_order_create.json")
    recorded = []

    def record(**kw):
        recorded.append(kw["order"].external_id)

    # Disconnect only this receiver: the attribution app's own receivers must stay connected.
    signals.order_recorded.connect(record, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(shop, store, body)
    finally:
        signals.order_recorded.disconnect(record)

    assert response.status_code == 200
    order = CommerceOrder.objects.get()
    assert recorded == ["5829178638423"]
    assert order.workspace_id == store.workspace_id
    assert (order.external_id, order.order_number) == ("5829178638423", "1042")
    assert order.created_at == datetime(2026, 11, 20, 15, 15, 42, tzinfo=UTC)
    assert order.updated_at_source == datetime(2026, 11, 20, 15, 15, 44, tzinfo=UTC)
    # Plain amounts are the shop's currency; the buyer paid in the presentment currency.
    assert (order.currency, order.presentment_currency) == ("USD", "CAD")
    assert order.total_price == Decimal("117.50")
    assert order.subtotal == Decimal("100.00")
    assert order.total_tax == Decimal("7.50")
    assert order.total_shipping == Decimal("10.00")
    assert order.total_discounts == Decimal("20.00")
    assert order.refunded_amount == Decimal("0.00")
    assert (order.financial_status, order.status, order.cancelled_at) == ("paid", "open", None)
    assert order.reporting_total == Decimal("117.50") and order.is_converted
    assert order.utm_source == "instagram"
    assert order.utm_medium == "social"
    assert order.utm_campaign == "summer sale"
    assert order.utm_content == "post-17"
    assert order.utm_term == "linen"
    assert order.referrer_url == "https://l.instagram.com/"
    assert order.landing_page.startswith(
        "https://demo-boutique.myshopify.com/products/linen-shirt?"
    )
    assert order.osc_click == "c_8f2a61d0"
    assert order.fbclid == "IwAR2xYz"
    assert (order.gclid, order.ttclid) == ("", "")
    assert order.visitor_id == "v_51c0e7"
    assert order.coupon_codes == ["summer20"]
    assert order.customer_key == f"{store.pk}:207119551"
    assert order.is_returning_customer is True
    assert order.customer_tags == ["VIP", "newsletter"]
    lines = list(
        order.lines.values_list("product_id", "variant_id", "sku", "title", "quantity", "price")
    )
    assert lines == [
        ("8061536829755", "44526701592891", "LS-M-SAND", "Linen Shirt", 2, Decimal("45.00")),
        ("8061536862523", "44526701625659", "SCARF-01", "Silk Scarf", 1, Decimal("30.00")),
    ]
    assert order.attributable_revenue() == Decimal("117.50")
    assert order.attributable_revenue("net") == Decimal("100.00")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.verified, delivery.topic) == (
        "processed",
        True,
        "orders/create",
    )
    assert delivery.event_key == "event:evt-1"
    assert bytes(delivery.raw_body) == body
    assert (
        b"Jane.Doe"
        not in json.dumps(
            list(CommerceOrder.objects.values("customer_key", "customer_tags"))
        ).encode()
    )


def test_wrong_or_missing_signature_answers_401_and_creates_no_order(shop, store):
    body = fixture_bytes("shopify_order_create.json")
    wrong = shop.post(
        url(store), body, content_type="application/json",
        **shopify_headers(store, body, secret="not-the-secret"),
    )  # fmt: skip
    headers = shopify_headers(store, body)
    del headers["HTTP_X_SHOPIFY_HMAC_SHA256"]
    missing = shop.post(url(store), body, content_type="application/json", **headers)
    tampered = shop.post(
        url(store), body.replace(b'"117.50"', b'"1.00"'), content_type="application/json",
        **shopify_headers(store, body),
    )  # fmt: skip

    assert (wrong.status_code, missing.status_code, tampered.status_code) == (401, 401, 401)
    assert CommerceOrder.objects.count() == 0
    assert set(WebhookDelivery.objects.values_list("verified", "status")) == {(False, "rejected")}


def test_malformed_json_answers_400(shop, store):
    body = b'{"id": 1, "total_price": '
    assert deliver(shop, store, body).status_code == 400
    assert CommerceOrder.objects.count() == 0


def test_a_body_over_the_limit_answers_413(shop, store, settings):
    settings.COMMERCE_WEBHOOK_MAX_BYTES = 1000
    body = fixture_bytes("shopify_order_create.json")
    assert deliver(shop, store, body).status_code == 413
    assert WebhookDelivery.objects.count() == 0


def test_unknown_store_or_wrong_platform_answers_404(shop, store):
    body = fixture_bytes("shopify_order_create.json")
    headers = shopify_headers(store, body)
    missing = shop.post(
        f"/commerce/stores/{store.pk + 1000}/webhooks/shopify", body,
        content_type="application/json", **headers,
    )  # fmt: skip
    other_platform = shop.post(
        f"/commerce/stores/{store.pk}/webhooks/woocommerce", body,
        content_type="application/json", **headers,
    )  # fmt: skip
    assert (missing.status_code, other_platform.status_code) == (404, 404)


def test_a_shop_domain_mismatch_answers_401(shop, store):
    body = fixture_bytes("shopify_order_create.json")
    assert deliver(shop, store, body, shop_domain="someone-else.myshopify.com").status_code == 401
    assert CommerceOrder.objects.count() == 0


@pytest.mark.parametrize("suffix", ["", "/"])
def test_webhook_urls_never_redirect_under_production_settings(store, settings, suffix):
    settings.SECURE_SSL_REDIRECT = True
    settings.APPEND_SLASH = True
    settings.DEBUG = False
    shop = Client()
    body = fixture_bytes("shopify_order_create.json")
    response = shop.post(
        url(store) + suffix, body, content_type="application/json",
        **shopify_headers(store, body),
    )  # fmt: skip
    unsigned = shop.post(url(store) + suffix, b"{}", content_type="application/json")
    unknown = shop.post(f"/commerce/stores/{store.pk}/webhooks{suffix}", b"{}",
                        content_type="application/json")  # fmt: skip
    assert response.status_code == 200
    assert unsigned.status_code == 401
    assert unknown.status_code == 404
    # Pages are still redirected to HTTPS.
    assert shop.get("/posts/").status_code == 301


def test_the_same_delivery_twice_leaves_one_order(shop, store, django_capture_on_commit_callbacks):
    body = fixture_bytes("shopify_order_create.json")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(shop, store, body).status_code == 200
        assert deliver(shop, store, body).status_code == 200
    assert CommerceOrder.objects.count() == 1
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == [
        "duplicate", "processed",
    ]  # fmt: skip


def _version(**changes) -> bytes:
    payload = json.loads(fixture_bytes("shopify_order_create.json"))
    payload.update(changes)
    return json.dumps(payload).encode()


def test_updates_refunds_and_cancellation_update_the_same_order(
    shop, store, django_capture_on_commit_callbacks
):
    def send(body, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(shop, store, body, **kwargs).status_code == 200

    changed = []

    def record(**kw):
        changed.append(kw["order"].pk)

    signals.order_changed.connect(record, weak=False)
    refund = json.loads(fixture_bytes("shopify_refund_create.json"))
    try:
        send(fixture_bytes("shopify_order_create.json"))
        # The update that reflects the refund arrives before refunds/create.
        send(
            _version(updated_at="2026-11-23T14:02:15-05:00", refunds=[refund],
                     financial_status="partially_refunded"),
            topic="orders/updated", event_id="evt-2",
        )  # fmt: skip
        send(fixture_bytes("shopify_refund_create.json"), topic="refunds/create", event_id="evt-3")
        # An older version arriving late never overwrites the newer one.
        send(
            _version(updated_at="2026-11-21T09:00:00-05:00", total_price="1.00"),
            topic="orders/updated", event_id="evt-4",
        )  # fmt: skip
        order = CommerceOrder.objects.get()
        assert order.refunded_amount == Decimal("30.00")
        assert order.total_price == Decimal("117.50")
        assert order.financial_status == "partially_refunded"
        assert order.attributable_revenue() == Decimal("87.50")
        # Cancelled: known by cancelled_at whatever its totals still say.
        send(
            _version(updated_at="2026-11-24T08:00:00-05:00",
                     cancelled_at="2026-11-24T08:00:00-05:00", refunds=[refund]),
            topic="orders/cancelled", event_id="evt-5",
        )  # fmt: skip
    finally:
        signals.order_changed.disconnect(record)
    order = CommerceOrder.objects.get()
    assert order.status == "cancelled"
    assert order.cancelled_at == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    assert order.total_price == Decimal("117.50")
    assert order.attributable_revenue() == Decimal("0.00")
    assert list(Refund.objects.values_list("external_id", "amount", "created_at")) == [
        ("929361463", Decimal("30.00"), datetime(2026, 11, 23, 19, 2, 11, tzinfo=UTC))
    ]
    assert changed == [order.pk, order.pk]


def test_a_refund_before_its_order_waits_and_is_recorded_once_the_order_arrives(
    shop, store, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deliver(
            shop, store, fixture_bytes("shopify_refund_create.json"),
            topic="refunds/create", event_id="evt-9",
        )  # fmt: skip
    assert WebhookDelivery.objects.get().status == "waiting"
    with django_capture_on_commit_callbacks(execute=True):
        deliver(shop, store, fixture_bytes("shopify_order_create.json"))
    assert CommerceOrder.objects.get().refunded_amount == Decimal("30.00")
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == [
        "processed", "processed",
    ]  # fmt: skip


def test_unhandled_topics_are_stored_and_answered_200(
    shop, store, django_capture_on_commit_callbacks
):
    body = b'{"id": 1, "domain": "demo-boutique.myshopify.com"}'
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(shop, store, body, topic="shop/update", event_id="evt-x")
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().status == "ignored"


def test_a_failure_stays_in_the_inbox_and_a_replay_after_the_fix_creates_the_order(
    shop, store, monkeypatch, django_capture_on_commit_callbacks
):
    from commerce.platforms import shopify

    real = shopify.order_from_payload

    def broken(payload):
        raise RuntimeError("adapter bug")

    monkeypatch.setattr(shopify, "order_from_payload", broken)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(shop, store, fixture_bytes("shopify_order_create.json")).status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.error) == (
        "failed", 1, "RuntimeError: adapter bug",
    )  # fmt: skip
    assert CommerceOrder.objects.count() == 0

    monkeypatch.setattr(shopify, "order_from_payload", real)
    from django.core.management import call_command

    call_command("replay_deliveries", "--store", str(store.pk))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("processed", 2, "")
    assert CommerceOrder.objects.get().total_price == Decimal("117.50")


def test_a_rotated_secret_keeps_the_previous_one_valid_for_the_grace_period(shop, store):
    old = store.webhook_secret
    store = services.store_secret_rotate(store=store, new_secret="shpss_new_0123456789abcdef")
    body = fixture_bytes("shopify_order_create.json")
    assert deliver(shop, store, body, secret=old).status_code == 200
    assert (
        deliver(shop, store, body, secret="shpss_new_0123456789abcdef", event_id="e2").status_code
        == 200
    )
    store.previous_secret_expires_at = datetime(2020, 1, 1, tzinfo=UTC)
    store.save()
    assert deliver(shop, store, body, secret=old, event_id="e3").status_code == 401


def test_an_order_in_another_currency_is_converted_or_flagged(
    shop, store, django_capture_on_commit_callbacks
):
    ExchangeRateFactory(day=datetime(2026, 11, 18).date(), from_currency="EUR", to_currency="USD",
                        rate=Decimal("1.08"))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        deliver(shop, store, _version(currency="EUR"), event_id="eur")
        jpy_total = {
            "shop_money": {"amount": "12000", "currency_code": "JPY"},
            "presentment_money": {"amount": "12000", "currency_code": "JPY"},
        }
        deliver(
            shop,
            store,
            _version(id=2, currency="JPY", total_price="12000", total_price_set=jpy_total),
            event_id="jpy",
        )
    eur = CommerceOrder.objects.get(currency="EUR")
    jpy = CommerceOrder.objects.get(currency="JPY")
    assert (eur.reporting_total, eur.is_converted) == (Decimal("126.90"), True)
    assert eur.attributable_revenue() == Decimal("126.90")
    assert (jpy.reporting_total, jpy.is_converted, jpy.attributable_revenue()) == (
        None,
        False,
        None,
    )

    services.exchange_rates_load(
        rates=[(datetime(2026, 11, 20).date(), "JPY", "USD", Decimal("0.0067"))]
    )
    jpy.refresh_from_db()
    assert (jpy.reporting_total, jpy.is_converted) == (Decimal("80.40"), True)
