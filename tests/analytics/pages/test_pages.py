"""The analytics pages through the test client, on orders credited by the real engine."""

import csv
import io
import re
from html import unescape

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analytics.revenue.pages import OrdersView
from commerce.services import coupon_save
from omnisocial import static_bundle
from tests.analytics.pages.conftest import order_record
from tests.factories import (
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page's visible text, whitespace collapsed, for exact phrases."""
    html = response.content.decode()
    html = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.getvalue().decode())))


def test_revenue_page_shows_the_headline_with_changes_platforms_top_content_and_funnel(
    client, shop
):
    response = client.get("/analytics/revenue/")
    assert response.status_code == 200
    page = text(response)
    assert "Oct 27, 2026 – Nov 25, 2026 · Last touch · compared with Sep 27 – Oct 26" in page
    assert "Total social revenue 150.00 USD +87.5% vs 80.00" in page
    assert "Credited orders 2 +100.0% vs 1" in page
    assert "Average order value 75.00 USD −6.3% vs 80.00" in page
    assert "ROAS of boosted posts — No boost spend in the range" in page
    assert "Instagram 100.00 1 Facebook 0.00 0 TikTok 50.00 1" in page
    a = shop["a"]
    assert f'href="/analytics/posts/{a.pk}/?"' in response.content.decode()
    assert (
        "=SUM(1,2) linen shirt day Nov 1 · ig-linen · Summer Sale Instagram Product 100.00 1 0 —"
        in page
    )
    assert f"Tote season Nov 1 · {shop['b'].reference} TikTok Product 50.00 1 0 —" in page
    assert "Total social revenue 150.00 2" in page  # the table's total is the headline
    assert "Impressions 0 — click-through rate Clicks 0 — orders per click Purchases 2" in page
    html = response.content.decode()
    assert html.count('class="plotly-graph-div"') == 2
    assert 'href="?export=posts"' in html
    assert f'<script src="/static/{static_bundle.script_path()}" defer></script>' in html
    assert "plotly-basic-" in static_bundle.script_path()  # `make install` fetched it


def test_the_model_platform_campaign_and_range_are_read_from_the_url(client, shop):
    page = text(client.get("/analytics/revenue/?platform=tiktok"))
    assert "Total social revenue 50.00 USD" in page
    assert (
        '<option value="tiktok" selected>'
        in client.get("/analytics/revenue/?platform=tiktok").content.decode()
    )
    assert "Total social revenue 100.00 USD" in text(
        client.get("/analytics/revenue/?campaign=summer-sale")
    )
    # Nov 21-25 holds only order #2 and the Nov 22 order without a signal.
    page = text(client.get("/analytics/revenue/?from=2026-11-21&to=2026-11-25&model=first-touch"))
    assert "Nov 21, 2026 – Nov 25, 2026 · First touch" in page
    assert "Total social revenue 50.00 USD" in page
    # A preset names a rolling range; the page marks it.
    response = client.get("/analytics/revenue/?range=7d")
    assert "Nov 19, 2026 – Nov 25, 2026" in text(response)
    assert 'href="?range=7d" aria-current="true"' in response.content.decode()
    assert "Oct 1, 2026 – Oct 31, 2026" in text(client.get("/analytics/revenue/?range=last-month"))


def test_the_revenue_page_compares_a_month_with_the_month_before_or_a_year_before(client, shop):
    month = text(client.get("/analytics/revenue/?range=this-month"))
    assert "Nov 1, 2026 – Nov 25, 2026 · Last touch · compared with Oct 1 – Oct 25" in month
    year = client.get("/analytics/revenue/?from=2026-11-01&to=2026-11-30&comparison=year")
    assert "compared with Nov 1 – Nov 30" in text(year)
    assert year.context["previous"].start.year == 2025
    assert '<option value="year" selected>Same period last year</option>' in year.content.decode()


def test_bad_filters_show_a_message_and_the_default_view(client, shop):
    response = client.get("/analytics/revenue/?model=nope&from=yesterday&platform=myspace")
    assert response.status_code == 400
    page = text(response)
    assert "Some filters could not be used" in page
    assert "from : 'yesterday' is not a date (YYYY-MM-DD)." in page
    assert "model : Unknown or disabled model 'nope'" in page
    assert "platform : Unknown platform" in page
    assert "Total social revenue 150.00 USD" in page


def test_every_revenue_table_downloads_as_csv_with_formulas_neutralised(client, shop):
    a, b = shop["a"], shop["b"]
    posts = rows_of(client.get("/analytics/revenue/?export=posts"))
    assert posts == [
        ["rank", "kind", "post_id", "reference", "platform", "content_type", "campaign",
         "published_at", "caption", "revenue", "credited_orders", "units", "avg_order_value",
         "unique_clicks", "converted_clicks", "conversion_rate", "ad_spend", "roas"],
        ["1", "post", str(a.pk), "ig-linen", "instagram", "product", "summer-sale",
         a.published_at.astimezone(a.workspace.zone).isoformat(),
         "'=SUM(1,2) linen shirt day", "100.00", "1", "2.00", "100.00", "0", "0", "",
         "0.00", ""],
        ["2", "post", str(b.pk), b.reference, "tiktok", "product", "",
         b.published_at.astimezone(b.workspace.zone).isoformat(), "Tote season", "50.00",
         "1", "2.00", "50.00", "0", "0", "", "0.00", ""],
    ]  # fmt: skip
    response = client.get("/analytics/revenue/?export=headline")
    assert response["Content-Disposition"] == (
        'attachment; filename="headline-last-touch-2026-10-27-2026-11-25.csv"'
    )
    assert rows_of(response)[1:3] == [
        ["revenue", "150.00", "80.00", "0.8750"],
        ["orders", "2", "1", "1.0000"],
    ]
    assert rows_of(client.get("/analytics/revenue/?export=platforms"))[1:] == [
        ["instagram", "100.00", "1"], ["facebook", "0.00", "0"], ["tiktok", "50.00", "1"],
    ]  # fmt: skip
    daily = rows_of(client.get("/analytics/revenue/?export=daily&from=2026-11-20&to=2026-11-21"))
    assert daily == [
        ["day", "instagram", "tiktok", "total"],
        ["2026-11-20", "100.00", "0.00", "100.00"],
        ["2026-11-21", "0.00", "50.00", "50.00"],
    ]
    assert rows_of(client.get("/analytics/revenue/?export=funnel"))[3] == ["purchases", "2", ""]
    assert client.get("/analytics/revenue/?export=secrets").status_code == 404


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx"])
def test_csv_cells_that_a_spreadsheet_would_run_start_with_a_quote(value):
    from analytics.revenue.exports import cell

    assert cell(value) == "'" + value
    assert cell("plain") == "plain"


def test_compare_models_shows_every_model_side_by_side(client, shop):
    response = client.get("/analytics/revenue/compare/")
    page = text(response)
    assert (
        "Platform First touch Last touch Multi-touch (linear) Position-based (40/20/40) "
        "Time decay (7-day half-life) Data-driven (Markov)" in page
    )
    assert "Total (USD) 150.00 150.00 150.00 150.00 150.00 150.00" in page
    assert "Instagram 100.00 100.00 100.00 100.00 100.00 100.00" in page
    rows = rows_of(client.get("/analytics/revenue/compare/?export=compare"))
    assert ["first-touch", "total", "", "150.00", "2"] in rows
    assert ["data-driven", "post", "ig-linen", "100.00", "1"] in rows


def test_post_analytics_shows_engagement_beside_the_post_revenue(client, shop):
    a = shop["a"]
    from tests.factories import PostMetricsFactory

    PostMetricsFactory(post=a, impressions=1200, reach=900, engagements=60, link_clicks=14)
    response = client.get(f"/analytics/posts/{a.pk}/")
    assert response.status_code == 200
    page = text(response)
    assert "Impressions 1,200 Reach 900 Engagements 60 Link clicks 14" in page
    # The cards hold the range (the last 30 days: #1 only), not all time...
    assert (
        "Revenue Oct 27 – Nov 25 · Last touch Total revenue 100.00 USD Credited orders 1 Units 2 "
        "Avg order value 100.00 Conversion rate — ROAS not boosted" in page
    )
    assert "Matched by Touches Credited orders Net credit utmContent 1 1 100.00" in page
    # ...and all time is asked for explicitly: #0 and #1, two units each.
    all_time = text(client.get(f"/analytics/posts/{a.pk}/?range=all"))
    assert (
        "Total revenue 180.00 USD Credited orders 2 Units 4 Avg order value 90.00 Conversion "
        "rate — ROAS not boosted" in all_time
    )
    assert "Matched by Touches Credited orders Net credit utmContent 2 2 180.00" in all_time
    orders = shop["orders"]
    assert f'href="/analytics/orders/{orders[1].pk}/?"' in response.content.decode()
    assert "#1001 Nov 20, 15:00 utmContent 100.0% 100.00" in page
    assert 'class="plotly-graph-div"' in response.content.decode()
    assert "Oct 27 – Nov 25: 100.00 USD credited from 0 unique human clicks." in page
    daily = rows_of(
        client.get(f"/analytics/posts/{a.pk}/?export=daily&from=2026-11-20&to=2026-11-20")
    )
    assert daily == [["day", "revenue", "clicks"], ["2026-11-20", "100.00", "0"]]
    b_page = text(client.get(f"/analytics/posts/{shop['b'].pk}/"))
    assert "Coupons it distributed TIKTOK10" in b_page
    # The post page links here.
    assert f'href="/analytics/posts/{a.pk}/"' in client.get(f"/posts/{a.pk}/").content.decode()


def test_segments_and_coupons_read_the_same_selectors(client, shop):
    page = text(client.get("/analytics/segments/?by=platform"))
    assert "Instagram 100.00 1 1 100.00 — 0.00 — TikTok 50.00 1 1 50.00 — 0.00 —" in page
    page = text(client.get("/analytics/segments/?by=campaign"))
    assert "Summer Sale 100.00 1 1 100.00 — 0.00 — No campaign 50.00 1 1 50.00 — 0.00 —" in page
    page = text(client.get("/analytics/segments/?by=audience"))
    assert "New vs returning customers" in page and "Acquisition month (first order)" in page
    rows = rows_of(client.get("/analytics/segments/?by=contentType&export=segments"))
    assert rows[1] == [
        "contentType", "product", "Product", "150.00", "2", "2", "75.00", "", "0.00", "",
    ]  # fmt: skip
    page = text(client.get("/analytics/coupons/"))
    assert f"TIKTOK10 — TikTok {shop['b'].reference} 1 50.00 0 —" in page
    assert rows_of(client.get("/analytics/coupons/?export=coupons"))[1] == [
        "TIKTOK10", "", "1", "50.00", shop["b"].reference, "0", "",
    ]  # fmt: skip


def test_orders_are_filtered_from_the_url_and_paginated(client, shop, store, monkeypatch):
    def numbers(query=""):
        return re.findall(r">#(\d+)</a>", client.get(f"/analytics/orders/{query}").content.decode())

    assert numbers() == ["1003", "1002", "1001"]
    assert numbers("?attributed=false") == ["1003"]
    assert numbers("?attributed=true") == ["1002", "1001"]
    assert numbers("?coupon=TIKTOK10") == ["1002"]
    assert numbers("?platform=instagram") == ["1001"]
    assert numbers("?campaign=summer-sale") == ["1001"]
    assert numbers("?minAmount=40&maxAmount=60") == ["1002"]
    assert numbers(f"?store={store.pk}&status=open") == ["1003", "1002", "1001"]
    assert numbers("?status=cancelled") == []
    assert numbers("?from=2026-10-01&to=2026-10-31") == ["1000"]
    response = client.get("/analytics/orders/?minAmount=lots&store=99999&status=lost")
    assert response.status_code == 400
    page = text(response)
    assert "minAmount : Enter a number." in page
    assert "store : Select a valid choice." in page
    assert "status : Select a valid choice. lost is not one of the available choices." in page
    rows = rows_of(client.get("/analytics/orders/?export=orders&attributed=true"))
    assert [row[0] for row in rows[1:]] == ["#1002", "#1001"]
    assert rows[2][-2:] == ["ig-linen", "100.00"]
    for n in range(51):
        order_record(store, 2000 + n, at=shop["orders"][3].created_at, total="5.00")
    page = text(client.get("/analytics/orders/"))
    assert "54 orders" in page and "Page 1 of 2" in page
    # The orders CSV streams, a chunk of orders at a time: nothing is read before the download.
    monkeypatch.setattr(OrdersView, "EXPORT_CHUNK", 10)
    with CaptureQueriesContext(connection) as read:
        download = client.get("/analytics/orders/?export=orders&range=all")
        before = len(read.captured_queries)
        lines = b"".join(download.streaming_content).decode().splitlines()
    assert download.streaming and len(lines) == 1 + store.workspace.orders.count() >= 1 + 54
    # 6 chunks of 10 orders, each with its credit and touches prefetched: the rows were read
    # while the body was written, not when the answer was made.
    assert len(read.captured_queries) - before >= 6
    assert len(numbers("?page=2")) == 4


def test_an_order_page_explains_its_credit_touch_by_touch_under_every_model(client, shop, store):
    a = shop["a"]
    coupon_save(workspace=a.workspace, code="LINEN5", posts=[a])
    from datetime import UTC, datetime

    # utm_content names ig-linen; the TikTok coupon adds no touch once a UTM matched.
    order = order_record(store, 3000, at=datetime(2026, 11, 23, 9, tzinfo=UTC), total="90.00",
                         utm_content="ig-linen", utm_source="instagram", coupons=["tiktok10"])  # fmt: skip
    page = text(client.get(f"/analytics/orders/{order.pk}/"))
    assert "Order #3000" in page
    assert "Credited revenue 90.00 USD" in page
    assert (
        "When Touch Matched by First touch Last touch Multi-touch Position-based Time decay "
        "Data-driven" in page
    )
    assert (
        "Nov 23, 09:00 Instagram ig-linen Nov 1, 2026 =SUM(1,2) linen shirt day utmContent ig-linen "
        "100.0% 90.00 100.0% 90.00 100.0% 90.00 100.0% 90.00 100.0% 90.00 100.0% 90.00" in page
    )
    bare = text(client.get(f"/analytics/orders/{shop['orders'][3].pk}/"))
    assert "No social touch matched this order" in bare
    assert "Check that the tracking snippet is installed" in bare


def test_another_workspaces_post_and_order_are_not_found(client, shop):
    other = WorkspaceFactory()
    theirs = PostFactory(workspace=other)
    their_store = StoreConnectionFactory(workspace=other, shop_domain="other.myshopify.com")
    from datetime import UTC, datetime

    their_order = order_record(their_store, 1, at=datetime(2026, 11, 20, tzinfo=UTC), total="9.00")
    assert client.get(f"/analytics/posts/{theirs.pk}/").status_code == 404
    assert client.get(f"/analytics/orders/{their_order.pk}/").status_code == 404
    assert "#1</a>" not in client.get("/analytics/orders/").content.decode()
    # Their member sees their own (empty) revenue, never ours.
    stranger = Client()
    stranger.force_login(MembershipFactory(workspace=other, user=UserFactory()).user)
    assert "Total social revenue 0.00 USD" in text(stranger.get("/analytics/revenue/"))


@pytest.mark.parametrize(
    "path",
    ["/analytics/revenue/", "/analytics/revenue/compare/", "/analytics/segments/",
     "/analytics/coupons/", "/analytics/orders/", "/analytics/posts/1/", "/analytics/orders/1/"],
)  # fmt: skip
def test_pages_need_a_login(anon_client, path):
    response = anon_client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_without_a_store_the_page_says_how_to_connect_one(client, workspace):
    page = client.get("/analytics/revenue/").content.decode()
    assert "Connect your store to see revenue." in page
    assert 'href="/commerce/stores/"' in page
    assert "No attributed revenue between Oct 27 and Nov 25, 2026." in text(
        client.get("/analytics/revenue/")
    )


def test_a_store_whose_orders_carry_no_utms_shows_what_to_check(client, workspace, store, today):
    order_record(store, 1, at=today, total="20.00")
    page = text(client.get("/analytics/revenue/"))
    assert "Connect your store" not in page
    assert (
        "Demo Boutique (Shopify): Orders arrive but none carries a UTM, click id or coupon: check "
        "that the tracking snippet is installed and that UTMs reach checkout." in page
    )


def test_an_empty_range_says_so_and_offers_to_clear_filters(client, shop):
    page = text(client.get("/analytics/revenue/?from=2026-01-01&to=2026-01-31&platform=facebook"))
    assert "No attributed revenue between Jan 1 and Jan 31, 2026 for these filters." in page
    assert "Try a longer range or clear the filters" in page
    assert "Total social revenue 0.00 USD" in page


def test_the_revenue_page_reads_a_bounded_number_of_queries(
    client, shop, store, django_assert_max_num_queries
):
    client.get("/analytics/revenue/")
    for n in range(30):
        order_record(store, 5000 + n, at=shop["orders"][1].created_at, total="10.00",
                     utm_content="ig-linen")  # fmt: skip
        PostFactory(workspace=shop["a"].workspace, platform="facebook")
    # Revenue by post reads its spend, converted clicks and post-less rows in one query each.
    with django_assert_max_num_queries(35):
        assert client.get("/analytics/revenue/").status_code == 200


def test_every_page_renders_on_the_demo_workspace(db):
    call_command("seed_demo", stdout=io.StringIO())
    browser = Client()
    assert browser.login(username="demo@example.com", password="demo")
    from omnisocial.models import Workspace

    demo = Workspace.objects.get(slug="demo")
    post = demo.posts.order_by("pk").first()
    order = demo.orders.order_by("pk").first()
    for path in ["/analytics/revenue/", "/analytics/revenue/compare/", "/analytics/segments/?by=audience",
                 "/analytics/coupons/", "/analytics/orders/", f"/analytics/posts/{post.pk}/",
                 f"/analytics/orders/{order.pk}/", "/analytics/revenue/?model=data-driven&range=90d"]:  # fmt: skip
        assert browser.get(path).status_code == 200, path


def test_the_revenue_page_shows_kpi_progress_and_open_alerts(client, shop, workspace, today):
    from decimal import Decimal

    from analytics.kpis.services import kpi_create, kpis_evaluate
    from attribution.engine import workspace_recalculate

    workspace_recalculate(workspace=workspace)
    kpi_create(workspace=workspace, name="November revenue", target=Decimal("1000.00"))
    kpis_evaluate(workspace=workspace, now=today)  # 150.00 by Nov 25 of 30 days: far behind 1000.00
    page = text(client.get("/analytics/revenue/"))
    assert "Revenue KPIs All KPIs" in page
    assert "November revenue Nov 1 – Nov 30" in page
    # 150.00 after 24.5 of 30 days (noon on the 25th) projects to 150.00 / (24.5 / 30) = 183.67.
    assert "150.00 183.67 1,000.00 Falling behind" in page
    assert "Open alerts (1)" in page
