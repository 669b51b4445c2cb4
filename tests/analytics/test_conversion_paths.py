"""Conversion paths on a hand-built journey set of real redirect clicks and orders: the API, the
page and its CSV say which paths converted, how long they were, how many days they took and what
the model credited early, middle and late touches."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from attribution import engine
from commerce import services as commerce_services
from commerce.attribution_values import RefundData
from tests.analytics.conftest import key_client, order_record
from tests.attribution.test_clicks import HUMAN_UA
from tests.attribution.test_engine import click
from tests.factories import MembershipFactory, PostFactory, StoreConnectionFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

ORDER_AT = datetime(2026, 11, 20, 15, tzinfo=UTC)
NOVEMBER = "from=2026-11-01&to=2026-11-30&model=last-touch"


@pytest.fixture
def journeys():
    """1: A (8 days before) > B, 90.00. 2: A (2 days before), 30.00. 3: B, B again, 60.00.
    4: A > B > A, 40.00, then refunded in full (credits no order). 5: A the same day, 20.00."""
    workspace = WorkspaceFactory()
    store = StoreConnectionFactory(workspace=workspace)
    shop = f"https://{store.shop_domain}"
    a = PostFactory(
        workspace=workspace, platform="instagram", caption="Scarf", link_url=f"{shop}/a"
    )
    b = PostFactory(workspace=workspace, platform="tiktok", caption="Tote", link_url=f"{shop}/b")
    plans = [
        ([(a, 8), (b, 1)], "90.00"), ([(a, 2)], "30.00"), ([(b, 5), (b, 4)], "60.00"),
        ([(a, 3), (b, 2), (a, 1)], "40.00"), ([(a, 0.1)], "20.00"),
    ]  # fmt: skip
    orders = []
    for n, (touches, total) in enumerate(plans, start=1):
        visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
        last = [click(visitor, post, ORDER_AT - timedelta(days=days)) for post, days in touches][-1]
        with time_machine.travel(ORDER_AT, tick=False):
            orders.append(order_record(store, n, at=ORDER_AT, total=total, osc_click=last))
    refund = RefundData(external_id="r4", amount=orders[3].total_price,
                        created_at=ORDER_AT + timedelta(days=1))  # fmt: skip
    commerce_services.refund_record(store=store, order_external_id="4", refund=refund)
    engine.order_attribute(order_id=orders[3].pk)
    return {"workspace": workspace, "a": a, "b": b}


def test_the_api_reports_the_paths_lengths_days_and_stage_credit(journeys):
    a, b = journeys["a"], journeys["b"]
    body = key_client(journeys["workspace"]).get(f"/commerce/revenue/paths?{NOVEMBER}").json()
    assert (body["orders"], body["revenue"]) == (4, "200.00")

    def path(row):
        return [(step["postId"], step["count"]) for step in row["steps"]]

    assert [(path(r), r["orders"], r["revenue"], r["share"]) for r in body["postPaths"]] == [
        ([(a.pk, 1)], 2, "50.00", "0.5000"),
        ([(a.pk, 1), (b.pk, 1)], 1, "90.00", "0.2500"),
        ([(b.pk, 2)], 1, "60.00", "0.2500"),
    ]
    platforms = [([s["platform"] for s in r["steps"]], r["orders"]) for r in body["platformPaths"]]
    assert platforms == [(["instagram"], 2), (["instagram", "tiktok"], 1), (["tiktok"], 1)]
    assert [(r["touches"], r["orders"]) for r in body["pathLengths"]] == [(1, 2), (2, 2)]
    days = {r["label"]: r["orders"] for r in body["daysToConversion"]}
    assert (days["Same day"], days["2–3 days"], days["4–7 days"], days["8–14 days"]) == (1, 1, 1, 1)
    # Last touch: everything to the late touch; one-touch journeys are late.
    assert body["stageCredit"] == [
        {"platform": "instagram", "label": "Instagram", "early": "0.00", "middle": "0.00",
         "late": "50.00", "total": "50.00"},
        {"platform": "tiktok", "label": "TikTok", "early": "0.00", "middle": "0.00",
         "late": "150.00", "total": "150.00"},
    ]  # fmt: skip
    first = (
        key_client(journeys["workspace"])
        .get(f"/commerce/revenue/paths?{NOVEMBER.replace('last-touch', 'first-touch')}")
        .json()["stageCredit"]
    )
    assert {r["platform"]: (r["early"], r["late"]) for r in first} == {
        "instagram": ("90.00", "50.00"), "tiktok": ("60.00", "0.00"),
    }  # fmt: skip
    tiktok = (
        key_client(journeys["workspace"])
        .get(f"/commerce/revenue/paths?{NOVEMBER}&platform=tiktok")
        .json()
    )
    assert tiktok["orders"] == 2


def test_the_page_and_its_csv_show_the_same_paths(journeys):
    a = journeys["a"]
    client = Client()
    client.force_login(MembershipFactory(workspace=journeys["workspace"]).user)
    page = client.get(f"/analytics/revenue/paths/?{NOVEMBER}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="post-paths"' in html and f'href="/analytics/posts/{a.pk}/' in html
    assert "×2" in html  # B twice in a row
    rows = list(csv.reader(io.StringIO(client.get(
        f"/analytics/revenue/paths/?{NOVEMBER}&export=post_paths").content.decode("utf-8-sig"))))  # fmt: skip
    assert rows[0] == ["path", "orders", "revenue", "share"]
    assert rows[1] == [str(a), "2", "50.00", "0.5000"]
    assert rows[3][0].endswith(" x2")
    assert client.get(f"/analytics/revenue/paths/?{NOVEMBER}&export=nope").status_code == 404
