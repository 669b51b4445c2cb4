import pytest

from commerce.models import CommerceOrder, Coupon
from omnisocial.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_the_demo_store_is_seeded_once_through_the_ingestion_service():
    seed_demo(log=lambda _: None)
    seed_demo(log=lambda _: None)
    orders = CommerceOrder.objects.filter(store__shop_domain="demo-boutique.myshopify.com")
    assert orders.count() == 300
    assert orders.filter(currency="EUR", is_converted=True).count() == 1
    assert orders.filter(currency="CHF", is_converted=False).count() == 1
    assert orders.filter(refunded_amount__gt=0).count() == 13
    assert orders.exclude(coupon_codes=[]).count() == 15
    # Orders from a post carry the id of a real demo click on it, made before the order.
    assert orders.exclude(osc_click="").count() == 178
    assert Coupon.objects.get().posts.count() == 9
