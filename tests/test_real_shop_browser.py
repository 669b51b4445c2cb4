"""A real shop brings its data in from the browser, in a real headless Chromium against the live
server: a fresh install's first run makes the owner and the workspace, an invited analyst joins
through the link, a wrong Shopify domain is refused and the right one accepted, the shop's order
history comes in from its Admin API (a local fake answering as Shopify documents) with its
progress on the store page, the dashboard shows the imported revenue, and a test delivery and a
real-shaped delivery of the same shop are both accepted."""

import json
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce.models import CommerceOrder, StoreImport, StoreProbe
from omnisocial.models import Membership, Post, Workspace
from omnisocial.services import post_save
from tests.browser import browser  # noqa: F401 - fixture
from tests.commerce.signing import fixture_bytes, hmac_b64
from tests.fakes import shopify as fake_shopify

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "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"
DESKTOP = {"width": 1440, "height": 900}


def test_a_new_shop_brings_its_history_and_deliveries_in_from_the_browser(
    live_server,
    browser,  # noqa: F811 - fixture
    settings,
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.PUBLIC_BASE_URL = live_server.url
    now = timezone.now().replace(microsecond=0)
    owner = browser.new_page(viewport=DESKTOP)

    # First run: the owner and the workspace.
    owner.goto(f"{live_server.url}/")
    owner.fill("#id_email", "owner@acme.example")
    owner.fill("#id_password1", "linen-scarf-42")
    owner.fill("#id_password2", "linen-scarf-42")
    owner.fill("#id_workspace_name", "Acme Shoes")
    owner.fill("#id_reporting_currency", "usd")
    owner.select_option("#id_time_zone", "UTC")
    owner.click("#welcome-form button[type=submit]")
    owner.wait_for_url("**/analytics/revenue/")
    workspace = Workspace.objects.get()

    # An analyst invited from Settings › Members joins through the link.
    owner.goto(f"{live_server.url}/settings/members/")
    owner.fill("#id_email", "ana@acme.example")
    owner.select_option("#id_role", "analyst")
    owner.click("#invite-form button[type=submit]")
    owner.wait_for_load_state()
    link = owner.locator("#invitation-link").inner_text()
    analyst = browser.new_context(viewport=DESKTOP).new_page()
    analyst.goto(link)
    analyst.fill("#id_password1", "sea-glass-2027")
    analyst.fill("#id_password2", "sea-glass-2027")
    analyst.click("#invitation-form button[type=submit]")
    analyst.wait_for_url("**/analytics/revenue/")
    assert Membership.objects.get(user__username="ana@acme.example").role == "analyst"

    # A post whose links the shop's orders carry (utm_content = its reference).
    post = post_save(workspace=workspace, platform="instagram", reference="ig-sandals",
                     caption="Sandals for the summer", published_at=now - timedelta(days=20))  # fmt: skip
    assert Post.objects.get(pk=post.pk).reference == "ig-sandals"

    with fake_shopify.FakeShopifyAdmin() as shop:
        settings.SHOPIFY_ADMIN_URL = shop.admin_url
        utm = {"source": "ig", "medium": "social", "content": "ig-sandals"}
        shop.orders = [
            fake_shopify.order(1, created_at=now - timedelta(days=5), total="80.00", utm=utm),
            fake_shopify.order(2, created_at=now - timedelta(days=3), total="45.50", utm=utm),
            fake_shopify.order(3, created_at=now - timedelta(days=2), total="19.99"),
        ]

        # A wrong domain is refused with the reason; the admin URL of the shop is accepted.
        owner.goto(f"{live_server.url}/commerce/stores/")
        owner.select_option("#platform", "shopify")
        owner.fill("#shop_domain", "acme shoes")
        owner.fill("#webhook_secret", SECRET)
        owner.click("#connect-store button[type=submit]")
        owner.wait_for_load_state()
        assert "has no spaces" in owner.locator("#shop_domain-error").inner_text()
        assert not workspace.stores.exists()
        owner.fill("#shop_domain", "https://admin.shopify.com/store/acme-shoes/orders")
        owner.fill("#webhook_secret", SECRET)
        owner.click("#connect-store summary")
        owner.fill("#api_key", fake_shopify.TOKEN)
        owner.click("#connect-store button[type=submit]")
        owner.wait_for_url("**/commerce/stores/*/")
        store = workspace.stores.get()
        assert store.shop_domain == "acme-shoes.myshopify.com"
        assert "acme-shoes.myshopify.com" in owner.locator("main").inner_text()

        # The order history from the shop's Admin API, its progress on the store page.
        owner.fill("#days", "30")
        owner.click("#import-form button[type=submit]")
        owner.wait_for_url("**/commerce/stores/*/#import")
        progress = owner.locator("#import-progress").inner_text()
        assert "done: 3 of 3 orders read (3 new, 0 updated)" in progress, progress
        assert StoreImport.objects.get(store=store).status == "done"
        assert shop.seen[0].headers["X-Shopify-Access-Token"] == fake_shopify.TOKEN

    # The dashboard shows the imported revenue the post earned.
    owner.goto(f"{live_server.url}/analytics/revenue/?range=30d")
    headline = owner.locator(".card.metric").first.inner_text()
    assert "125.50" in headline, headline
    assert CommerceOrder.objects.filter(store=store).count() == 3

    # A test delivery, then a real-shaped delivery of the same shop: both accepted.
    owner.goto(f"{live_server.url}/commerce/stores/{store.pk}/")
    owner.click("#test-delivery button")
    owner.wait_for_url("**/commerce/stores/*/#probe")
    assert "it works" in owner.locator("#probe").inner_text()
    assert StoreProbe.objects.get(store=store).outcome == "works"
    body = fixture_bytes("shopify_order_create.json")
    request = urllib.request.Request(
        f"{live_server.url}/commerce/stores/{store.pk}/webhooks/shopify", data=body,
        method="POST", headers={
            "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": hmac_b64(SECRET, body),
            "X-Shopify-Shop-Domain": "acme-shoes.myshopify.com",
            "X-Shopify-Event-Id": "evt-real-1", "X-Shopify-Webhook-Id": "wh-real-1",
        },
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    external = str(json.loads(body)["id"])
    order = CommerceOrder.objects.get(store=store, external_id=external)
    assert order.total_price == Decimal(json.loads(body)["total_price"])
