"""Orders credited through the real path: the order service, then the attribution engine."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from attribution import engine
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData
from omnisocial import services
from tests.factories import CampaignFactory, PostFactory, StoreConnectionFactory


def key_client(workspace) -> APIClient:
    _, raw_key = services.api_key_create(workspace=workspace, name="test client")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def order_record(
    store, n, *, at, total, coupons=(), customer="", units=1, currency="USD", **attribution
):
    data = OrderData(
        external_id=str(n), order_number=f"#{n}", created_at=at, updated_at=at, currency=currency,
        total_price=Decimal(total), attribution=Attribution(**attribution),
        coupon_codes=list(coupons), customer_id=customer or f"c{n}",
        lines=[LineData(title="Hat", quantity=units, price=Decimal(total))],
    )  # fmt: skip
    order = commerce_services.order_save(store=store, data=data)
    engine.order_attribute(order_id=order.pk)
    return order


@pytest.fixture
def api(workspace):
    return key_client(workspace)


@pytest.fixture
def shop(workspace):
    """Two posts, three orders in November 2026: one by utm_content (Instagram post), one by a
    coupon the TikTok post distributed, one without any signal."""
    store = StoreConnectionFactory(workspace=workspace)
    campaign = CampaignFactory(workspace=workspace, name="Summer sale", slug="summer-sale")
    link = f"https://{store.shop_domain}/products/linen-shirt"
    a = PostFactory(workspace=workspace, platform="instagram", campaign=campaign,
                    reference="post-17", caption="Linen shirt", link_url=link)  # fmt: skip
    b = PostFactory(workspace=workspace, platform="tiktok", caption="Tote bag",
                    content_type="lifestyle")  # fmt: skip
    coupon = commerce_services.coupon_save(workspace=workspace, code="TIKTOK10", posts=[b])
    orders = [
        order_record(store, 1, at=datetime(2026, 11, 10, 12, tzinfo=UTC), total="100.00",
                     units=2, utm_content="post-17", utm_source="instagram",
                     utm_campaign="summer-sale", utm_medium="social",
                     landing_page="https://shop.example/p?utm_content=post-17"),
        order_record(store, 2, at=datetime(2026, 11, 11, 12, tzinfo=UTC), total="50.00",
                     coupons=["tiktok10"]),
        order_record(store, 3, at=datetime(2026, 11, 12, 12, tzinfo=UTC), total="30.00"),
    ]  # fmt: skip
    return {"store": store, "campaign": campaign, "a": a, "b": b, "coupon": coupon,
            "orders": orders}  # fmt: skip
