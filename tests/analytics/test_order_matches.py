"""The order page explains how every touch was reached, from the stored journey, and the orders
list's signal (page and CSV) agrees with it: clicks recorded through GET /r/<code> by two
browsers of one buyer, orders delivered as signed Shopify webhooks. The second order carries no
click id, UTM, landing page or referrer (as the demo's order 1227): its touches are the same
customer's earlier clicks, and its signal is not "none"."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from attribution.models import AttributionTouch, Click
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import PostFactory, StoreConnectionFactory

pytestmark = pytest.mark.django_db

SHOP = "demo-boutique.myshopify.com"
HUMAN_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Instagram"


def click(browser: Client, post, at: datetime) -> str:
    with time_machine.travel(at, tick=False):
        assert browser.get(f"/r/{post.links.get().code}").status_code == 302
    return Click.objects.latest("pk").click_id


def deliver(store, n: int, at: datetime, notes: list[dict], capture) -> None:
    """Shopify's order, by customer 207119551, with only `notes` as its signals."""
    order = json.loads(fixture_bytes("shopify_order_create.json"))
    order.update(
        id=5829178700000 + n, order_number=3000 + n, name=f"#{3000 + n}",
        created_at=at.isoformat(), updated_at=at.isoformat(), processed_at=at.isoformat(),
        landing_site=None, landing_site_ref=None, referring_site=None, note_attributes=notes,
        discount_codes=[],
    )  # fmt: skip
    body = json.dumps(order).encode()
    with capture(execute=True):
        response = Client().post(url(store), body, content_type="application/json",
                                 **shopify_headers(store, body, event_id=f"evt-{n}"))  # fmt: skip
    assert response.status_code == 200


def words(response) -> str:
    return " ".join(response.content.decode().split())


def test_the_order_page_explains_each_touch_and_the_list_agrees(
    workspace, client, django_capture_on_commit_callbacks
):
    store = StoreConnectionFactory(workspace=workspace, platform="shopify", shop_domain=SHOP)
    sandals, tote, hat = (
        PostFactory(workspace=workspace, link_url=f"https://{SHOP}/products/{name}",
                    published_at=datetime(2026, 11, 1, tzinfo=UTC))
        for name in ("leather-sandals", "canvas-tote", "straw-hat")
    )  # fmt: skip
    phone, laptop = Client(HTTP_USER_AGENT=HUMAN_UA), Client(HTTP_USER_AGENT=HUMAN_UA)
    first = click(phone, sandals, datetime(2026, 11, 10, 10, tzinfo=UTC))
    carried = click(phone, tote, datetime(2026, 11, 12, 10, tzinfo=UTC))
    kept = click(laptop, hat, datetime(2026, 11, 13, 10, tzinfo=UTC))
    deliver(store, 1, datetime(2026, 11, 14, 10, tzinfo=UTC),
            [{"name": "osc_click", "value": carried},
             {"name": "osc_clicks", "value": f"{kept},{carried}"}],
            django_capture_on_commit_callbacks)  # fmt: skip
    # The same customer, days later, on a browser that carried nothing to checkout.
    deliver(store, 2, datetime(2026, 11, 16, 10, tzinfo=UTC), [],
            django_capture_on_commit_callbacks)  # fmt: skip
    one, two = (store.orders.get(order_number=n) for n in ("3001", "3002"))
    assert (two.osc_click, two.osc_clicks, two.utm_source, two.landing_page, two.referrer_url) \
        == ("", [], "", "", "")  # fmt: skip

    def stored(order):
        return list(AttributionTouch.objects.filter(order=order).order_by("position")
                    .values_list("matched_value", "reached"))  # fmt: skip

    assert stored(one) == [(first, "visitor"), (carried, "cookie"), (kept, "kept")]
    assert stored(two) == [(first, "customer"), (carried, "customer")]

    sentences = {
        "cookie": "the click id this visitor's browser carried to checkout (osc_click).",
        "kept": "a click id the storefront kept for this buyer (osc_clicks).",
        "visitor": "an earlier click by the same visitor (the browser whose click id the order "
        "carried).",
        "customer": "a click by the same customer on another visit or device, linked to this "
        "buyer by an earlier order.",
    }
    for order in (one, two):
        page = words(client.get(f"/analytics/orders/{order.pk}/"))
        for value, reached in stored(order):
            assert f'data-reached="{reached}"><td colspan="9" class="small muted" data-label=' \
                   f'"How it was reached">Click {value}: {sentences[reached]}</td>' in page.replace(
                       "&#x27;", "'")  # fmt: skip
    assert f'Kept click ids</dt><dd class="small">{kept}, {carried}</dd>' in words(
        client.get(f"/analytics/orders/{one.pk}/")
    )

    listed = words(client.get("/analytics/orders/?range=all")).replace("&#x27;", "'")
    signal = '<td class="small signal" title="What brought this order its journey: the ' \
             'strongest evidence among its touches">'  # fmt: skip
    assert f"{signal}customer's earlier click</td>" in listed
    assert f"{signal}click</td>" in listed
    assert '<span class="muted">none</span>' not in listed
    rows = list(csv.DictReader(io.StringIO(
        client.get("/analytics/orders/?range=all&export=orders").getvalue().decode())))  # fmt: skip
    assert [(row["order"], row["signal"]) for row in rows] == [
        ("3002", "customer's earlier click"),
        ("3001", "click"),
    ]


def test_the_orders_api_says_the_same_signal_as_the_orders_page_and_csv(api, client, shop):
    """GET /commerce/orders carries each order's `signal`, read by the one function the orders
    page and its CSV use, from the same stored touches."""
    import csv
    import io

    listed = api.get("/commerce/orders?from=2026-11-01&to=2026-11-30").json()["results"]
    by_api = {o["orderNumber"]: o["signal"] for o in listed}
    exported = client.get("/analytics/orders/?from=2026-11-01&to=2026-11-30&export=orders")
    rows = list(csv.DictReader(io.StringIO(exported.getvalue().decode())))
    by_csv = {r["order"]: r["signal"] for r in rows}
    assert by_api == by_csv
    assert sorted(by_api.values()) == ["coupon tiktok10", "none", "utm_content post-17"]
