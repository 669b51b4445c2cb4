"""Coupon touches: a coupon credits only the posts that distributed it before the order, and
its posts are credited by publication order (tests/attribution/test_coupon_rule.py holds the
product rule)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from attribution.models import RevenueAttribution
from commerce import services as commerce_services
from tests.analytics.conftest import order_record
from tests.factories import CampaignFactory, PostFactory, StoreConnectionFactory

ORDER_AT = datetime(2026, 11, 18, 15, tzinfo=UTC)
MODELS = ["first-touch", "last-touch", "multi-touch", "position-based", "time-decay",
          "data-driven"]  # fmt: skip


def credit(order) -> dict[str, list[tuple[int, Decimal, Decimal]]]:
    rows = RevenueAttribution.objects.filter(order=order).order_by("attribution_model", "post_id")
    found: dict[str, list] = {}
    for row in rows:
        found.setdefault(row.attribution_model, []).append(
            (row.post_id, row.attribution_weight, row.revenue)
        )
    return found


def test_a_coupon_of_several_posts_is_credited_by_publication_order(workspace):
    """No post links to the order's product: every post published by the order's time stays a
    candidate, in publication order (ties by id); first touch takes the earliest, last touch the
    latest, the other models share them as touches at one instant."""
    store = StoreConnectionFactory(workspace=workspace)
    before = ORDER_AT - timedelta(days=3)
    posts = [PostFactory(workspace=workspace, platform=p, published_at=before)
             for p in ("instagram", "facebook", "tiktok")]  # fmt: skip
    # Published on Nov 29, after the order: it cannot have brought it.
    late = PostFactory(workspace=workspace, platform="tiktok",
                       published_at=datetime(2026, 11, 29, tzinfo=UTC))  # fmt: skip
    commerce_services.coupon_save(workspace=workspace, code="trio", posts=[*posts, late])
    order = order_record(store, 1, at=ORDER_AT, total="100.00", coupons=["trio"])
    ids = sorted(p.pk for p in posts)
    thirds = list(zip(ids, [Decimal("0.333334"), Decimal("0.333333"), Decimal("0.333333")],
                      [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")], strict=True))  # fmt: skip
    one, none = (Decimal("1.000000"), Decimal("100.00")), (Decimal("0.000000"), Decimal("0.00"))
    assert credit(order) == {
        "first-touch": [(ids[0], *one), (ids[1], *none), (ids[2], *none)],
        "last-touch": [(ids[0], *none), (ids[1], *none), (ids[2], *one)],
        "multi-touch": thirds,
        "position-based": [(ids[0], Decimal("0.400000"), Decimal("40.00")),
                           (ids[1], Decimal("0.200000"), Decimal("20.00")),
                           (ids[2], Decimal("0.400000"), Decimal("40.00"))],
        "time-decay": thirds,
        "data-driven": thirds,
    }  # fmt: skip


def test_a_coupon_credits_no_post_published_after_the_order(workspace):
    store = StoreConnectionFactory(workspace=workspace)
    late = PostFactory(workspace=workspace, platform="tiktok",
                       published_at=datetime(2026, 11, 29, tzinfo=UTC))  # fmt: skip
    commerce_services.coupon_save(workspace=workspace, code="soon", posts=[late])
    order = order_record(store, 2, at=ORDER_AT, total="40.00", coupons=["soon"])
    assert credit(order) == {}
    # A campaign's coupon credits the campaign only once it has started.
    campaign = CampaignFactory(workspace=workspace)
    commerce_services.coupon_save(workspace=workspace, code="camp", campaign=campaign)
    early = order_record(store, 3, at=campaign.created_at - timedelta(days=1), total="20.00",
                         coupons=["camp"])  # fmt: skip
    later = order_record(store, 4, at=campaign.created_at + timedelta(hours=1), total="20.00",
                         coupons=["camp"])  # fmt: skip
    assert credit(early) == {}
    assert credit(later)["last-touch"] == [(None, Decimal("1.000000"), Decimal("20.00"))]
