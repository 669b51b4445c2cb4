"""Figures on real-shaped deliveries equal the merchant's own (issue 27, item 8): signed webhooks
in, the figures read back through the API, live and after a full rebuild."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from attribution import engine
from attribution.models import RevenueAttribution
from attribution.services import domain_allow
from commerce import services as commerce_services
from commerce.models import CommerceOrder
from tests.attribution import test_engine
from tests.attribution.test_clicks import HUMAN_UA
from tests.attribution.test_engine import click, deliver
from tests.commerce.signing import custom_headers, fixture_bytes, url, woocommerce_headers
from tests.factories import (
    ExchangeRateFactory,
    PostFactory,
    StoreConnectionFactory,
    WorkspaceFactory,
)

# The engine tests' workspace (New York time, USD), Shopify store and posts: `a` on Instagram in
# the campaign summer-sale (reference post-17), `b` on TikTok without a campaign.
workspace, store, posts = test_engine.workspace, test_engine.store, test_engine.posts

ORDER_AT = datetime(2026, 11, 20, 15, 15, 42, tzinfo=UTC)  # the Shopify fixtures' local 10:15:42


def with_notes(fixture: str, **notes: str) -> bytes:
    """A Shopify order fixture whose note attributes (the snippet's cart attributes) say `notes`;
    the landing URL carries the last click, as the store records it."""
    payload = json.loads(fixture_bytes(fixture))
    payload["note_attributes"] = [
        item for item in payload["note_attributes"] if item["name"] not in notes
    ] + [{"name": name, "value": value} for name, value in notes.items()]
    if "osc_click" in notes:
        payload["landing_site"] = payload["landing_site"].replace("c_8f2a61d0", notes["osc_click"])
    return json.dumps(payload).encode()


def figures(api, post, *, model="last-touch", days="from=2026-11-20&to=2026-11-20") -> dict:
    """The post's revenue as every reader shows it: the dashboard's headline, its platform and
    its post row, the post's own answer, and the platform, campaign and content-type segments."""
    query = f"model={model}&{days}"
    board = api.get(f"/commerce/revenue/dashboard?{query}").json()
    own = api.get(f"/commerce/revenue/posts/{post.pk}?{query}").json()

    def segment(by, key):
        rows = api.get(f"/commerce/segments?by={by}&{query}").json()["results"]
        return {row["segment"]: row["revenue"] for row in rows}.get(key)

    return {
        "dashboard": board["totalSocialRevenue"]["value"],
        "platform": {r["platform"]: r["revenue"] for r in board["revenueByPlatform"]}.get(
            post.platform
        ),
        "post row": {r.get("postId"): r["revenue"] for r in board["revenueByPost"]}.get(post.pk),
        "post": own["totalRevenue"],
        "platform segment": segment("platform", post.platform),
        "campaign segment": segment("campaign", str(post.campaign_id or "")),
        "content type segment": segment("contentType", post.content_type),
    }


@pytest.mark.parametrize(
    ("basis", "figure"),
    [
        # Merchandise: 97.60 - 16.27 tax - (9.76 - 1.63) shipping before its tax. The shipping
        # price of a tax-inclusive order holds its 1.63 tax, which the order's tax holds too.
        ("net", "73.20"),
        ("total", "97.60"),
    ],
)
def test_8_tax_inclusive_shipping_tax_is_subtracted_once_under_merchandise(
    store, posts, api_client, django_capture_on_commit_callbacks, basis, figure
):
    a, _ = posts
    store.workspace.revenue_basis = basis
    store.workspace.save(update_fields=["revenue_basis"])
    click_id = click(Client(HTTP_USER_AGENT=HUMAN_UA), a, ORDER_AT - timedelta(hours=2))
    body = with_notes(
        "shopify_order_1043_taxes_included.json", osc_click=click_id, osc_clicks=click_id
    )
    deliver(store, body, django_capture_on_commit_callbacks)
    order = CommerceOrder.objects.get()
    # The store's own figures, in its currency (USD; the buyer saw EUR).
    assert (order.order_number, order.currency, order.presentment_currency) == (
        "1043", "USD", "EUR",
    )  # fmt: skip
    assert (order.total_price, order.total_tax, order.total_shipping, order.shipping_tax) == (
        Decimal("97.60"), Decimal("16.27"), Decimal("9.76"), Decimal("1.63"),
    )  # fmt: skip
    expected = dict.fromkeys(
        ("dashboard", "platform", "post row", "post", "platform segment", "campaign segment",
         "content type segment"),
        figure,
    )  # fmt: skip
    assert figures(api_client, a) == expected
    engine.workspace_recalculate(workspace=store.workspace)
    assert figures(api_client, a) == expected


@pytest.fixture
def woo(workspace):
    ExchangeRateFactory(day=datetime(2026, 11, 21).date(), rate=Decimal("1.05"))
    return StoreConnectionFactory(
        workspace=workspace, platform="woocommerce", shop_domain="shop.example.de",
        currency="EUR", webhook_secret="wc-secret-4f9a",
    )  # fmt: skip


def woo_order(**changes) -> dict:
    payload = json.loads(fixture_bytes("woocommerce_order_created.json"))
    payload.update(changes)
    return payload


def send_woo(store, payload: dict, capture, *, topic="order.created", delivery="d-1") -> None:
    body = json.dumps(payload).encode()
    with capture(execute=True):
        response = Client().post(
            url(store), body, content_type="application/json",
            **woocommerce_headers(store, body, topic=topic, delivery=delivery),
        )  # fmt: skip
    assert response.status_code == 200


def test_8_a_full_refund_without_line_items_returns_all_the_orders_units(
    woo, api_client, django_capture_on_commit_callbacks
):
    """WooCommerce lists an order's refunds as `{id, reason, total}`: no line items, so no units
    returned by item. A refund that takes the whole order returns all of its units."""
    post = PostFactory(workspace=woo.workspace, reference="post-8", platform="facebook",
                       link_url="https://shop.example.de/produkt/canvas-tote/")  # fmt: skip
    capture = django_capture_on_commit_callbacks
    send_woo(woo, woo_order(), capture)  # #727: 2 totes and a hat, 59.40 EUR
    hat = woo_order()["line_items"][1]
    send_woo(woo, woo_order(
        id=728, number="728", order_key="wc_order_5a1c93e0f7b", discount_total="0.00",
        shipping_total="4.90", cart_tax="4.75", total_tax="4.75", total="34.65",
        line_items=[{**hat, "id": 320, "subtotal": "25.00", "subtotal_tax": "4.75",
                     "total": "25.00", "total_tax": "4.75", "price": 25}],
        coupon_lines=[],
    ), capture, delivery="d-2")  # fmt: skip

    def units_and_revenue():
        query = "model=last-touch&from=2026-11-21&to=2026-11-30"
        own = api_client.get(f"/commerce/revenue/posts/{post.pk}?{query}").json()
        board = api_client.get(f"/commerce/revenue/dashboard?{query}").json()
        row = next(r for r in board["revenueByPost"] if r.get("postId") == post.pk)
        return own["totalUnits"], row["units"], own["totalRevenue"], own["totalOrders"]

    # 62.37 + 36.38 (59.40 and 34.65 EUR at 1.05).
    assert units_and_revenue() == ("4.00", "4.00", "98.75", "2.000000")
    # A partial refund of an amount only: which units came back is unknown, so none.
    refunded = woo_order(
        status="processing", date_modified_gmt="2026-11-22T09:00:00",
        refunds=[{"id": 731, "reason": "Strap frayed", "total": "-10.00"}],
    )  # fmt: skip
    send_woo(woo, refunded, capture, topic="order.updated", delivery="d-3")
    assert units_and_revenue() == ("4.00", "4.00", "88.25", "2.000000")
    # The rest of the order refunded: #727 sold nothing, the post sold #728's one hat.
    refunded = woo_order(
        status="refunded", date_modified_gmt="2026-11-23T09:00:00",
        refunds=[{"id": 732, "reason": "Returned", "total": "-49.40"},
                 {"id": 731, "reason": "Strap frayed", "total": "-10.00"}],
    )  # fmt: skip
    send_woo(woo, refunded, capture, topic="order.updated", delivery="d-4")
    expected = ("1.00", "1.00", "36.38", "1.000000")
    assert units_and_revenue() == expected
    order = CommerceOrder.objects.get(external_id="727")
    assert [str(row.units) for row in RevenueAttribution.objects.filter(order=order)] == [
        "0.000000"
    ] * len(woo.workspace.attribution_models)
    engine.workspace_recalculate(workspace=woo.workspace)
    assert units_and_revenue() == expected


def test_8_every_click_the_snippet_kept_is_a_touch_of_a_cookieless_visitors_order(
    store, posts, api_client, django_capture_on_commit_callbacks
):
    """A browser that keeps no cookie for the redirect gets a new visitor id on every click, so
    only the snippet's list (`osc_clicks`, kept by the store's page) ties X, Y and Z together."""
    x, y = posts
    z = PostFactory(workspace=store.workspace, platform="facebook",
                    link_url=f"https://{store.shop_domain}/products/scarf")  # fmt: skip
    other = WorkspaceFactory()
    domain_allow(workspace=other, domain=store.shop_domain)
    theirs = PostFactory(workspace=other, link_url=f"https://{store.shop_domain}/x")

    def fresh_click(post, before):
        return click(Client(HTTP_USER_AGENT=HUMAN_UA), post, ORDER_AT - before)

    too_old = fresh_click(y, timedelta(days=31))  # the workspace's lookback is 30 days
    foreign = fresh_click(theirs, timedelta(hours=4))
    kept = [fresh_click(x, timedelta(hours=3)), fresh_click(y, timedelta(hours=2)),
            fresh_click(z, timedelta(hours=1))]  # fmt: skip
    listed = ",".join([too_old, foreign, *kept])
    body = with_notes("shopify_order_create.json", osc_click=kept[-1], osc_clicks=listed)
    deliver(store, body, django_capture_on_commit_callbacks)
    order = CommerceOrder.objects.get()
    assert order.osc_clicks == [too_old, foreign, *kept]

    def credit(model):
        return [
            (row.post_id, row.matched_field, row.matched_value, str(row.revenue))
            for row in RevenueAttribution.objects.filter(order=order, attribution_model=model)
        ]

    def credited_through_the_api(model):
        days = "from=2026-11-20&to=2026-11-20"
        return [
            api_client.get(f"/commerce/revenue/posts/{post.pk}?model={model}&{days}").json()[
                "totalRevenue"
            ]
            for post in (x, y, z)
        ]

    def assert_credit():
        # 117.50 in thirds: the earliest touches take the odd cents.
        assert credit("multi-touch") == [
            (x.pk, "clickId", kept[0], "39.17"),
            (y.pk, "clickId", kept[1], "39.17"),
            (z.pk, "clickId", kept[2], "39.16"),
        ]
        assert credited_through_the_api("multi-touch") == ["39.17", "39.17", "39.16"]
        assert credited_through_the_api("first-touch") == ["117.50", "0.00", "0.00"]
        assert credited_through_the_api("last-touch") == ["0.00", "0.00", "117.50"]

    assert_credit()
    engine.workspace_recalculate(workspace=store.workspace)
    assert_credit()


def test_8_a_woocommerce_order_reads_the_kept_clicks_from_its_meta(
    store, posts, woo, django_capture_on_commit_callbacks
):
    x, y = posts
    first = click(Client(HTTP_USER_AGENT=HUMAN_UA), x, datetime(2026, 11, 21, 12, tzinfo=UTC))
    last = click(Client(HTTP_USER_AGENT=HUMAN_UA), y, datetime(2026, 11, 21, 14, tzinfo=UTC))
    payload = woo_order()
    payload["meta_data"] = [
        item for item in payload["meta_data"] if not item["key"].startswith("_wc_order_attr")
    ]
    for item in payload["meta_data"]:
        if item["key"] == "_osc_click":
            item["value"] = last
        if item["key"] == "_osc_utm_content":
            item["value"] = ""
    payload["meta_data"].append({"id": 13119, "key": "_osc_clicks", "value": f"{first},{last}"})
    send_woo(woo, payload, django_capture_on_commit_callbacks)
    order = CommerceOrder.objects.get()
    assert order.osc_clicks == [first, last]
    # 59.40 EUR at 1.05, first and last touch.
    assert [
        (row.post_id, str(row.revenue))
        for row in RevenueAttribution.objects.filter(order=order, attribution_model="first-touch")
    ] == [(x.pk, "62.37"), (y.pk, "0.00")]


def test_8_a_custom_store_sends_the_kept_clicks_as_a_list(db, django_capture_on_commit_callbacks):
    store = commerce_services.store_connect(
        workspace=WorkspaceFactory(), platform="custom", shop_domain="store.example.org"
    )
    payload = json.loads(fixture_bytes("custom_order_created.json"))
    payload["data"]["attribution"]["osc_clicks"] = [" c_0a1b2c ", "c_123abc", "", "c_0a1b2c"]
    body = json.dumps(payload).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            url(store), body, content_type="application/json", **custom_headers(store, body)
        )
    assert response.status_code == 200
    assert CommerceOrder.objects.get().osc_clicks == ["c_0a1b2c", "c_123abc"]
