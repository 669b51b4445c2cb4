"""A store connection that cannot be wrong: each platform's address normalised or refused, secrets
checked for their shape, one connection per shop, editing and disconnecting, the health block,
and a test delivery that passes every check a real delivery of the same shop passes."""

from html import unescape

import pytest
from django.utils import timezone

from commerce.models import CommerceOrder, StoreConnection, StoreProbe
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import MembershipFactory, StoreConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db
SECRET = "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"


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """Posts the real-shaped Shopify order to the store's webhook URL, as the store does."""

    def post(store):
        body = fixture_bytes("shopify_order_create.json")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url(store), body, content_type="application/json",
                                   **shopify_headers(store, body))  # fmt: skip
        assert response.status_code == 200, response.content
        return CommerceOrder.objects.get(store=store)

    return post


def _connect(client, **fields):
    data = {"platform": "shopify", "currency": "USD", "webhook_secret": SECRET} | fields
    return client.post("/commerce/stores/", data)


@pytest.mark.parametrize(
    "typed",
    [
        "acme-shoes",
        "ACME-Shoes.myshopify.com",
        "https://acme-shoes.myshopify.com/admin/orders",
        "https://admin.shopify.com/store/acme-shoes/orders?inContextTimeframe=none",
        " acme-shoes.myshopify.com/ ",
    ],
)
def test_a_shopify_shop_is_stored_as_its_myshopify_domain(client, workspace, typed):
    response = _connect(client, shop_domain=typed)
    assert response.status_code == 302, unescape(response.content.decode())
    store = workspace.stores.get()
    assert (store.shop_domain, store.store_url) == (
        "acme-shoes.myshopify.com",
        "https://acme-shoes.myshopify.com",
    )
    page = client.get(response["Location"]).content.decode()
    assert "<code>acme-shoes.myshopify.com</code>" in page
    assert (
        "<code>acme-shoes.myshopify.com</code>" in client.get("/commerce/stores/").content.decode()
    )


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("acme shoes", "has no spaces"),
        ("shop.example", "is not a Shopify shop"),
        ("https://evil.example/store/acme", "is not a Shopify shop"),
        ("https://admin.shopify.com/settings", "is not a shop handle"),
        ("-acme.myshopify.com", "is not a shop handle"),
        ("", "required"),
    ],
)
def test_a_wrong_shopify_domain_is_refused_with_a_reason(client, workspace, typed, reason):
    response = _connect(client, shop_domain=typed)
    assert response.status_code == 400
    assert reason in unescape(response.content.decode())
    assert not StoreConnection.objects.exists()


def test_a_secret_that_cannot_be_the_stores_is_refused(client, workspace):
    for secret, reason in (
        ("x", "too short"),
        ("shpss abc def 0123456789", "no spaces"),
        ("", "Paste"),
    ):
        response = _connect(client, shop_domain="acme-shoes", webhook_secret=secret)
        assert response.status_code == 400
        assert reason in unescape(response.content.decode())
    assert not StoreConnection.objects.exists()


def test_woocommerce_needs_https_unless_private_addresses_are_allowed(client, workspace, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    woo = {"platform": "woocommerce", "webhook_secret": "wc-secret-0123456789"}
    refused = _connect(client, shop_domain="http://shop.example", **woo)
    assert refused.status_code == 400 and "must start with https://" in refused.content.decode()
    refused = _connect(client, shop_domain="https://user:pw@shop.example/?x=1", **woo)
    assert refused.status_code == 400
    assert _connect(client, shop_domain="www.Shop.example/store/", **woo).status_code == 302
    store = workspace.stores.get()
    assert (store.shop_domain, store.store_url) == (
        "shop.example",
        "https://www.shop.example/store",
    )
    settings.OUTBOUND_ALLOW_PRIVATE = True
    assert _connect(client, shop_domain="http://127.0.0.1:8123", **woo).status_code == 302


def test_connecting_the_same_shop_twice_is_refused_with_a_link_to_it(client, workspace):
    first = _connect(client, shop_domain="acme-shoes", name="Acme")
    assert first.status_code == 302
    store = workspace.stores.get()
    again = _connect(client, shop_domain="https://admin.shopify.com/store/acme-shoes")
    assert again.status_code == 400
    page = unescape(again.content.decode())
    assert "acme-shoes.myshopify.com is already connected" in page
    assert f'href="/commerce/stores/{store.pk}/"' in page
    assert workspace.stores.count() == 1


def test_api_credentials_are_checked_encrypted_and_never_shown(client, api_client, workspace):
    from django.db import connection

    refused = _connect(client, shop_domain="acme-shoes", api_key="not-a-token")
    assert refused.status_code == 400 and "shpat_" in refused.content.decode()
    token = "shpat_" + "a1" * 16
    assert _connect(client, shop_domain="acme-shoes", api_key=token).status_code == 302
    store = workspace.stores.get()
    assert store.api_key == token
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM commerce_storeconnection WHERE id = %s", [store.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("enc:") and token not in stored
    assert token not in client.get(f"/commerce/stores/{store.pk}/").content.decode()
    answer = api_client.get(f"/commerce/stores/{store.pk}").json()
    assert answer["hasApiCredentials"] is True and token not in str(answer)


def test_the_owner_edits_name_currency_and_credentials_and_the_rest_stays(
    client, workspace, deliver
):
    store = StoreConnectionFactory(workspace=workspace, currency="USD")
    before = {f.name: getattr(store, f.name) for f in StoreConnection._meta.concrete_fields}
    token = "shpat_" + "b2" * 16
    response = client.post(f"/commerce/stores/{store.pk}/",
                           {"edit": "1", "name": "Acme EU", "currency": "eur", "api_key": token})  # fmt: skip
    assert response.status_code == 302
    store.refresh_from_db()
    after = {f.name: getattr(store, f.name) for f in StoreConnection._meta.concrete_fields}
    assert after == before | {"name": "Acme EU", "currency": "EUR", "api_key": token}
    deliver(store)
    refused = client.post(f"/commerce/stores/{store.pk}/",
                          {"edit": "1", "name": "Acme EU", "currency": "USD"})  # fmt: skip
    assert refused.status_code == 400
    assert "can no longer change" in refused.content.decode()
    store.refresh_from_db()
    assert store.currency == "EUR" and store.api_key == token  # empty credentials kept


def test_disconnecting_says_what_happens_first_then_removes_the_stores_orders(
    client, workspace, deliver
):
    store = StoreConnectionFactory(workspace=workspace)
    deliver(store)
    page = client.get(f"/commerce/stores/{store.pk}/disconnect/").content.decode()
    assert "1 order</strong>" in page and "keeps your posts" in page
    assert CommerceOrder.objects.count() == 1
    response = client.post(f"/commerce/stores/{store.pk}/disconnect/")
    assert response.status_code == 302
    assert not StoreConnection.objects.exists() and not CommerceOrder.objects.exists()


def test_only_an_owner_disconnects_and_another_workspaces_store_is_404(client, workspace):
    other = StoreConnectionFactory()
    assert client.get(f"/commerce/stores/{other.pk}/disconnect/").status_code == 404
    assert client.post(f"/commerce/stores/{other.pk}/disconnect/").status_code == 404
    store = StoreConnectionFactory(workspace=workspace)
    analyst = UserFactory()
    MembershipFactory(user=analyst, workspace=workspace, role="analyst")
    client.force_login(analyst)
    assert client.post(f"/commerce/stores/{store.pk}/disconnect/").status_code == 403
    assert StoreConnection.objects.filter(pk=store.pk).exists()


def test_the_health_block_shows_real_figures_and_every_warning(client, workspace, deliver):
    store = StoreConnectionFactory(workspace=workspace)
    order = deliver(store)
    listed = client.get("/commerce/stores/").content.decode()
    page = unescape(client.get(f"/commerce/stores/{store.pk}/").content.decode())
    assert "Last order received: never" not in page
    recent = order.created_at >= timezone.now() - timezone.timedelta(days=7)
    assert f"Orders in the last 7 days: <strong>{int(recent)}</strong>" in page
    warnings = listed.count("warning")
    assert (warnings == 0) == (
        'role="alert"' not in page.split('id="health"')[1].split("</div>")[0]
    )


@pytest.mark.django_db(transaction=True)
def test_a_test_delivery_and_a_real_delivery_of_the_same_shop_are_both_accepted(
    live_server, settings
):
    from django.test import Client

    from omnisocial.services import workspace_create

    settings.PUBLIC_BASE_URL = live_server.url
    workspace = workspace_create(
        name="Acme", owner_email="o@example.com", owner_password="pw-12345678"
    )
    client = Client()
    client.login(username="o@example.com", password="pw-12345678")
    assert (
        _connect(client, shop_domain="https://admin.shopify.com/store/acme-shoes").status_code
        == 302
    )
    store = workspace.stores.get()
    client.post(f"/commerce/stores/{store.pk}/", {"test": "1"})
    probe = StoreProbe.objects.get(store=store)
    assert (probe.outcome, probe.status_code) == ("works", 200), probe.verdict
    body = fixture_bytes("shopify_order_create.json")
    real = client.post(url(store), body, content_type="application/json",
                       **shopify_headers(store, body, shop_domain="acme-shoes.myshopify.com"))  # fmt: skip
    assert real.status_code == 200, real.content
    assert CommerceOrder.objects.filter(store=store).count() == 1
