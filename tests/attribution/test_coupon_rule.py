"""The coupon rule, through signed Shopify deliveries: among the posts that distribute a code,
those whose tracked link points at a product in the order's lines; none, then every one of
them. First touch then takes the earliest published, last touch the latest (ties by id), and
the other models share the candidates as touches at one instant. Figures are read back
through GET /commerce/orders, and the order page says why each coupon touch went where."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from attribution.models import AttributionTouch
from commerce import services as commerce_services
from tests.analytics.conftest import key_client
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import PostFactory, StoreConnectionFactory

pytestmark = pytest.mark.django_db

SHOP = "demo-boutique.myshopify.com"
ORDER_AT = datetime(2026, 11, 20, 15, 15, 42, tzinfo=UTC)
MODELS = ["first-touch", "last-touch", "multi-touch", "position-based", "time-decay",
          "data-driven"]  # fmt: skip
SANDALS = {"title": "Leather Sandals", "name": "Leather Sandals - 38", "sku": "SANDALS-38",
           "product_id": 8061536900001, "variant_id": 44526701700001}  # fmt: skip
SCARF = {"title": "Silk Scarf", "name": "Silk Scarf", "sku": "SCARF-01",
         "product_id": 8061536862523, "variant_id": 44526701625659}  # fmt: skip


def shopify_order(n: int, line: dict, *, at=ORDER_AT) -> bytes:
    """The real-shaped Shopify order with SUMMER20, one line, and no other signal (no landing
    site, referrer, click id or UTMs)."""
    order = json.loads(fixture_bytes("shopify_order_create.json"))
    order.update(
        id=5829178600000 + n, order_number=2000 + n, name=f"#{2000 + n}",
        created_at=at.isoformat(), updated_at=at.isoformat(), processed_at=at.isoformat(),
        landing_site=None, landing_site_ref=None, referring_site=None, note_attributes=[],
        line_items=[{**order["line_items"][0], **line}], customer=None, email=f"b{n}@example.com",
        contact_email=f"b{n}@example.com",
    )  # fmt: skip
    return json.dumps(order).encode()


def deliver(store, body: bytes, event: str, capture) -> None:
    with capture(execute=True):
        response = Client().post(url(store), body, content_type="application/json",
                                 **shopify_headers(store, body, event_id=event))  # fmt: skip
    assert response.status_code == 200


@pytest.fixture
def shop(workspace):
    """Seven posts distribute SUMMER20, as in the demo: two link to the leather sandals
    (published Nov 12 and Nov 16), the others to sunglasses, a tote, a straw hat and a linen
    shirt; the sunglasses post and the tote post were both published first, on Nov 1 at noon.
    An eighth, published after the orders, cannot have brought them."""
    store = StoreConnectionFactory(workspace=workspace, platform="shopify", shop_domain=SHOP)
    published = {
        "sunglasses": datetime(2026, 11, 1, 12, tzinfo=UTC),
        "canvas-tote": datetime(2026, 11, 1, 12, tzinfo=UTC),
        "straw-hat": datetime(2026, 11, 5, tzinfo=UTC),
        "leather-sandals": datetime(2026, 11, 12, tzinfo=UTC),
        "linen-shirt": datetime(2026, 11, 14, tzinfo=UTC),
        "leather-sandals?variant=1": datetime(2026, 11, 16, tzinfo=UTC),
        "sunglasses?later": datetime(2026, 11, 18, tzinfo=UTC),
        "leather-sandals?late": datetime(2026, 11, 25, tzinfo=UTC),
    }
    posts = {
        name: PostFactory(workspace=workspace, platform=("instagram", "tiktok")[n % 2],
                          link_url=f"https://{SHOP}/products/{name}", published_at=at)
        for n, (name, at) in enumerate(published.items())
    }  # fmt: skip
    assert all(post.links.count() == 1 for post in posts.values())
    commerce_services.coupon_save(workspace=workspace, code="SUMMER20",
                                  posts=list(posts.values()))  # fmt: skip
    return {"store": store, "posts": posts, "api": key_client(workspace)}


def credited(shop, order_number: str) -> dict[str, list[tuple]]:
    """{model: [(post id, weight, revenue)] in journey order}, from GET /commerce/orders."""
    found = {}
    for model in MODELS:
        answer = shop["api"].get(f"/commerce/orders?model={model}&range=all").json()
        (order,) = [o for o in answer["results"] if o["orderNumber"] == order_number]
        found[model] = [(a["postId"], a["attributionWeight"], a["revenue"])
                        for a in order["attributions"]]  # fmt: skip
    return found


def test_a_sandals_order_credits_the_sandals_posts_first_by_publication_then_shared(
    shop, django_capture_on_commit_callbacks
):
    deliver(shop["store"], shopify_order(1, SANDALS), "e1", django_capture_on_commit_callbacks)
    early = shop["posts"]["leather-sandals"].pk
    later = shop["posts"]["leather-sandals?variant=1"].pk
    half = ("0.500000", "58.75")
    assert credited(shop, "2001") == {
        "first-touch": [(early, "1.000000", "117.50"), (later, "0.000000", "0.00")],
        "last-touch": [(early, "0.000000", "0.00"), (later, "1.000000", "117.50")],
        "multi-touch": [(early, *half), (later, *half)],
        "position-based": [(early, *half), (later, *half)],
        "time-decay": [(early, *half), (later, *half)],
        "data-driven": [(early, *half), (later, *half)],
    }


def test_a_single_product_post_takes_the_whole_order_under_every_model(
    workspace, shop, django_capture_on_commit_callbacks
):
    """Only one post links to the straw hat: WooCommerce-style variation names (`Straw Hat -
    Natural`) and Shopify's handles both name it."""
    hat = {"title": "Straw Hat - Natural", "name": "Straw Hat - Natural", "sku": "HAT-STRAW-N",
           "product_id": 22, "variant_id": 23}  # fmt: skip
    deliver(shop["store"], shopify_order(2, hat), "e2", django_capture_on_commit_callbacks)
    post = shop["posts"]["straw-hat"].pk
    assert credited(shop, "2002") == {model: [(post, "1.000000", "117.50")] for model in MODELS}


def test_without_a_product_match_every_distributing_post_stays_a_candidate(
    shop, django_capture_on_commit_callbacks
):
    """A scarf: no post links to it. The seven posts published by the order's time are the
    candidates; the sunglasses and tote posts tie on the earliest publication, and the lower id
    (the sunglasses post) takes first touch; the sunglasses post of Nov 18 takes last touch."""
    deliver(shop["store"], shopify_order(3, SCARF), "e3", django_capture_on_commit_callbacks)
    posts = shop["posts"]
    order = [posts[name].pk for name in ("sunglasses", "canvas-tote", "straw-hat",
                                         "leather-sandals", "linen-shirt",
                                         "leather-sandals?variant=1", "sunglasses?later")]  # fmt: skip
    zero = ("0.000000", "0.00")
    sevenths = [("0.142858", "16.79"), ("0.142857", "16.79"), ("0.142857", "16.79"),
                ("0.142857", "16.79"), ("0.142857", "16.78"), ("0.142857", "16.78"),
                ("0.142857", "16.78")]  # fmt: skip
    ends, middle = ("0.400000", "47.00"), ("0.040000", "4.70")
    assert credited(shop, "2003") == {
        "first-touch": [(order[0], "1.000000", "117.50")] + [(p, *zero) for p in order[1:]],
        "last-touch": [(p, *zero) for p in order[:-1]] + [(order[-1], "1.000000", "117.50")],
        "multi-touch": [(p, *s) for p, s in zip(order, sevenths, strict=True)],
        "position-based": [(order[0], *ends), *((p, *middle) for p in order[1:-1]),
                           (order[-1], *ends)],
        "time-decay": [(p, *s) for p, s in zip(order, sevenths, strict=True)],
        "data-driven": [(p, *s) for p, s in zip(order, sevenths, strict=True)],
    }  # fmt: skip


def test_the_order_page_says_why_each_coupon_touch_went_where_it_went(
    client, shop, django_capture_on_commit_callbacks
):
    deliver(shop["store"], shopify_order(4, SANDALS), "e4", django_capture_on_commit_callbacks)
    deliver(shop["store"], shopify_order(5, SCARF), "e5", django_capture_on_commit_callbacks)
    sandals, scarf = (shop["store"].orders.get(order_number=n) for n in ("2004", "2005"))
    assert list(AttributionTouch.objects.filter(order=sandals).values_list("reached", flat=True)) \
        == ["product", "product"]  # fmt: skip
    assert set(AttributionTouch.objects.filter(order=scarf).values_list("reached", flat=True)) \
        == {"distributed"}  # fmt: skip
    page = " ".join(client.get(f"/analytics/orders/{sandals.pk}/").content.decode().split())
    assert (
        page.count(
            "Coupon summer20: this post links to a product in the order (2 of its posts do; first "
            "touch takes the earliest published, last touch the latest published, the other models "
            "share them)."
        )
        == 2
    )
    page = " ".join(client.get(f"/analytics/orders/{scarf.pk}/").content.decode().split())
    assert (
        page.count(
            "Coupon summer20: distributed by 7 posts, none links to a product in the order; first "
            "touch takes the earliest published, last touch the latest published, the other models "
            "share them."
        )
        == 7
    )
    listed = " ".join(client.get("/analytics/orders/?range=all").content.decode().split())
    assert (
        listed.count(
            '<td class="small signal" title="What brought this order its journey: '
            'the strongest evidence among its touches">coupon summer20</td>'
        )
        == 2
    )


def test_a_post_published_after_the_order_never_counts_even_when_it_links_to_the_product(
    shop, django_capture_on_commit_callbacks
):
    """The Nov 25 sandals post is no candidate for a Nov 14 order: the only sandals post then
    published takes it all."""
    at = datetime(2026, 11, 14, tzinfo=UTC) + timedelta(hours=1)
    deliver(shop["store"], shopify_order(6, SANDALS, at=at), "e6",
            django_capture_on_commit_callbacks)  # fmt: skip
    post = shop["posts"]["leather-sandals"].pk
    assert credited(shop, "2006")["last-touch"] == [(post, "1.000000", "117.50")]
    assert Decimal(credited(shop, "2006")["multi-touch"][0][2]) == Decimal("117.50")
