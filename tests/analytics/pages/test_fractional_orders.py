"""A credited-orders figure with a fraction says why on hover (its title), on Post Analytics,
the Revenue page's tables, the Posts list and Segments; a whole one is written bare. One order
that used a coupon two posts distribute: multi-touch gives each post half of it, last touch the
whole of it to the post published last."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from analytics.templatetags.analytics_format import FRACTIONAL_ORDERS
from commerce import services as commerce_services
from commerce.attribution_values import OrderData
from tests.factories import PostFactory, StoreConnectionFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 20, 15, tzinfo=UTC)
RANGE = "from=2026-11-01&to=2026-11-30"
HALF = f'<span class="fraction" title="{FRACTIONAL_ORDERS}">0.50</span>'


@pytest.fixture
def shared_order(workspace, django_capture_on_commit_callbacks):
    store = StoreConnectionFactory(workspace=workspace, currency="USD")
    early = PostFactory(workspace=workspace, platform="instagram",
                        published_at=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    late = PostFactory(workspace=workspace, platform="tiktok",
                       published_at=datetime(2026, 11, 10, tzinfo=UTC))  # fmt: skip
    commerce_services.coupon_save(workspace=workspace, code="Duo10", posts=[early, late])
    with django_capture_on_commit_callbacks(execute=True):
        commerce_services.order_save(
            store=store,
            data=OrderData(
                external_id="1",
                order_number="#1",
                created_at=AT,
                updated_at=AT,
                currency="USD",
                total_price=Decimal("60.00"),
                coupon_codes=["duo10"],
                customer_id="buyer",
            ),  # fmt: skip
        )
    return {"early": early, "late": late}


def html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_split_order_shows_its_half_with_the_reason(client, shared_order):
    split = f"{RANGE}&model=multi-touch"
    post_page = html(client, f"/analytics/posts/{shared_order['early'].pk}/?{split}")
    assert f"<dt>Credited orders</dt><dd>{HALF}</dd>" in post_page
    assert f'<td class="num">1</td><td class="num">{HALF}</td>' in post_page  # touchpoints
    revenue_page = html(client, f"/analytics/revenue/?{split}")
    assert revenue_page.count(f'data-label="Orders">{HALF}</td>') == 2  # top content
    assert revenue_page.count(f'<td class="num">{HALF}</td></tr>') == 2  # by platform
    assert html(client, f"/posts/?{split}").count(f'<td class="num">{HALF}</td>') == 2
    segments = html(client, f"/analytics/segments/?{split}&by=platform")
    assert segments.count(f'<td class="num">{HALF}</td>') == 2


def test_a_whole_figure_is_written_without_a_reason(client, shared_order):
    whole = f"{RANGE}&model=last-touch"
    assert 'class="fraction"' not in html(
        client, f"/analytics/posts/{shared_order['late'].pk}/?{whole}"
    )
    assert "<dt>Credited orders</dt><dd>1</dd>" in html(
        client, f"/analytics/posts/{shared_order['late'].pk}/?{whole}"
    )
    for url in ("/analytics/revenue/", "/posts/", "/analytics/segments/"):
        assert 'class="fraction"' not in html(client, f"{url}?{whole}")
