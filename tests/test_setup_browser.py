"""A marketer sets up from the pages alone, in a real headless Chromium: a campaign, a post, a
second tracked link and a coupon; then a visitor follows the copied short link to the store, the
store's signed webhook brings the order, and the pages show the click and the credited order."""

import json
import urllib.request

import pytest
from django.utils import timezone

from attribution.models import Click
from commerce.models import CommerceOrder
from omnisocial.labels import post_label
from omnisocial.models import Post
from omnisocial.services import workspace_create
from tests.attribution.test_clicks import HUMAN_UA
from tests.attribution.test_track_js import LocalStore
from tests.browser import browser  # noqa: F401 - fixture
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import AllowedDomainFactory, StoreConnectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_order(store, click_id: str) -> tuple[bytes, dict]:
    """The documented Shopify orders/create payload, placed now and carrying the click."""
    payload = json.loads(fixture_bytes("shopify_order_create.json"))
    for attribute in payload["note_attributes"]:
        if attribute["name"] == "osc_click":
            attribute["value"] = click_id
    payload["landing_site"] = payload["landing_site"].replace("c_8f2a61d0", click_id)
    payload["created_at"] = payload["processed_at"] = timezone.now().isoformat()
    body = json.dumps(payload).encode()
    headers = {
        name[5:].replace("_", "-").title(): value
        for name, value in shopify_headers(store, body).items()
    }
    return body, {**headers, "Content-Type": "application/json"}


@pytest.fixture
def storefront(live_server):
    """The store's pages, on loopback, with the snippet."""
    shop = LocalStore(f"{live_server.url}/static/omnisocial/track.js")
    yield shop
    shop.close()


def test_a_marketer_sets_up_from_the_pages_and_sees_the_click_and_the_order(
    live_server,
    browser,  # noqa: F811 - fixture
    storefront,
):
    workspace = workspace_create(name="Boutique", owner_email="owner@example.com",
                                 owner_password="linen-scarf-42")  # fmt: skip
    store = StoreConnectionFactory(workspace=workspace)
    # The storefront is on loopback: allowed here directly (the pages refuse IP literals).
    AllowedDomainFactory(workspace=workspace, domain="127.0.0.1")
    shop = storefront.url
    page = browser.new_page(user_agent=HUMAN_UA)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "owner@example.com")
    page.fill("input[name=password]", "linen-scarf-42")
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/revenue/")
    assert page.locator("#first-run li").count() == 4

    # A campaign, then a post in it.
    page.goto(f"{live_server.url}/campaigns/")
    page.fill("#id_name", "Autumn drop")
    page.click("#campaign-form button[type=submit]")
    assert "utm_campaign=autumn-drop" in page.locator(".messages").inner_text()
    page.goto(f"{live_server.url}/posts/")
    page.click("text=New post")
    page.select_option("#id_platform", "instagram")
    page.fill("#id_caption", "The linen scarf is back")
    page.fill("#id_link_url", f"{shop}/products/linen-scarf")
    page.select_option("#id_campaign", label="Autumn drop")
    page.click("#post-form button[type=submit]")
    page.wait_for_url("**/posts/*/")
    assert "Saved. 1 tracked link" in page.locator(".messages").inner_text()
    post = Post.objects.get(workspace=workspace)
    short = page.get_attribute("table.links button.copy", "data-copy")
    assert short.endswith(post.links.get().short_path)

    # A second link for the story, from the post page.
    page.fill("#link-url", f"{shop}/collections/autumn")
    page.fill("#link-term", "story")
    page.click("#link-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("table.links tbody tr").count() == 2
    assert "utm_term=story" in page.locator("table.links").inner_text()

    # A coupon the post distributes.
    page.goto(f"{live_server.url}/analytics/coupons/")
    page.fill("#id_code", "AUTUMN15")
    page.select_option("#id_posts", label=post_label(post, zone=post.workspace.zone))
    page.click("#coupon-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#coupons code", has_text="autumn15").count() == 1

    # A visitor follows the copied short link and lands on the store with the click.
    visitor = browser.new_page(user_agent=HUMAN_UA)
    visitor.goto(short)
    click = Click.objects.get(post=post)
    assert visitor.url.startswith(f"{shop}/products/linen-scarf?utm_source=instagram")
    assert f"osc_click={click.click_id}" in visitor.url

    # The store's signed webhook brings the order, and the pages show it credited to the post.
    body, headers = signed_order(store, click.click_id)
    request = urllib.request.Request(f"{live_server.url}{url(store)}", data=body, headers=headers)
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    order = CommerceOrder.objects.get(workspace=workspace)
    page.goto(f"{live_server.url}/analytics/orders/{order.pk}/")
    assert "The linen scarf is back" in page.locator("main").inner_text()
    assert page.locator(f"main a[href^='/analytics/posts/{post.pk}/']").count() >= 1
    page.goto(f"{live_server.url}/posts/{post.pk}/")
    clicks = page.locator("table.links tbody tr").first.locator("td.num").first.inner_text()
    assert clicks == "1"
    page.goto(f"{live_server.url}/analytics/revenue/")
    assert page.locator("#first-run").count() == 0
