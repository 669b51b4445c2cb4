"""A rebuild writes the live path's rows for the coupon rule and for how each touch was
reached: coupons (typed in another case than the orders use them) whose posts link to an
order's product (by handle, SKU, product or variant id, a WooCommerce variation's name) or to
none of them, posts tied on publication time or published after some orders, and click
touches reached by the order's own click id, the storefront's kept list, the same visitor and
the same customer. On PostgreSQL the rebuild finds the clicks in
one statement (`attribution.engine.touchpoints`), on SQLite in Python: both equal the live
path, touch by touch (`reached` included), under every model."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from attribution import engine
from attribution.models import AttributionModel, AttributionTouch, Click
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData
from tests.attribution.test_rebuilt_equals_live import _planner_statistics_reset, _stored
from tests.factories import PostFactory, StoreConnectionFactory, WorkspaceFactory

START = datetime(2026, 10, 1, tzinfo=UTC)
SEED = 20261208
PRODUCTS = ["leather-sandals", "sunglasses", "canvas-tote", "straw-hat", "linen-shirt"]
# What an order line of each product says, as Shopify or WooCommerce send it.
LINES = {
    "leather-sandals": LineData(title="Leather Sandals", sku="SANDALS-38", product_id="801",
                                variant_id="9801", quantity=1, price=Decimal("89.00")),
    "sunglasses": LineData(title="Aviator", sku="sunglasses", product_id="802", quantity=1,
                           price=Decimal("55.00")),
    "canvas-tote": LineData(title="Canvas Tote - Natural", sku="TOTE-CNV", product_id="93",
                            variant_id="94", quantity=2, price=Decimal("28.00")),
    "straw-hat": LineData(title="Sun Hat", sku="HAT", product_id="22", quantity=1,
                          price=Decimal("35.00")),
    "silk-scarf": LineData(title="Silk Scarf", sku="SCARF-01", product_id="805", quantity=1,
                           price=Decimal("30.00")),
}  # fmt: skip


def _data_set():
    rng = random.Random(SEED)
    workspace = WorkspaceFactory(lookback_days=10,
                                 attribution_models=list(AttributionModel.values))  # fmt: skip
    store = StoreConnectionFactory(workspace=workspace, shop_domain="shop.example.com")
    destinations = [
        "/products/leather-sandals", "/collections/summer/products/leather-sandals?variant=9801",
        "/products/sunglasses", "/product/canvas-tote/", "/?p=22", "/products/linen-shirt",
        "/product/canvas-tote/?add-to-cart=93",
    ]  # fmt: skip
    posts = [
        PostFactory(workspace=workspace, platform=("instagram", "facebook", "tiktok")[n % 3],
                    link_url=f"https://shop.example.com{path}",
                    # Two pairs tie on publication time; the last is published mid-period.
                    published_at=START + timedelta(days=(0, 0, 2, 4, 4, 6, 20)[n]))
        for n, path in enumerate(destinations)
    ]  # fmt: skip
    commerce_services.coupon_save(workspace=workspace, code="Summer20", posts=posts)
    commerce_services.coupon_save(workspace=workspace, code="pair", posts=posts[2:4])
    visitors = [f"v{n}" for n in range(5)]
    clicks = [
        Click.objects.create(
            workspace=workspace, link=post.links.get(), post=post, click_id=f"k{n}",
            visitor_id=rng.choice(visitors), clicked_at=START + timedelta(hours=rng.randint(0, 800)),
        )
        for n, post in enumerate(rng.choice(posts) for _ in range(60))
    ]  # fmt: skip
    orders = []
    for n in range(60):
        at = START + timedelta(days=2, hours=rng.randint(0, 700))
        products = rng.sample(list(LINES), rng.randint(1, 2))
        attribution, coupons = Attribution(), []
        kind = n % 4
        if kind == 0:  # coupons only (no click id): the coupon rule, unless the customer clicked
            coupons = [rng.choice(["SUMMER20", "Pair", "unknown"])]  # any case
        elif kind == 1:  # a carried click and the storefront's kept ones
            carried = rng.choice(clicks)
            kept = rng.sample(clicks, 2)
            attribution = Attribution(osc_click=carried.click_id,
                                      osc_clicks=[c.click_id for c in (*kept, carried)])  # fmt: skip
        elif kind == 2:  # a carried click only: its visitor's other clicks join
            attribution = Attribution(osc_click=rng.choice(clicks).click_id)
            coupons = ["summer20"]
        order = commerce_services.order_save(
            store=store,
            data=OrderData(
                external_id=str(n), order_number=f"#{n}", created_at=at, updated_at=at,
                currency="USD", total_price=Decimal(rng.randint(2000, 30000)) / 100,
                attribution=attribution, coupon_codes=coupons,
                # Eight customers: later orders without a click reach the earlier ones' clicks.
                customer_id=f"customer-{n % 8}",
                lines=[LINES[p] for p in products],
            ),
        )  # fmt: skip
        orders.append(order)
    return workspace, orders


@pytest.mark.django_db
def test_the_rebuild_writes_the_live_paths_coupon_and_reach_rows():
    _planner_statistics_reset()
    workspace, orders = _data_set()
    by_time = sorted(orders, key=lambda o: (o.created_at, o.pk))
    for order in by_time:
        engine.order_attribute(order_id=order.pk)
    live = _stored(workspace)
    coupon_touches = AttributionTouch.objects.filter(
        workspace=workspace, matched_field="couponCode"
    )
    assert set(coupon_touches.values_list("matched_value", flat=True)) == {
        "SUMMER20",
        "summer20",
        "Pair",
    }
    engine.workspace_recalculate(workspace=workspace)
    rebuilt = _stored(workspace)
    # The live path had no removal effects before the rebuild: every model but data-driven.
    columns = AttributionTouch._meta
    assert columns.get_field("reached")
    from attribution.engine.rows import TOUCH_COLUMNS

    kept = [n for n, column in enumerate(TOUCH_COLUMNS)
            if not column.endswith("_data") and column != "data_fallback"]  # fmt: skip
    assert [[row[n] for n in kept] for row in rebuilt[0]] == [
        [row[n] for n in kept] for row in live[0]
    ]
    for order in by_time:
        engine.order_attribute(order_id=order.pk)
    assert _stored(workspace) == rebuilt
    reached = {row[TOUCH_COLUMNS.index("reached")] for row in rebuilt[0]}
    assert reached == {"cookie", "kept", "visitor", "customer", "product", "distributed"}
    # Some coupon orders matched one product post, some several, some none.
    coupon_touches = AttributionTouch.objects.filter(workspace=workspace,
                                                     matched_field="couponCode")  # fmt: skip
    per_order: dict[int, list[str]] = {}
    for order_id, how in coupon_touches.values_list("order_id", "reached"):
        per_order.setdefault(order_id, []).append(how)
    sizes = {(hows[0], len(hows)) for hows in per_order.values()}
    assert {("product", 1), ("distributed", 7)} <= sizes
    assert any(how == "product" and size > 1 for how, size in sizes)
