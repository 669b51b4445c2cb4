"""Ad spend has one source, the posts' daily metrics: the post form's boost writes them, and ROAS,
spend and the funnel read them on every page, API answer and CSV, to the cent."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from omnisocial.models import PostMetrics
from tests.factories import MembershipFactory, PostFactory, WorkspaceFactory

NOVEMBER = "from=2026-11-01&to=2026-11-30"


def boost(client, post, spend, start="2026-11-01", end="2026-11-10", **changes):
    return client.post(f"/posts/{post.pk}/edit/", {
        "platform": post.platform, "caption": post.caption, "link_url": post.link_url,
        "content_type": post.content_type, "external_id": post.external_id,
        "campaign": post.campaign_id or "", "boost_spend": spend, "boost_start": start,
        "boost_end": end, **changes,
    })  # fmt: skip


def test_a_boost_from_the_post_form_is_the_spend_roas_divides_by_everywhere(client, api, shop):
    a = shop["a"]  # earned 100.00 on November 10th
    assert boost(client, a, "30.00").status_code == 302

    assert list(a.metrics.values_list("day", "spend", "source")) == [
        (date(2026, 11, n), Decimal("3.00"), "manual") for n in range(1, 11)
    ]
    post = api.get(f"/commerce/revenue/posts/{a.pk}?{NOVEMBER}").json()
    assert (post["adSpend"], post["roas"], post["boosted"]) == ("30.00", "3.3333", True)
    dashboard = api.get(f"/commerce/revenue/dashboard?{NOVEMBER}").json()
    assert dashboard["adSpend"]["value"] == "30.00"
    assert dashboard["roas"]["value"] == "3.3333"  # 100.00 of the boosted post / 30.00
    assert dashboard["blendedRoas"]["value"] == "5.0000"  # 150.00 of all social / 30.00
    [row] = [r for r in dashboard["revenueByPost"] if r["postId"] == a.pk]
    assert (row["adSpend"], row["roas"]) == ("30.00", "3.3333")

    overview = client.get(f"/analytics/revenue/?{NOVEMBER}").content.decode()
    assert "3.33×" in overview and "5.00×" in overview
    analytics = client.get(f"/analytics/posts/{a.pk}/?{NOVEMBER}").content.decode()
    assert "3.33×" in analytics
    listed = client.get(f"/posts/?{NOVEMBER}&export=posts")
    rows = {r["reference"]: r for r in csv.DictReader(io.StringIO(listed.content.decode()))}
    assert (rows["post-17"]["ad_spend"], rows["post-17"]["roas"]) == ("30.00", "3.3333")


def test_a_range_with_part_of_the_boost_counts_its_days_only(api, client, shop):
    a = shop["a"]
    boost(client, a, "10.00", start="2026-10-29", end="2026-11-01")  # 2.50 a day
    post = api.get(f"/commerce/revenue/posts/{a.pk}?{NOVEMBER}").json()
    assert (post["adSpend"], post["roas"]) == ("2.50", "40.0000")


def test_a_new_boost_replaces_the_last_and_zero_removes_it(client, shop):
    a = shop["a"]
    boost(client, a, "10.00")
    boost(client, a, "1.00", start="2026-11-20", end="2026-11-22")  # 0.34, 0.33, 0.33
    assert list(a.metrics.values_list("day", "spend")) == [
        (date(2026, 11, 20), Decimal("0.34")),
        (date(2026, 11, 21), Decimal("0.33")),
        (date(2026, 11, 22), Decimal("0.33")),
    ]
    form = client.get(f"/posts/{a.pk}/edit/").context["form"]
    assert (form.initial["boost_spend"], form.initial["boost_start"]) == (
        Decimal("1.00"), date(2026, 11, 20),
    )  # fmt: skip
    boost(client, a, "0", start="", end="")
    assert not a.metrics.exists()


def test_a_boost_over_spend_from_a_platform_is_refused_and_nothing_changes(client, shop):
    a = shop["a"]
    PostMetrics.objects.create(post=a, day=date(2026, 11, 5), spend=Decimal("7.00"), source="meta")
    response = boost(client, a, "30.00", caption="Changed")
    assert response.status_code == 400
    assert response.context["form"].errors["boost_start"] == [
        "Spend on 2026-11-05 already comes from Meta: boost other days, or correct it there."
    ]
    a.refresh_from_db()
    assert a.caption == "Linen shirt"
    assert list(a.metrics.values_list("day", "spend", "source")) == [
        (date(2026, 11, 5), Decimal("7.00"), "meta")
    ]


def test_a_boost_needs_its_days(client, shop):
    response = boost(client, shop["a"], "30.00", start="", end="")
    assert response.status_code == 400
    assert response.context["form"].errors["boost_start"] == [
        "Give the boost's first and last days."
    ]
    assert not shop["a"].metrics.exists()


def test_another_workspaces_post_cannot_be_boosted(client, shop):
    theirs = PostFactory(workspace=WorkspaceFactory())
    assert boost(client, theirs, "30.00").status_code == 404
    assert not theirs.metrics.exists()


def test_a_viewer_cannot_boost(shop, workspace):
    viewer = Client()
    viewer.force_login(MembershipFactory(workspace=workspace, role="viewer").user)
    assert boost(viewer, shop["a"], "30.00").status_code == 403
    assert not shop["a"].metrics.exists()


@pytest.fixture
def api(workspace):
    from tests.analytics.conftest import key_client

    return key_client(workspace)


def test_the_posts_stored_roas_divides_by_the_same_spend(api, shop, workspace):
    """PostRevenue (the admin's per-post rollup) reads its spend from the posts' daily metrics
    too, in the live path and in a full rebuild: it read the post's boosted_spend, which spend
    imported from a platform or a file never fills."""
    from attribution import engine
    from attribution.models import PostRevenue

    a = shop["a"]  # earned 100.00 on November 10th
    rows = [{"reference": a.reference, "date": f"2026-11-0{n}", "spend": "20.00"} for n in (1, 2)]
    assert api.post("/api/post-metrics", {"rows": rows}, format="json").status_code == 200
    a.refresh_from_db()
    assert a.boosted_spend == 0
    engine.order_attribute(order_id=shop["orders"][0].pk)  # the live path, after the spend
    live = PostRevenue.objects.get(post=a, attribution_model="last-touch")
    assert (live.total_revenue, live.roas) == (Decimal("100.00"), Decimal("2.5000"))
    engine.workspace_recalculate(workspace=workspace)
    rebuilt = PostRevenue.objects.get(post=a, attribution_model="last-touch")
    assert rebuilt.roas == Decimal("2.5000")
    assert PostRevenue.objects.get(post=shop["b"], attribution_model="last-touch").roas is None


def test_spend_and_roas_per_platform_campaign_and_content_type_agree_everywhere(api, client, shop):
    """Segments carry the spend of their posts (the daily metrics) and ROAS = revenue / spend,
    the same in the API, on the page and in the CSV; each segment family's spend sums to the
    headline's."""
    a, b = shop["a"], shop["b"]  # a: Instagram, summer-sale, 100.00; b: TikTok, 50.00
    rows = [{"reference": a.reference, "date": "2026-11-05", "spend": "40.00"},
            {"reference": b.reference, "date": "2026-11-06", "spend": "10.00"}]  # fmt: skip
    assert api.post("/api/post-metrics", {"rows": rows}, format="json").status_code == 200
    platform = api.get(f"/commerce/segments?by=platform&{NOVEMBER}").json()["results"]
    by_label = {row["label"]: (row["adSpend"], row["roas"]) for row in platform}
    assert by_label["Instagram"] == ("40.00", "2.5000")
    assert by_label["TikTok"] == ("10.00", "5.0000")
    campaign = api.get(f"/commerce/segments?by=campaign&{NOVEMBER}").json()["results"]
    by_label = {row["label"]: (row["adSpend"], row["roas"]) for row in campaign}
    assert by_label[shop["campaign"].name] == ("40.00", "2.5000")
    assert by_label["No campaign"][0] == "10.00"
    dashboard = api.get(f"/commerce/revenue/dashboard?{NOVEMBER}").json()
    assert dashboard["adSpend"]["value"] == "50.00"
    for family in (platform, campaign):
        assert sum(Decimal(row["adSpend"]) for row in family) == Decimal("50.00")
    page = client.get(f"/analytics/segments/?by=platform&{NOVEMBER}").content.decode()
    assert "2.50×" in page and "5.00×" in page and "50.00" in page
    exported = client.get(f"/analytics/segments/?by=platform&{NOVEMBER}&export=segments")
    csv_rows = {r["label"]: r for r in csv.DictReader(io.StringIO(exported.content.decode()))}
    assert (csv_rows["Instagram"]["ad_spend"], csv_rows["Instagram"]["roas"]) == (
        "40.00", "2.5000",
    )  # fmt: skip
    audience = api.get(f"/commerce/segments?by=audience&{NOVEMBER}").json()["results"]
    assert {row["adSpend"] for row in audience} == {None}
