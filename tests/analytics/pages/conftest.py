"""A small shop, built through the real path: posts through the post service, orders through
`commerce.services.order_save`, credit through `attribution.engine.order_attribute`.

Today is 2026-11-25 (UTC), so the default range is Oct 27 - Nov 25 and the previous period is
Sep 27 - Oct 26. In the range: #1 100.00 by ig-linen's utm_content (Instagram, summer-sale), #2
50.00 by coupon tiktok10 that the TikTok post distributed, #3 30.00 with no signal at all.
Before it: #0 80.00 by ig-linen.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from attribution import engine
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData
from tests.factories import CampaignFactory, PostFactory, StoreConnectionFactory

TODAY = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY


def order_record(store, n, *, at, total, coupons=(), **attribution):
    data = OrderData(
        external_id=str(n), order_number=f"#{n}", created_at=at, updated_at=at, currency="USD",
        total_price=Decimal(total), attribution=Attribution(**attribution),
        coupon_codes=list(coupons), customer_id=f"c{n}",
        lines=[LineData(title="Linen shirt", quantity=2, price=Decimal(total) / 2)],
    )  # fmt: skip
    order = commerce_services.order_save(store=store, data=data)
    engine.order_attribute(order_id=order.pk)
    return order


@pytest.fixture
def store(workspace):
    return StoreConnectionFactory(workspace=workspace)


@pytest.fixture
def shop(workspace, store):
    campaign = CampaignFactory(workspace=workspace, name="Summer Sale", slug="summer-sale")
    link = f"https://{store.shop_domain}/products/linen-shirt"
    a = PostFactory(workspace=workspace, platform="instagram", campaign=campaign,
                    reference="ig-linen", caption="=SUM(1,2) linen shirt day", link_url=link)  # fmt: skip
    b = PostFactory(workspace=workspace, platform="tiktok", caption="Tote season", link_url=link)
    commerce_services.coupon_save(workspace=workspace, code="TIKTOK10", posts=[b])
    orders = {
        0: order_record(store, 1000, at=datetime(2026, 10, 20, 15, tzinfo=UTC), total="80.00",
                        utm_content="ig-linen", utm_source="instagram"),
        1: order_record(store, 1001, at=datetime(2026, 11, 20, 15, tzinfo=UTC), total="100.00",
                        utm_content="ig-linen", utm_source="instagram"),
        2: order_record(store, 1002, at=datetime(2026, 11, 21, 15, tzinfo=UTC), total="50.00",
                        coupons=["tiktok10"]),
        3: order_record(store, 1003, at=datetime(2026, 11, 22, 15, tzinfo=UTC), total="30.00"),
    }  # fmt: skip
    return {"a": a, "b": b, "campaign": campaign, "orders": orders}
