"""The posts page as a creative view: every post's figures for the range and model, sortable,
with its CSV, on the small shop of conftest (ig-linen 100.00 in range, the TikTok post 50.00 by
its coupon)."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.factories import PostFactory, PostMetricsFactory

pytestmark = pytest.mark.django_db


def test_every_post_is_listed_with_its_figures_for_the_range_and_sorts(client, shop, workspace):
    a, b = shop["a"], shop["b"]
    quiet = PostFactory(
        workspace=workspace,
        platform="facebook",
        caption="Tote season",
        published_at=datetime(2026, 11, 2, tzinfo=UTC),
    )  # same caption as b
    PostMetricsFactory(post=b, day=datetime(2026, 11, 21).date(), spend=Decimal("25.00"))

    rows = client.get("/posts/").context["rows"]
    assert [(r["post"], r["revenue"], r["orders"]) for r in rows] == [
        (a, Decimal("100.00"), Decimal("1.000000")), (b, Decimal("50.00"), Decimal("1.000000")),
        (quiet, Decimal("0.00"), Decimal("0.000000")),
    ]  # fmt: skip
    assert (rows[1]["ad_spend"], rows[1]["roas"]) == (Decimal("25.00"), Decimal("2.0000"))
    # Ascending revenue, then spend first: posts without the figure go last either way.
    ascending = client.get("/posts/?sort=revenue").context["rows"]
    assert [r["post"] for r in ascending] == [quiet, b, a]
    by_roas = client.get("/posts/?sort=-roas").context["rows"]
    assert [r["post"] for r in by_roas][0] == b
    # Earlier range: only #0 (80.00, ig-linen); another model, the same scope.
    october = client.get("/posts/?from=2026-10-01&to=2026-10-31&model=first-touch").context["rows"]
    assert october[0]["post"] == a and october[0]["revenue"] == Decimal("80.00")
    # Two posts with one caption are told apart by date and reference.
    html = client.get("/posts/").content.decode()
    assert f"Nov 2, 2026 · <code>{quiet.reference}</code>" in html
    assert f"<code>{b.reference}</code>" in html
    tiktok = client.get("/posts/?platform=tiktok").context["rows"]
    assert [r["post"] for r in tiktok] == [b]


def test_the_posts_csv_and_a_bad_sort(client, shop):
    rows = list(csv.DictReader(io.StringIO(
        client.get("/posts/?export=posts").content.decode("utf-8-sig"))))  # fmt: skip
    assert [(r["reference"], r["revenue"]) for r in rows][0] == ("ig-linen", "100.00")
    assert rows[0]["caption"].startswith("'=SUM")  # formulas neutralised
    bad = client.get("/posts/?sort=likes")
    assert bad.status_code == 400
    assert "sort" in bad.context["errors"]
