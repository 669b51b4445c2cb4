"""Two models side by side (GA4's model comparison), on journeys of real redirect clicks: the API,
the compare page and its CSV give the same per-post changes, and each model's rows sum to its
total."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from tests.analytics.conftest import key_client, order_record
from tests.attribution.test_clicks import HUMAN_UA
from tests.attribution.test_engine import click
from tests.factories import (
    MembershipFactory,
    PostFactory,
    PostMetricsFactory,
    StoreConnectionFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

ORDER_AT = datetime(2026, 11, 20, 15, tzinfo=UTC)
NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def journeys():
    """Visitor 1 clicks post A, then post B a week later, and buys 90.00 (B's click id); visitor
    2 clicks A only and buys 30.00. First touch: A 120.00, B 0; last touch: A 30.00, B 90.00."""
    workspace = WorkspaceFactory()
    store = StoreConnectionFactory(workspace=workspace)
    shop = f"https://{store.shop_domain}"
    a = PostFactory(workspace=workspace, platform="instagram", caption="Linen scarf, autumn "
                    "colours, the whole story", link_url=f"{shop}/a")  # fmt: skip
    PostMetricsFactory(post=a, spend=Decimal("20.00"))  # ad spend on Nov 1
    b = PostFactory(workspace=workspace, platform="tiktok", link_url=f"{shop}/b")
    first, second = Client(HTTP_USER_AGENT=HUMAN_UA), Client(HTTP_USER_AGENT=HUMAN_UA)
    click(first, a, ORDER_AT - timedelta(days=8))
    last = click(first, b, ORDER_AT - timedelta(days=1))
    only = click(second, a, ORDER_AT - timedelta(days=2))
    with time_machine.travel(ORDER_AT, tick=False):
        order_record(store, 1, at=ORDER_AT, total="90.00", osc_click=last)
        order_record(store, 2, at=ORDER_AT, total="30.00", osc_click=only)
    return {"workspace": workspace, "a": a, "b": b}


def test_the_api_gives_each_posts_change_between_two_models(journeys):
    a, b = journeys["a"], journeys["b"]
    api = key_client(journeys["workspace"])
    body = api.get(
        f"/commerce/revenue/model-comparison?{NOVEMBER}&base=last-touch&against=first-touch"
    ).json()
    assert body["base"]["model"] == "last-touch" and body["against"]["model"] == "first-touch"
    assert body["base"]["rewards"].startswith("Rewards the post clicked last")
    assert body["base"]["totalSocialRevenue"] == body["against"]["totalSocialRevenue"] == "120.00"
    assert body["revenueChange"] == "0.00"
    rows = {row["postId"]: row for row in body["results"]}
    assert rows[a.pk]["base"] == {"revenue": "30.00", "orders": "1.000000", "roas": "1.5000"}
    assert rows[a.pk]["against"] == {"revenue": "120.00", "orders": "2.000000", "roas": "6.0000"}
    assert (rows[a.pk]["revenueChange"], rows[a.pk]["revenueChangePct"]) == ("90.00", "3.0000")
    assert (rows[a.pk]["ordersChange"], rows[a.pk]["ordersChangePct"]) == ("1.000000", "1.0000")
    assert rows[b.pk]["base"]["revenue"] == "90.00" and rows[b.pk]["against"]["revenue"] == "0.00"
    assert (rows[b.pk]["revenueChange"], rows[b.pk]["revenueChangePct"]) == ("-90.00", "-1.0000")
    for side in ("base", "against"):
        assert sum(Decimal(r[side]["revenue"]) for r in body["results"]) == Decimal("120.00")

    refused = api.get("/commerce/revenue/model-comparison?against=newest-touch")
    assert refused.status_code == 400
    assert "against" in refused.json()["fields"]


def test_the_compare_page_and_its_csv_show_the_same_changes(journeys):
    a, b = journeys["a"], journeys["b"]
    client = Client()
    client.force_login(MembershipFactory(workspace=journeys["workspace"]).user)
    query = f"{NOVEMBER}&base=last-touch&against=first-touch"
    page = client.get(f"/analytics/revenue/compare/?{query}")
    assert page.status_code == 200
    rows = {
        row["post"].pk if row["post"] else None: row for row in page.context["comparison"]["rows"]
    }
    assert rows[a.pk]["revenue_change"] == Decimal("90.00")
    html = page.content.decode()
    assert 'title="Linen scarf, autumn colours, the whole story"' in html  # full caption on hover
    assert "Rewards the post that first brought the buyer" in html
    exported = page_csv(client.get(f"/analytics/revenue/compare/?{query}&export=comparison"))
    by_reference = {row["post_reference"]: row for row in exported}
    assert by_reference[a.reference]["revenue_change"] == "90.00"
    assert by_reference[b.reference]["revenue_change_pct"] == "-1.0000"
    bad = client.get("/analytics/revenue/compare/?base=newest-touch")
    assert bad.status_code == 400
    assert "base" in bad.context["errors"]


def page_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_api_answers_the_largest_rows_first_up_to_its_limit(journeys):
    """`limit` keeps the first rows (largest revenue first); `count` says how many there are and
    the totals still count them all. A bad limit is a 400 naming it."""
    api = key_client(journeys["workspace"])
    url = f"/commerce/revenue/model-comparison?{NOVEMBER}&base=last-touch&against=first-touch"
    whole = api.get(url).json()
    first = api.get(f"{url}&limit=1").json()
    assert whole["count"] == first["count"] == len(whole["results"]) >= 2
    assert first["results"] == whole["results"][:1]
    assert first["base"] == whole["base"] and first["revenueChange"] == whole["revenueChange"]
    for bad in ("0", "-1", "x", "１", "10001"):
        refused = api.get(f"{url}&limit={bad}")
        assert refused.status_code == 400 and "limit" in refused.json()["fields"], bad
