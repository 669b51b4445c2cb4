"""A rebuild writes exactly the rows the live path writes, under every model, on a data set made
of the journeys' edge cases: customers on several devices (links learnt by earlier orders and by
later ones), clicks at the lookback's edge and a microsecond past it, carried clicks that are
too old for the lookback, made after the order, by a bot or in another workspace, the clicks
the storefront snippet kept (`osc_clicks`: the same edges, other visitors' and the order's own
visitors' clicks, bots', another workspace's), landing UTMs
naming a post or a campaign, coupons, and another workspace sharing visitor ids and customer
keys. On PostgreSQL the rebuild finds the click touches in one statement
(`attribution.engine.touchpoints`); on SQLite it matches them in Python: both must agree with
the live path, order by order."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from attribution import engine
from attribution.engine import effects
from attribution.engine.rows import TOUCH_COLUMNS
from attribution.models import (
    AttributionModel,
    AttributionTouch,
    Click,
    DailyRevenueCell,
    RefundTouch,
    VisitorIdentity,
)
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData, RefundData
from commerce.models import CommerceOrder
from tests.factories import CampaignFactory, PostFactory, StoreConnectionFactory, WorkspaceFactory

START = datetime(2026, 9, 1, tzinfo=UTC)
LOOKBACK = 7
SEED = 20261204


def _shop(*, name: str):
    workspace = WorkspaceFactory(lookback_days=LOOKBACK, time_zone="Europe/Berlin",
                                 attribution_models=list(AttributionModel.values))  # fmt: skip
    store = StoreConnectionFactory(workspace=workspace, shop_domain=f"{name}.example.com")
    campaign = CampaignFactory(workspace=workspace, slug="autumn")
    posts = [
        PostFactory(workspace=workspace, platform=("instagram", "facebook", "tiktok")[n % 3],
                    campaign=campaign if n % 2 else None, reference=f"{name}-post-{n}",
                    link_url=f"https://{store.shop_domain}/p/{n}",
                    published_at=START + timedelta(days=n))
        for n in range(5)
    ]  # fmt: skip
    commerce_services.coupon_save(workspace=workspace, code="two", posts=posts[1:3])
    commerce_services.coupon_save(workspace=workspace, code="late", posts=[posts[4]])
    return workspace, store, posts


def _click(workspace, post, visitor: str, at: datetime, *, bot: bool = False) -> Click:
    return Click.objects.create(
        workspace=workspace, link=post.links.get(), post=post, click_id=f"k{Click.objects.count()}",
        visitor_id=visitor, clicked_at=at, is_bot=bot,
    )  # fmt: skip


def _data_set():
    rng = random.Random(SEED)
    workspace, store, posts = _shop(name="a")
    other, other_store, other_posts = _shop(name="b")
    visitors = [f"v{n}" for n in range(8)] + [""]
    clicks = [
        _click(workspace, rng.choice(posts), rng.choice(visitors),
               START + timedelta(minutes=rng.randint(0, 40 * 24 * 60)), bot=rng.random() < 0.1)
        for _ in range(120)
    ]  # fmt: skip
    # The other workspace: the same visitor ids, its own clicks.
    foreign = [
        _click(other, rng.choice(other_posts), rng.choice(visitors),
               START + timedelta(minutes=rng.randint(0, 40 * 24 * 60)))
        for _ in range(40)
    ]  # fmt: skip
    orders = []
    for n in range(70):
        at = START + timedelta(days=3, minutes=rng.randint(0, 36 * 24 * 60))
        kind = rng.random()
        # Buyers who clicked share ten customers; the others buy once, with no known device.
        customer = f"customer-{rng.randint(0, 9)}" if kind < 0.55 or n % 9 == 0 else f"once-{n}"
        if n % 5 == 2:
            customer = ""  # a guest checkout: only the carried click's visitor is known
        attribution, coupons = Attribution(), []
        if kind < 0.55:
            carried = rng.choice(clicks + foreign[:5])
            # The clicks the snippet kept: any time, any visitor (the order's own too), bots,
            # another workspace's, the carried one.
            kept = [clicks[(n * 7 + k) % len(clicks)] for k in range(3)] + [foreign[n % 5]]
            attribution = Attribution(
                osc_click=carried.click_id,
                osc_clicks=[click.click_id for click in (*kept, carried)],
            )
        elif kind < 0.65:
            attribution = Attribution(utm_content=rng.choice(posts).reference, utm_source="ig")
        elif kind < 0.72:
            attribution = Attribution(utm_campaign="autumn", utm_medium="social")
        elif kind < 0.8:
            coupons = [rng.choice(["two", "late", "none"])]
        elif kind < 0.86:
            attribution = Attribution(referrer_url="https://l.instagram.com/?u=x")
        if n % 9 == 0:  # the buyer's clicks at the lookback's edges and a microsecond past them
            visitor = rng.choice(visitors[:-1])
            _click(workspace, posts[n % 5], visitor, at - timedelta(days=LOOKBACK))
            _click(workspace, posts[(n + 1) % 5], visitor,
                   at - timedelta(days=LOOKBACK, microseconds=1))  # fmt: skip
            _click(workspace, posts[(n + 2) % 5], visitor, at + timedelta(microseconds=1))
            _click(workspace, posts[(n + 4) % 5], visitor, at)  # at the order's instant: counts
            carried = _click(workspace, posts[(n + 3) % 5], visitor, at - timedelta(hours=1))
            attribution = Attribution(osc_click=carried.click_id)
        if n % 9 == 4:  # a carried click without a visitor id (cookies refused)...
            carried = _click(workspace, posts[n % 5], "", at - timedelta(hours=2))
            # ...and the snippet's kept clicks at the lookback's edges and a microsecond past
            kept = [
                _click(workspace, posts[(n + k) % 5], "", at - before)
                for k, before in enumerate((
                    timedelta(days=LOOKBACK), timedelta(days=LOOKBACK, microseconds=1),
                    -timedelta(microseconds=1), timedelta(0),
                ))
            ]  # fmt: skip
            attribution = Attribution(
                osc_click=carried.click_id,
                osc_clicks=[click.click_id for click in (*kept, carried)],
            )
        refunds = []
        if n % 6 == 1:
            refunds = [RefundData(f"r{n}", Decimal("7.31"), at + timedelta(days=2))]
        total = Decimal(rng.randint(1000, 30000)) / 100
        for target, shop in ((store, orders), (other_store, None)):
            order = commerce_services.order_save(
                store=target,
                data=OrderData(
                    external_id=str(n), order_number=f"#{n}", created_at=at, updated_at=at,
                    currency="USD", total_price=total, attribution=attribution,
                    coupon_codes=coupons, customer_id=customer,
                    lines=[LineData(title="Hat", quantity=rng.randint(1, 3), price=total)],
                    refunds=refunds,
                ),
            )  # fmt: skip
            if shop is not None:
                shop.append(order)
    # The other workspace knows the same customer keys, linked to every visitor.
    for order in orders[:10]:
        for visitor in visitors[:-1]:
            VisitorIdentity.objects.get_or_create(
                workspace=other, customer_key=order.customer_key, visitor_id=visitor,
                defaults={"first_seen_at": START},
            )  # fmt: skip
    return workspace, orders


def _stored(workspace):
    touches = sorted(
        AttributionTouch.objects.filter(workspace=workspace).values_list(*TOUCH_COLUMNS)
    )
    refunds = sorted(RefundTouch.objects.filter(workspace=workspace).values_list(
        "order_id", "refund_id", "position", "post_id", "day",
        *(f"amount_{suffix}" for suffix in ("first", "last", "multi", "position", "decay", "data")),
    ))  # fmt: skip
    return touches, refunds


def _planner_statistics_reset():
    """PostgreSQL: the derived tables emptied inside this test's transaction (undone with it).
    Earlier tests' rolled-back rows stay behind as dead tuples that nothing vacuums, and ANALYZE
    (whose row counts are not rolled back) then tells the planner a table of thousands of index
    entries holds one row: this test's 140 live attributions each took seconds."""
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (AttributionTouch, RefundTouch, DailyRevenueCell)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")


@pytest.mark.django_db
def test_the_rebuild_writes_the_live_paths_rows_for_every_model():
    _planner_statistics_reset()
    workspace, orders = _data_set()
    by_time = sorted(orders, key=lambda o: (o.created_at, o.pk))
    # Live, as the orders arrived: each order learns its links when it is attributed.
    for order in by_time:
        engine.order_attribute(order_id=order.pk)
    live_links = set(VisitorIdentity.objects.filter(workspace=workspace).values_list(
        "customer_key", "visitor_id", "first_seen_at"))  # fmt: skip
    assert len(live_links) > 3  # customers on several devices
    live = _stored(workspace)

    # The rebuild learns the links again: forgotten ones, and ones stored as seen later.
    links = VisitorIdentity.objects.filter(workspace=workspace).order_by("pk")
    forgotten = list(links.values_list("pk", flat=True)[::2])
    links.filter(pk__in=forgotten).delete()
    links.update(first_seen_at=F("first_seen_at") + timedelta(days=1))
    result = engine.workspace_recalculate(workspace=workspace)
    assert result["orders"] == len(orders)
    assert set(VisitorIdentity.objects.filter(workspace=workspace).values_list(
        "customer_key", "visitor_id", "first_seen_at")) == live_links  # fmt: skip
    rebuilt = _stored(workspace)
    assert effects.stored(workspace)  # enough converting journeys for data-driven credit
    # Before the rebuild the live path had no removal effects: every model but data-driven.
    kept = [n for n, column in enumerate(TOUCH_COLUMNS)
            if not column.endswith("_data") and column != "data_fallback"]  # fmt: skip
    assert [[row[n] for n in kept] for row in rebuilt[0]] == [
        [row[n] for n in kept] for row in live[0]
    ]

    # With the rebuild's removal effects stored, the live path writes the rebuild's rows.
    for order in by_time:
        engine.order_attribute(order_id=order.pk)
    assert _stored(workspace) == rebuilt
    matched = {row[TOUCH_COLUMNS.index("matched_field")] for row in rebuilt[0]}
    assert matched >= {"clickId", "utmContent", "utmCampaign", "couponCode", "referrerUrl"}
    assert CommerceOrder.objects.filter(workspace=workspace).count() == len(orders)
    assert CommerceOrder.objects.filter(workspace=workspace, customer_key="").exists()
