"""Every report's API answer and page takes a fixed number of queries, however much data it reads.

Each case builds a small shop through the real path (posts through the post service, clicks
through GET /r/<code>, orders through `commerce.services.order_save`, credit through
`attribution.engine.order_attribute`), counts the queries of one request, then adds more posts,
campaigns, coupons, clicks, multi-touch orders, a returning customer and a refund, and counts
again: the two counts must be equal, and neither may pass the case's ceiling. A query run once
per post, order, touch or row (an N+1) makes the second count larger and fails the case.

A request is made once before it is counted, at each size, so a cache filled on first use
(the workspace's settings, the session) is counted the same way both times.
"""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from attribution import engine, rollups
from commerce import services as commerce_services
from commerce.attribution_values import RefundData
from tests.analytics.conftest import key_client, order_record
from tests.attribution.test_clicks import HUMAN_UA
from tests.attribution.test_engine import click
from tests.factories import CampaignFactory, PostFactory, StoreConnectionFactory

TODAY = datetime(2026, 11, 25, 12, tzinfo=UTC)
RANGE = "from=2026-11-01&to=2026-11-30&model=last-touch"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY


class Shop:
    """A workspace's posts, orders and clicks, grown a round at a time."""

    def __init__(self, workspace):
        self.workspace = workspace
        self.store = StoreConnectionFactory(workspace=workspace)
        self.numbers = count(1)
        self.posts, self.orders, self.journeys = [], [], []
        self.rounds = 0

    def post(self, platform, campaign=None, content_type="product"):
        n = len(self.posts)
        post = PostFactory(
            workspace=self.workspace, platform=platform, campaign=campaign,
            caption=f"Post {n}", reference=f"ref-{n}", content_type=content_type,
            link_url=f"https://{self.store.shop_domain}/products/item-{n}",
        )  # fmt: skip
        self.posts.append(post)
        return post

    def order(self, touches, total, day, coupons=(), customer=""):
        """An order on November `day` after clicks on `touches` by one browser (hours before)."""
        at = datetime(2026, 11, day, 15, tzinfo=UTC)
        visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
        clicks = [
            click(visitor, post, at - timedelta(hours=3 * (len(touches) - k)))
            for k, post in enumerate(touches)
        ]
        signals = {"osc_click": clicks[-1]} if clicks else {}
        with time_machine.travel(at, tick=False):
            order = order_record(self.store, next(self.numbers), at=at, total=total,
                                 coupons=coupons, customer=customer, **signals)  # fmt: skip
        self.orders.append(order)
        if len(touches) > 1:
            self.journeys.append(order)
        return order

    def roll_up_clicks(self):
        # As the every-minute schedule would: one run sees the clicks, the next takes them.
        rollups.clicks_roll_up(workspace=self.workspace, settle=timedelta(0))
        rollups.clicks_roll_up(workspace=self.workspace, settle=timedelta(0))

    def refund(self, order):
        at = order.created_at + timedelta(days=1)
        refund = RefundData(external_id=f"r{order.pk}", amount=order.total_price, created_at=at)
        with time_machine.travel(at, tick=False):
            commerce_services.refund_record(
                store=self.store, order_external_id=order.external_id, refund=refund
            )
            engine.order_attribute(order_id=order.pk)

    def start(self):
        """Two posts (Instagram in a campaign, TikTok with a coupon) and four orders of the last
        week: by a click (refunded), by the coupon, with no signal, and after clicks on both
        posts by the first order's customer."""
        campaign = CampaignFactory(workspace=self.workspace, name="Summer", slug="summer")
        a = self.post("instagram", campaign)
        b = self.post("tiktok", content_type="lifestyle")
        commerce_services.coupon_save(workspace=self.workspace, code="TIKTOK10", posts=[b])
        self.refund(self.order([a], "100.00", 18, customer="c-first"))
        self.order([], "50.00", 19, coupons=["tiktok10"])
        self.order([], "30.00", 20)
        self.order([a, b], "70.00", 21, customer="c-first")
        self.roll_up_clicks()
        return self

    def grow(self):
        """Four more posts over every platform, content type and a new campaign, two more
        coupons, eight more orders of up to four touches each (one by a returning customer, one
        by a coupon, one refunded) and clicks that bought nothing."""
        self.rounds += 1
        r = self.rounds
        campaign = CampaignFactory(workspace=self.workspace, name=f"Round {r}", slug=f"round-{r}")
        new = [
            self.post("facebook", campaign, "ugc"),
            self.post("instagram", campaign, "lifestyle"),
            self.post("tiktok", None, "product"),
            self.post("facebook", None, "ugc"),
        ]
        commerce_services.coupon_save(workspace=self.workspace, code=f"FB{r}", posts=[new[0]])
        commerce_services.coupon_save(
            workspace=self.workspace, code=f"SALE{r}", campaign=campaign, posts=new[1:3]
        )
        everyone = self.posts
        for k in range(8):
            touches = [everyone[(k + j) % len(everyone)] for j in range(1 + k % 4)]
            coupons = [f"fb{r}"] if k == 5 else [f"sale{r}"] if k == 6 else []
            customer = f"c-returning-{r}" if k in (1, 4) else ""
            self.order(touches, f"{40 + 10 * k}.00", 10 + k, coupons=coupons, customer=customer)
        self.refund(self.orders[-1])
        for post in new:  # clicks that bought nothing
            click(Client(HTTP_USER_AGENT=HUMAN_UA), post, TODAY - timedelta(days=2))
        self.roll_up_clicks()
        return self


# (id, API or page, path of the shop at its current size)
CASES = [
    ("dashboard-api", "api", lambda s: f"/commerce/revenue/dashboard?{RANGE}"),
    ("post-api", "api", lambda s: f"/commerce/revenue/posts/{s.posts[0].pk}?{RANGE}"),
    ("orders-api", "api", lambda s: f"/commerce/orders?{RANGE}"),
    *[
        (f"segments-api-{by}", "api", lambda s, by=by: f"/commerce/segments?by={by}&{RANGE}")
        for by in ("platform", "campaign", "contentType", "audience")
    ],
    ("coupons-api", "api", lambda s: f"/commerce/coupons?{RANGE}"),
    ("paths-api", "api", lambda s: f"/commerce/revenue/paths?{RANGE}"),
    ("paths-api-all", "api", lambda s: "/commerce/revenue/paths?range=all"),
    (
        "model-comparison-api",
        "api",
        lambda s: f"/commerce/revenue/model-comparison?{RANGE}&base=last-touch&against=first-touch",
    ),
    ("revenue-page", "page", lambda s: f"/analytics/revenue/?{RANGE}"),
    ("post-page", "page", lambda s: f"/analytics/posts/{s.posts[0].pk}/?{RANGE}"),
    *[
        (f"segments-page-{by}", "page", lambda s, by=by: f"/analytics/segments/?by={by}&{RANGE}")
        for by in ("platform", "campaign", "contentType", "audience")
    ],
    ("coupons-page", "page", lambda s: f"/analytics/coupons/?{RANGE}"),
    ("orders-page", "page", lambda s: f"/analytics/orders/?{RANGE}"),
    # The journey of the shop's latest multi-touch order: two touches, then four.
    ("order-page", "page", lambda s: f"/analytics/orders/{s.journeys[-1].pk}/"),
    ("receipts-page", "page", lambda s: f"/analytics/receipts/?{RANGE}"),
    (
        "receipts-page-platform",
        "page",
        lambda s: f"/analytics/receipts/?{RANGE}&platform=instagram",
    ),
    ("receipts-page-post", "page", lambda s: f"/analytics/receipts/?{RANGE}&post={s.posts[0].pk}"),
    ("compare-page", "page", lambda s: f"/analytics/revenue/compare/?{RANGE}"),
    ("paths-page", "page", lambda s: f"/analytics/revenue/paths/?{RANGE}"),
    ("paths-page-all", "page", lambda s: "/analytics/revenue/paths/?range=all"),
    ("posts-page", "page", lambda s: f"/posts/?{RANGE}"),
]

# The queries each request took when these tests were written, the same on SQLite and PostgreSQL
# (the session's or the API key's own reads included). The ceiling leaves room for a few more
# fixed queries; a query run once per row is caught by the two sizes' counts differing.
TOOK = {
    "dashboard-api": 23,
    "post-api": 58,
    "orders-api": 5,
    "segments-api-platform": 8,
    "segments-api-campaign": 10,
    "segments-api-contentType": 9,
    "segments-api-audience": 5,
    "coupons-api": 8,
    "paths-api": 3,
    "paths-api-all": 4,
    "model-comparison-api": 25,
    "revenue-page": 35,
    "post-page": 23,
    "segments-page-platform": 11,
    "segments-page-campaign": 13,
    "segments-page-contentType": 12,
    "segments-page-audience": 8,
    "coupons-page": 13,
    "orders-page": 14,
    "order-page": 9,
    "receipts-page": 13,
    "receipts-page-platform": 13,
    "receipts-page-post": 15,
    "compare-page": 113,
    "paths-page": 11,
    "paths-page-all": 12,
    "posts-page": 12,
}
CEILING = {name: took + max(3, took // 4) for name, took in TOOK.items()}

# Reports whose query count grows with the data today, each named by the query that repeats.
GROWING: dict[str, str] = {}


def queries_of(client, path) -> Counter:
    """The queries of one request (after a warm-up), each with its literals blanked out."""
    assert client.get(path).status_code == 200, path
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return Counter(
        LISTS.sub("(?, ...)", LITERALS.sub("?", q["sql"])) for q in captured.captured_queries
    )


LITERALS = re.compile(r"'[^']*'|%s|\$\d+|\b\d+(\.\d+)?\b")
LISTS = re.compile(r"\(\?(, \?)*\)")


def case_params() -> list:
    params = []
    for name, kind, path in CASES:
        marks = []
        if name in GROWING:
            marks.append(pytest.mark.xfail(strict=True, reason=f"N+1: {GROWING[name]}"))
        params.append(pytest.param(kind, path, CEILING[name], id=name, marks=marks))
    return params


@pytest.mark.parametrize(("kind", "path", "ceiling"), case_params())
def test_queries_do_not_grow_with_the_data(workspace, client, kind, path, ceiling):
    requester = key_client(workspace) if kind == "api" else client
    shop = Shop(workspace).start()
    small = queries_of(requester, path(shop))
    shop.grow().grow()
    grown = queries_of(requester, path(shop))
    assert grown.total() == small.total(), "\n".join(
        [f"{small.total()} queries, then {grown.total()} with more data; only at the larger size:"]
        + [f"{n} x {sql[:400]}" for sql, n in (grown - small).most_common(5)]
        + ["only at the smaller size:"]
        + [f"{n} x {sql[:400]}" for sql, n in (small - grown).most_common(5)]
    )
    assert grown.total() <= ceiling, f"{grown.total()} queries, more than {ceiling}"
