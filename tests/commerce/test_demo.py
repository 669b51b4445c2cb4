import pytest

from commerce.models import CommerceOrder, Coupon
from omnisocial.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_the_demo_store_is_seeded_once_through_the_ingestion_service():
    seed_demo(log=lambda _: None)
    seed_demo(log=lambda _: None)
    orders = CommerceOrder.objects.filter(store__shop_domain="demo-boutique.myshopify.com")
    assert orders.count() == 150
    assert orders.filter(currency="EUR", is_converted=True).count() == 1
    assert orders.filter(currency="CHF", is_converted=False).count() == 1
    assert orders.filter(refunded_amount__gt=0).count() == 7
    assert orders.exclude(coupon_codes=[]).count() == 8
    assert Coupon.objects.get().posts.count() == 9
