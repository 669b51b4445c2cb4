"""Every figure reconciles: the same question gets the same answer on every page, API answer, CSV
and KPI, to the cent, under every model, range and filter.

The shop is generated through the real path (clicks through the /r/ redirect, orders through the
order service, credit through the engine) with what makes reconciliation hard: multi-touch
journeys across platforms, orders in EUR and GBP converted at day rates, refunds inside and
outside the range (one fully refunding its order), a cancelled order, revenue credited to a
platform with no post, a coupon distributed by two posts and a boosted post without sales. For
ranges, models and filters drawn by hypothesis, docs/metrics.md's identities must hold.
"""

import csv
import io
import random
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import unescape

import pytest
import time_machine
from django.db.models import Sum
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribution import engine
from attribution.models import RefundAttribution, RevenueAttribution
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData, RefundData
from omnisocial.models import PostMetrics
from tests.analytics.conftest import key_client
from tests.attribution.test_clicks import HUMAN_UA
from tests.attribution.test_engine import click
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    UserFactory,
    WorkspaceFactory,
)

TODAY = datetime(2026, 11, 25, 17, tzinfo=UTC)
FIRST_DAY, LAST_DAY = date(2026, 10, 1), date(2026, 12, 10)  # ranges reach past today too
MODELS = [
    "first-touch", "last-touch", "multi-touch", "position-based", "time-decay", "data-driven",
]  # fmt: skip
CENT = Decimal("0.01")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def _order(store, n, *, at, total, attribution=None, coupons=(), refunds=(), cancelled=False,
           currency="USD", units=1, customer=""):  # fmt: skip
    total = Decimal(total)
    data = OrderData(
        external_id=f"o{n}", order_number=f"#{n}", created_at=at,
        updated_at=max([at, *(r.created_at for r in refunds)]), currency=currency,
        total_price=total, attribution=attribution or Attribution(), coupon_codes=list(coupons),
        customer_id=customer or f"c{n}", refunds=list(refunds),
        cancelled_at=at + timedelta(hours=1) if cancelled else None,
        lines=[LineData(title="Item", quantity=units, price=(total / units).quantize(CENT))],
    )  # fmt: skip
    order = commerce_services.order_save(store=store, data=data)
    engine.order_attribute(order_id=order.pk)
    return order


@pytest.fixture
def shop(db):
    """About 60 orders from Oct 5 to Nov 25 (see the module docstring), laid out by a seeded
    generator so every run builds the same shop."""
    rng = random.Random(20261125)
    workspace = WorkspaceFactory(time_zone="America/New_York", reporting_currency="USD",
                                 attribution_models=MODELS)  # fmt: skip
    user = UserFactory()
    MembershipFactory(user=user, workspace=workspace)
    usd = StoreConnectionFactory(workspace=workspace)
    eur = StoreConnectionFactory(workspace=workspace, shop_domain="eu.example.com",
                                 currency="EUR", platform="custom")  # fmt: skip
    gbp = StoreConnectionFactory(workspace=workspace, shop_domain="uk.example.com",
                                 currency="GBP", platform="custom")  # fmt: skip
    days = [date(2026, 9, 20) + timedelta(n) for n in range(80)]
    commerce_services.exchange_rates_load(
        rates=[(day, "EUR", "USD", Decimal("1.0837") + Decimal(n % 5) / 100)
               for n, day in enumerate(days)]
    )  # fmt: skip
    commerce_services.exchange_rates_load(
        rates=[(day, "GBP", "USD", Decimal("1.2719")) for day in days], workspace=workspace
    )
    spring, winter = (CampaignFactory(workspace=workspace, name=name, slug=name.lower())
                      for name in ("Spring", "Winter"))  # fmt: skip
    link = f"https://{usd.shop_domain}/products/"
    posts = [
        PostFactory(workspace=workspace, platform=platform, campaign=campaign,
                    content_type=kind, link_url=f"{link}{n}",
                    published_at=datetime(2026, 9, 25, tzinfo=UTC))
        for n, (platform, campaign, kind) in enumerate([
            ("instagram", spring, "product"), ("instagram", winter, "lifestyle"),
            ("facebook", spring, "promo"), ("facebook", None, "ugc"),
            ("tiktok", winter, "product"), ("tiktok", None, "lifestyle"),
        ])
    ]  # fmt: skip
    boosted_idle = PostFactory(workspace=workspace, platform="facebook", boosted_spend="40.00",
                               link_url=f"{link}idle")  # fmt: skip
    posts[0].boosted_spend = Decimal("120.00")
    posts[0].save(update_fields=["boosted_spend"])
    for n, day in enumerate(days[10:70]):
        PostMetrics.objects.create(post=posts[0], day=day, impressions=500 + n, spend="2.00")
        PostMetrics.objects.create(post=boosted_idle, day=day, impressions=90, spend="0.50")
    commerce_services.coupon_save(workspace=workspace, code="duo", posts=[posts[2], posts[5]])

    stores = [usd, usd, usd, eur, gbp]
    for n in range(60):
        at = datetime(2026, 10, 5, 14, tzinfo=UTC) + timedelta(hours=rng.randint(0, 51 * 24 - 1))
        store = rng.choice(stores)
        kind = rng.random()
        attribution, coupons = Attribution(), []
        if kind < 0.55:  # a journey of one to three clicks, the last one carried to the store
            visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
            clicked = [click(visitor, post, at - timedelta(hours=6 * (k + 1)))
                       for k, post in enumerate(rng.sample(posts, rng.randint(1, 3)))]  # fmt: skip
            attribution = Attribution(osc_click=clicked[0])
        elif kind < 0.7:
            post = rng.choice(posts)
            attribution = Attribution(utm_content=post.reference, utm_source=post.platform)
        elif kind < 0.8:  # a social source alone: a platform's revenue, no post's
            attribution = Attribution(utm_source=rng.choice(["instagram", "facebook"]))
        elif kind < 0.9:
            coupons = ["duo"]
        total = Decimal(rng.randint(1500, 25000)) / 100
        refunds = []
        if n % 7 == 3:  # partial, a few days later (sometimes after the range ends)
            refunds = [RefundData(f"r{n}", (total / 3).quantize(CENT),
                                  min(at + timedelta(days=rng.randint(0, 12)), TODAY))]  # fmt: skip
        if n == 17:  # fully refunded: counts as no order, its sale and refund still book
            refunds = [RefundData(f"r{n}", total, min(at + timedelta(days=2), TODAY))]
        _order(store, n, at=at, total=total, attribution=attribution, coupons=coupons,
               refunds=refunds, cancelled=n == 29, currency=store.currency,
               units=rng.randint(1, 3),
               # Repeat buyers only among orders without a click: a click journey teaches the
               # engine the buyer's visitor, which a rebuild then applies to the buyer's other
               # orders too (the live path of an earlier order could not know it yet).
               customer=f"c{n}" if attribution.osc_click else f"r{n % 4}")  # fmt: skip
    client = Client()
    client.force_login(user)
    return {"workspace": workspace, "api": key_client(workspace), "client": client,
            "posts": [*posts, boosted_idle], "campaigns": [spring, winter]}  # fmt: skip


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def total(rows, key="revenue") -> Decimal:
    return sum((Decimal(row[key]) for row in rows), Decimal(0))


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def page_text(response) -> str:
    html = re.sub(
        r"<script.*?</script>|<style.*?</style>", " ", response.content.decode(), flags=re.S
    )
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def receipts(client, query) -> tuple[Decimal, Decimal]:
    """The receipts page's figure: sales less refunds, and credited orders (as shown)."""
    html = client.get(f"/analytics/receipts/?{query}").content.decode()
    total = re.search(r'id="receipts-total">([-\d,.]+)', html).group(1)
    orders = re.search(r'id="receipts-orders">([\d,.]+)<', html).group(1)
    return Decimal(total.replace(",", "")), Decimal(orders.replace(",", ""))


def assert_receipts(client, query, revenue, orders):
    shown_total, shown_orders = receipts(client, query)
    assert shown_total == Decimal(revenue), query
    # The page shows credited orders to two places (exact in the API).
    assert shown_orders == Decimal(orders).quantize(CENT, ROUND_HALF_UP), query


def raw_revenue(workspace, model, start, end) -> Decimal:
    """The oracle: sales on the order's day less refunds on the refund's day, from raw rows."""
    sales = RevenueAttribution.objects.filter(
        workspace=workspace, attribution_model=model, order_day__gte=start, order_day__lte=end
    ).aggregate(s=Sum("gross_revenue"))["s"] or Decimal(0)
    back = RefundAttribution.objects.filter(
        workspace=workspace, attribution_model=model, day__gte=start, day__lte=end
    ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    return money(sales - back)


def assert_reconciles(shop, model, start, end):
    workspace, api, client = shop["workspace"], shop["api"], shop["client"]
    query = f"model={model}&from={start}&to={end}"
    board = api.get(f"/commerce/revenue/dashboard?{query}").json()
    revenue = Decimal(board["totalSocialRevenue"]["value"])
    orders = Decimal(board["orders"]["value"])
    assert revenue == raw_revenue(workspace, model, start, end)
    assert orders == orders.to_integral_value()  # whole orders under every model
    # Breakdowns of the headline.
    for rows in (board["revenueByPlatform"], board["revenueByPost"]):
        assert (total(rows), total(rows, "orders")) == (revenue, orders)
    for by in ("platform", "campaign", "contentType"):
        rows = api.get(f"/commerce/segments?by={by}&{query}").json()["results"]
        assert (total(rows), total(rows, "orders")) == (revenue, orders), by
    audience = api.get(f"/commerce/segments?by=audience&{query}").json()["results"]
    for family in ("newVsReturning", "acquisitionMonth"):
        rows = [row for row in audience if row["family"] == family]
        assert (total(rows), total(rows, "orders")) == (revenue, orders), family
    # Every post's own answer sums to revenue by post.
    per_post = [api.get(f"/commerce/revenue/posts/{post.pk}?{query}").json()
                for post in shop["posts"]]  # fmt: skip
    post_rows = [row for row in board["revenueByPost"] if row["kind"] != "noPost"]
    assert total(per_post, "totalRevenue") == total(post_rows)
    assert total(per_post, "totalOrders") == total(post_rows, "orders")
    for figures in per_post:
        assert figures["conversionRate"] is None or Decimal(figures["conversionRate"]) <= 1
    # The page and its downloads.
    page = page_text(client.get(f"/analytics/revenue/?{query}"))
    assert f"Total social revenue {revenue:,.2f} USD" in page
    daily = csv_rows(client.get(f"/analytics/revenue/?{query}&export=daily"))
    assert total(daily, "total") == revenue
    assert len(daily) == (end - start).days + 1
    platforms = csv_rows(client.get(f"/analytics/revenue/?{query}&export=platforms"))
    assert (total(platforms), total(platforms, "orders")) == (revenue, orders)
    by_post = csv_rows(client.get(f"/analytics/revenue/?{query}&export=posts"))
    assert (total(by_post), total(by_post, "credited_orders")) == (revenue, orders)
    segments = csv_rows(client.get(f"/analytics/segments/?by=campaign&{query}&export=segments"))
    assert total(segments) == revenue
    # A KPI over the same days counts the same revenue.
    kpi = api.post("/analytics/api/kpis", {
        "name": "Range", "target": "100.00", "period": "custom", "startDate": str(start),
        "endDate": str(end), "attributionModel": model,
    }, format="json")  # fmt: skip
    assert kpi.status_code == 201, kpi.json()
    assert money(kpi.json()["actual"]) == revenue
    api.delete(f"/analytics/api/kpis/{kpi.json()['id']}")
    # Every figure's receipts: the orders behind it add up to it.
    assert_receipts(client, query, revenue, orders)
    for row in board["revenueByPlatform"]:
        assert_receipts(
            client, f"{query}&platform={row['platform']}", row["revenue"], row["orders"]
        )
    posts = [row for row in board["revenueByPost"] if row["kind"] == "post"][:4]
    for row in posts + [row for row in board["revenueByPost"] if row["kind"] == "noPost"]:
        if row["kind"] == "post":
            assert_receipts(client, f"{query}&post={row['postId']}", row["revenue"], row["orders"])
        elif row["kind"] == "noPost":
            assert_receipts(client, f"{query}&platform={row['platform']}&post=none",
                            row["revenue"], row["orders"])  # fmt: skip
    for row in api.get(f"/commerce/segments?by=campaign&{query}").json()["results"]:
        cell = f"campaign={row['segment']}" if row["segment"] else "campaign_none=1"
        assert_receipts(client, f"{query}&{cell}", row["revenue"], row["orders"])
    for row in api.get(f"/commerce/segments?by=contentType&{query}").json()["results"]:
        platform = row["segment"].removeprefix("noPost:")
        cell = (f"platform={platform}&post=none" if row["segment"].startswith("noPost:")
                else f"content_type={row['segment']}")  # fmt: skip
        assert_receipts(client, f"{query}&{cell}", row["revenue"], row["orders"])
    return board


def assert_filters_reconcile(shop, model, start, end, board):
    api = shop["api"]
    query = f"model={model}&from={start}&to={end}"
    for row in board["revenueByPlatform"]:
        narrowed = api.get(f"/commerce/revenue/dashboard?{query}&platform={row['platform']}").json()
        assert narrowed["totalSocialRevenue"]["value"] == row["revenue"]
        assert narrowed["orders"]["value"] == row["orders"]
        assert (total(narrowed["revenueByPost"]), total(narrowed["revenueByPost"], "orders")) == (
            Decimal(row["revenue"]), Decimal(row["orders"]),
        )  # fmt: skip
    campaigns = api.get(f"/commerce/segments?by=campaign&{query}").json()["results"]
    for row in campaigns:
        if not row["segment"]:
            continue
        narrowed = api.get(f"/commerce/revenue/dashboard?{query}&campaign={row['segment']}").json()
        assert narrowed["totalSocialRevenue"]["value"] == row["revenue"]
        assert narrowed["orders"]["value"] == row["orders"]


ranges = st.tuples(st.integers(0, (LAST_DAY - FIRST_DAY).days), st.integers(0, 45)).map(
    lambda r: (FIRST_DAY + timedelta(r[0]), min(FIRST_DAY + timedelta(r[0] + r[1]), LAST_DAY))
)


def test_every_figure_reconciles_for_any_range_model_and_filter(shop):
    @settings(max_examples=12, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(days=ranges, model=st.sampled_from(MODELS))
    def check(days, model):
        board = assert_reconciles(shop, model, *days)
        assert_filters_reconcile(shop, model, *days, board)

    check()
    # The whole range holds every kind of row the shop has.
    board = assert_reconciles(shop, "multi-touch", date(2026, 10, 1), date(2026, 11, 30))
    kinds = {row["kind"] for row in board["revenueByPost"]}
    assert kinds == {"post", "noPost"}
    idle = next(row for row in board["revenueByPost"] if row["postId"] == shop["posts"][-1].pk)
    assert (idle["revenue"], idle["roas"]) == ("0.00", "0.0000")  # boosted, no sales: ROAS 0
    # Multi-touch gives platforms fractional orders, which still add up to whole ones.
    assert any(Decimal(r["orders"]) % 1 for r in board["revenueByPlatform"])


def test_every_model_splits_the_same_revenue_and_the_rebuild_changes_no_figure(shop):
    start, end = date(2026, 10, 1), date(2026, 11, 25)
    api = shop["api"]
    compare = api.get(f"/commerce/revenue/dashboard?from={start}&to={end}&compare=true").json()
    assert len({m["totalSocialRevenue"] for m in compare["models"]}) == 1
    assert len({m["orders"] for m in compare["models"]}) == 1
    before = {m["model"]: m["totalSocialRevenue"] for m in compare["models"]}
    engine.workspace_recalculate(workspace=shop["workspace"])
    for model in MODELS:
        board = assert_reconciles(shop, model, start, end)
        assert board["totalSocialRevenue"]["value"] == before[model]
