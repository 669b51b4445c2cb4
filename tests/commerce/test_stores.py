from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce import services
from commerce.attribution_values import Attribution, OrderData
from commerce.models import StoreConnection, WebhookDelivery
from tests.factories import StoreConnectionFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_connecting_a_store_through_the_api_shows_its_webhook_url_and_snippet(
    api_client, workspace
):
    response = api_client.post(
        "/commerce/stores",
        {
            "platform": "shopify",
            "shopDomain": "https://Acme.myshopify.com/",
            "webhookSecret": "shpss_0f3c9a8e7d6b5a4c3b2a1f0e",
        },
        format="json",
    )
    assert response.status_code == 201
    store = StoreConnection.objects.get()
    assert (store.workspace, store.shop_domain, store.currency) == (
        workspace, "acme.myshopify.com", "USD",
    )  # fmt: skip
    body = response.json()
    assert body["webhookUrl"] == f"http://testserver/commerce/stores/{store.pk}/webhooks/shopify"
    assert "omnisocial/track.js" in body["snippet"]
    assert "webhookSecret" not in body
    assert body["health"]["warnings"] == [
        "No delivery received yet: add the webhook URL to the store."
    ]
    listed = api_client.get("/commerce/stores").json()["results"]
    assert [s["shopDomain"] for s in listed] == ["acme.myshopify.com"]


def test_another_workspaces_store_answers_404(api_client, client, workspace):
    theirs = StoreConnectionFactory(
        workspace=WorkspaceFactory(), shop_domain="secret.example", name="Their Secret Shop"
    )
    mine = StoreConnectionFactory(workspace=workspace)
    assert api_client.get(f"/commerce/stores/{mine.pk}").status_code == 200
    assert api_client.get(f"/commerce/stores/{theirs.pk}").status_code == 404
    assert api_client.post(f"/commerce/stores/{theirs.pk}/rotate-secret", {}).status_code == 404
    assert client.get(f"/commerce/stores/{theirs.pk}/").status_code == 404
    page = client.get("/commerce/stores/")
    assert page.status_code == 200
    assert b"Their Secret Shop" not in page.content
    assert b"Demo Boutique" in page.content
    assert [s["id"] for s in api_client.get("/commerce/stores").json()["results"]] == [mine.pk]


def _order(n: int, when, **attribution) -> OrderData:
    return OrderData(
        external_id=str(n), order_number=str(n), created_at=when, updated_at=when,
        currency="USD", total_price=Decimal("10.00"), attribution=Attribution(**attribution),
    )  # fmt: skip


def test_utm_health_warns_when_orders_arrive_without_signals_and_when_deliveries_stop(
    client, workspace
):
    store = StoreConnectionFactory(workspace=workspace)
    now = timezone.now()
    services.order_import(
        store=store,
        orders=[_order(1, now - timedelta(days=1)), _order(2, now - timedelta(days=2))],
    )
    for hours in (30, 31, 32):
        WebhookDelivery.objects.create(
            store=store, raw_body=b"{}", verified=True, received_at=now - timedelta(hours=hours)
        )
    health = client.get(f"/commerce/stores/{store.pk}/")
    assert health.status_code == 200
    api = client.get(f"/commerce/stores/{store.pk}").json()["health"]
    assert (api["ordersLast7Days"], api["ordersWithSignal"], api["signalShare"]) == (2, 0, 0.0)
    assert api["usualGapSeconds"] == 3600.0
    assert [w.split(":")[0] for w in api["warnings"]] == [
        "Orders arrive but none carries a UTM, click id or coupon",
        "No delivery for 30 hours, longer than this store's usual gap",
    ]

    services.order_import(store=store, orders=[_order(3, now, utm_content="post-1")])
    WebhookDelivery.objects.create(store=store, raw_body=b"{}", verified=True, received_at=now)
    api = client.get(f"/commerce/stores/{store.pk}").json()["health"]
    assert (api["ordersWithSignal"], api["signalShare"], api["warnings"]) == (1, 0.3333, [])


def test_imported_orders_show_a_store_works_until_they_stop_arriving(client, workspace):
    store = StoreConnectionFactory(workspace=workspace)
    assert client.get(f"/commerce/stores/{store.pk}").json()["health"]["warnings"] == [
        "No delivery received yet: add the webhook URL to the store."
    ]
    now = timezone.now()
    services.order_import(store=store, orders=[_order(1, now, utm_content="post-1")])

    assert client.get(f"/commerce/stores/{store.pk}").json()["health"]["warnings"] == []
    page = client.get("/analytics/revenue/")
    assert b"No delivery received yet" not in page.content

    store.orders.update(recorded_at=now - timedelta(days=3))
    assert client.get(f"/commerce/stores/{store.pk}").json()["health"]["warnings"] == [
        "No delivery for 3 days, longer than this store's usual gap: the store may have "
        "disabled the webhook after failed deliveries."
    ]
    assert b"No delivery for 3 days" in client.get("/analytics/revenue/").content


def test_the_store_page_gives_what_to_paste_and_its_owner_rotates_the_secret():
    from django.test import Client

    from omnisocial.models import Membership
    from tests.analytics.conftest import order_record
    from tests.factories import MembershipFactory

    store = services.store_connect(workspace=WorkspaceFactory(), platform="custom",
                                   shop_domain="shop.example")  # fmt: skip
    order = order_record(store, 1, at=timezone.now(), total="12.00")
    clients = {}
    for role in (Membership.Role.OWNER, Membership.Role.ANALYST):
        clients[role] = Client()
        clients[role].force_login(MembershipFactory(workspace=store.workspace, role=role).user)
    page = f"/commerce/stores/{store.pk}/"

    shown = clients[Membership.Role.OWNER].get(page).content.decode()
    assert store.webhook_secret not in shown  # a stored secret is never shown again
    assert f'data-copy="http://testserver/commerce/stores/{store.pk}/webhooks/custom"' in shown
    assert f'href="/analytics/orders/{order.pk}/"' in shown
    assert 'id="rotate-secret"' in shown
    # Below the owner: no rotation, and a refused one.
    assert 'id="rotate-secret"' not in clients[Membership.Role.ANALYST].get(page).content.decode()
    assert clients[Membership.Role.ANALYST].post(page).status_code == 403

    old = store.webhook_secret
    rotated = clients[Membership.Role.OWNER].post(page)
    store.refresh_from_db()
    assert store.webhook_secret.startswith("whsec_") and store.webhook_secret != old
    assert store.previous_webhook_secret == old
    # The new secret is on this answer, once; the next visit does not show it.
    assert rotated.status_code == 200
    assert f'data-copy="{store.webhook_secret}"' in rotated.content.decode()
    assert "Secret rotated" in rotated.content.decode()
    assert store.webhook_secret not in clients[Membership.Role.OWNER].get(page).content.decode()


def test_a_custom_store_connected_from_the_page_shows_its_generated_secret_once(client):
    from omnisocial.models import Membership
    from tests.factories import MembershipFactory

    workspace = WorkspaceFactory()
    client.force_login(MembershipFactory(workspace=workspace, role=Membership.Role.OWNER).user)
    answer = client.post("/commerce/stores/", {"platform": "custom", "shop_domain": "shop.example",
                                               "currency": "EUR"})  # fmt: skip
    store = StoreConnection.objects.get(workspace=workspace)
    assert answer.status_code == 200
    assert f'data-copy="{store.webhook_secret}"' in answer.content.decode()
    assert store.webhook_secret not in client.get(f"/commerce/stores/{store.pk}/").content.decode()


def test_deleting_a_store_deletes_its_inbox_though_the_key_has_no_constraint():
    from django.test import Client

    from tests.commerce.signing import shopify_headers, url

    store, other = (
        StoreConnectionFactory(),
        StoreConnectionFactory(shop_domain="other.myshopify.com"),
    )
    for shop in (store, other):
        body = b'{"id": 1, "name": "#1"}'
        response = Client().post(url(shop), body, content_type="application/json",
                                 **shopify_headers(shop, body))  # fmt: skip
        assert response.status_code in (200, 202)
    assert WebhookDelivery.objects.filter(store=store).count() == 1
    store.delete()
    assert list(WebhookDelivery.objects.values_list("store_id", flat=True)) == [other.pk]
