"""The store page's test delivery, in a real headless Chromium against the live server: the
signed event goes over HTTP to the store's webhook URL, is verified with the stored secret, and
shows in the inbox as a test that created no order. Each platform's signing is checked too."""

import pytest

from commerce import probe
from commerce.models import CommerceOrder, WebhookDelivery
from omnisocial.services import workspace_create
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import StoreConnectionFactory
from tests.reliability.conftest import closed_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_owner_sends_a_test_delivery_and_reads_its_verdict(live_server, browser, settings):  # noqa: F811
    settings.PUBLIC_BASE_URL = live_server.url
    workspace = workspace_create(name="Boutique", owner_email="owner@example.com",
                                 owner_password="linen-scarf-42")  # fmt: skip
    store = StoreConnectionFactory(workspace=workspace)
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "owner@example.com")
    page.fill("input[name=password]", "linen-scarf-42")
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/revenue/")
    page.goto(f"{live_server.url}/commerce/stores/{store.pk}/")
    with page.expect_navigation():
        page.click("#test-delivery button")
    assert "verified with the store's secret" in page.locator("#probe").inner_text()
    row = page.locator("table.data tr", has_text="omnisocial/test")
    assert row.count() == 1
    assert "yes" in row.inner_text() and "Ignored" in row.inner_text()
    delivery = WebhookDelivery.objects.get(store=store)
    assert (delivery.verified, delivery.status, delivery.topic) == (
        True,
        "ignored",
        "omnisocial/test",
    )
    assert not CommerceOrder.objects.exists()


@pytest.mark.parametrize("platform", ["shopify", "woocommerce", "custom"])
def test_each_platforms_test_delivery_verifies_and_a_dead_url_says_why(live_server, platform):
    store = StoreConnectionFactory(platform=platform, shop_domain="shop.example",
                                   webhook_secret="whsec_" + "A" * 32)  # fmt: skip
    url = f"{live_server.url}/commerce/stores/{store.pk}/webhooks/{platform}"
    result = probe.probe_send(store=store, url=url)
    assert result.status_code == 200, result
    assert (result.delivery.verified, result.delivery.status) == (True, "ignored")
    dead = probe.probe_send(store=store, url=f"http://127.0.0.1:{closed_port()}/hook")
    assert (dead.status_code, dead.delivery) == (None, None)
    assert "refused" in dead.error.lower()
