"""The documented revenue endpoints through HTTP, with exact JSON (money and rates as strings)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from attribution.models import RevenueAttribution
from omnisocial.models import PostMetrics
from tests.analytics.conftest import key_client
from tests.factories import PostFactory, WorkspaceFactory

NOVEMBER = "from=2026-11-01&to=2026-11-30"


def post_rank(post, rank, revenue, campaign=None, units="2.00"):
    return {
        "kind": "post", "label": str(post), "rank": rank, "postId": post.pk,
        "reference": post.reference, "caption": post.caption, "platform": post.platform,
        "contentType": post.content_type, "campaign": campaign,
        "publishedAt": "2026-11-01T12:00:00Z", "revenue": revenue, "orders": "1.000000",
        "units": units, "avgOrderValue": revenue, "uniqueClicks": 0, "convertedClicks": 0,
        "conversionRate": None, "adSpend": "0.00", "roas": None,
    }  # fmt: skip


def scope(**changes):
    return {
        "model": "last-touch", "from": "2026-11-01", "to": "2026-11-30", "platform": "",
        "campaign": None, "currency": "USD", "countedThrough": "2026-11-30", **changes,
    }  # fmt: skip


def test_the_dashboard_answers_every_documented_figure(api, shop):
    a, b = shop["a"], shop["b"]
    PostMetrics.objects.create(post=a, day=datetime(2026, 11, 9).date(), impressions=4000)

    response = api.get(f"/commerce/revenue/dashboard?{NOVEMBER}")

    assert response.status_code == 200
    ranked = [
        post_rank(a, 1, "100.00", shop["campaign"].pk),
        post_rank(b, 2, "50.00", units="1.00"),
    ]
    assert response.json() == {
        "filters": scope(),
        "totalSocialRevenue": {"value": "150.00", "previous": "0.00", "change": None},
        "orders": {"value": "2.000000", "previous": "0.000000", "change": None},
        "avgOrderValue": {"value": "75.00", "previous": None, "change": None},
        "adSpend": {"value": "0.00", "previous": "0.00", "change": None},
        "roas": {"value": None, "previous": None, "change": None},
        "blendedRoas": {"value": None, "previous": None, "change": None},
        "revenueByPlatform": [
            {
                "platform": "instagram",
                "label": "Instagram",
                "revenue": "100.00",
                "orders": "1.000000",
            },
            {"platform": "facebook", "label": "Facebook", "revenue": "0.00", "orders": "0.000000"},
            {"platform": "tiktok", "label": "TikTok", "revenue": "50.00", "orders": "1.000000"},
        ],
        "revenueByPost": ranked,
        "topRevenueContent": ranked,
        "conversionFunnel": {
            "impressions": 4000,
            "impressionsSources": [
                {"source": "manual", "label": "Entered by hand", "platforms": ["Instagram"]}
            ],
            "clicks": 0,
            "purchases": "2.000000",
            "clickThroughRate": "0.0000",
            "purchaseRate": None,
            "impressionToPurchaseRate": "0.000500",
        },  # fmt: skip
    }


def test_the_dashboard_total_equals_the_posts_and_the_raw_rows(api, shop):
    data = api.get(f"/commerce/revenue/dashboard?{NOVEMBER}").json()
    raw = RevenueAttribution.objects.filter(
        workspace=shop["store"].workspace, attribution_model="last-touch"
    ).aggregate(s=Sum("revenue"))["s"]
    by_post = sum(Decimal(row["revenue"]) for row in data["revenueByPost"])
    by_platform = sum(Decimal(row["revenue"]) for row in data["revenueByPlatform"])
    assert Decimal(data["totalSocialRevenue"]["value"]) == by_post == by_platform == raw


def test_filters_change_the_figures(api, shop):
    tiktok = api.get(f"/commerce/revenue/dashboard?{NOVEMBER}&platform=tiktok").json()
    assert tiktok["totalSocialRevenue"]["value"] == "50.00"
    assert [row["postId"] for row in tiktok["revenueByPost"]] == [shop["b"].pk]

    campaign = api.get(f"/commerce/revenue/dashboard?{NOVEMBER}&campaign=summer-sale").json()
    assert campaign["totalSocialRevenue"]["value"] == "100.00"
    assert campaign["filters"]["campaign"] == shop["campaign"].pk

    one_day = api.get("/commerce/revenue/dashboard?from=2026-11-11&to=2026-11-11").json()
    assert one_day["totalSocialRevenue"]["value"] == "50.00"
    # The previous period of 11-11 is 11-10, when the Instagram order came.
    assert one_day["totalSocialRevenue"]["previous"] == "100.00"
    assert one_day["totalSocialRevenue"]["change"] == "-0.5000"


def test_compare_gives_the_same_figures_under_every_model(api, shop):
    data = api.get(f"/commerce/revenue/dashboard?{NOVEMBER}&compare=true").json()
    workspace = shop["store"].workspace
    assert [m["model"] for m in data["models"]] == workspace.attribution_models
    first = data["models"][0]
    assert set(first) == {
        "model", "label", "totalSocialRevenue", "orders", "avgOrderValue", "adSpend", "roas",
        "revenueByPlatform", "topRevenueContent",
    }  # fmt: skip
    assert {m["totalSocialRevenue"] for m in data["models"]} == {"150.00"}
    assert "models" not in api.get(f"/commerce/revenue/dashboard?{NOVEMBER}").json()


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("model=nine-touch", {"model"}),
        ("from=2026-13-01", {"from"}),
        ("from=2026-11-05&to=2026-11-01", {"to"}),
        ("platform=myspace&campaign=nope", {"platform", "campaign"}),
        ("compare=maybe", {"compare"}),
    ],
)
def test_bad_parameters_answer_400_with_the_reason_per_parameter(api, shop, query, errors):
    response = api.get(f"/commerce/revenue/dashboard?{query}")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == errors
    assert all(
        isinstance(reasons, list) and reasons[0] for reasons in response.json()["fields"].values()
    )


def test_an_unknown_model_names_the_allowed_ones(api, shop):
    response = api.get("/commerce/revenue/dashboard?model=nine-touch")
    assert response.json()["fields"] == {
        "model": [
            "Unknown or disabled model 'nine-touch'; use one of first-touch, last-touch, "
            "multi-touch, position-based, time-decay, data-driven."
        ]
    }


def test_post_revenue_has_the_postrevenue_fields_by_model_by_day_and_touchpoints(api, shop):
    a = shop["a"]
    response = api.get(f"/commerce/revenue/posts/{a.pk}?from=2026-11-09&to=2026-11-11")
    assert response.status_code == 200
    data = response.json()
    figures = {
        "totalRevenue": "100.00", "totalOrders": "1.000000", "totalUnits": "2.00",
        "avgOrderValue": "100.00", "uniqueClicks": 0, "convertedClicks": 0,
        "conversionRate": None, "ordersWithoutClick": 1, "adSpend": "0.00", "roas": None,
    }  # fmt: skip
    assert data == {
        "model": "last-touch", **figures,
        "postId": a.pk, "reference": "post-17", "caption": "Linen shirt",
        "platform": "instagram", "contentType": "product", "boosted": False,
        "filters": scope(**{"from": "2026-11-09", "to": "2026-11-11", "countedThrough": "2026-11-11"}),
        "byModel": [
            {"model": model, **figures} for model in shop["store"].workspace.attribution_models
        ],
        "daily": [
            {"day": "2026-11-09", "revenue": "0.00", "clicks": 0},
            {"day": "2026-11-10", "revenue": "100.00", "clicks": 0},
            {"day": "2026-11-11", "revenue": "0.00", "clicks": 0},
        ],
        "touchpoints": [
            {"matchedField": "utmContent", "label": "utm_content", "touches": 1,
             "orders": "1.000000", "revenue": "100.00"},
        ],
        "coupons": [],
    }  # fmt: skip
    b = api.get(f"/commerce/revenue/posts/{shop['b'].pk}").json()
    assert b["coupons"] == [{"id": shop["coupon"].pk, "code": "TIKTOK10"}]
    assert b["touchpoints"][0]["matchedField"] == "couponCode"


def test_a_post_without_revenue_answers_zeros(api, shop, workspace):
    quiet = PostFactory(workspace=workspace)
    data = api.get(f"/commerce/revenue/posts/{quiet.pk}").json()
    assert (data["totalRevenue"], data["totalOrders"], data["avgOrderValue"]) == (
        "0.00", "0.000000", None,
    )  # fmt: skip


def test_orders_carry_utms_totals_and_attribution_rows(api, shop):
    first = shop["orders"][0]
    response = api.get("/commerce/orders?attributed=true&platform=instagram")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 1
    row = RevenueAttribution.objects.get(order=first, attribution_model="last-touch")
    assert data["results"][0] == {
        "id": first.pk, "storeId": shop["store"].pk, "externalId": "1", "orderNumber": "#1",
        "createdAt": "2026-11-10T12:00:00Z", "status": "open", "currency": "USD",
        "totalPrice": "100.00", "subtotal": "0.00", "totalTax": "0.00", "totalShipping": "0.00",
        "totalDiscounts": "0.00", "refundedAmount": "0.00", "financialStatus": "",
        "cancelledAt": None, "reportingCurrency": "USD", "exchangeRate": "1.0000000000",
        "reportingTotal": "100.00", "isConverted": True, "utmSource": "instagram",
        "utmMedium": "social", "utmCampaign": "summer-sale", "utmContent": "post-17",
        "utmTerm": "", "referrerUrl": "",
        "landingPage": "https://shop.example/p?utm_content=post-17", "couponCodes": [],
        "isReturningCustomer": False,
        "attributions": [
            {
                "attributionModel": "last-touch", "attributionWeight": "1.000000",
                "revenue": "100.00", "grossRevenue": "100.00", "refunded": "0.00",
                "currency": "USD", "matchedField": "utmContent", "matchedValue": "post-17",
                "postId": shop["a"].pk, "campaignId": shop["campaign"].pk,
                "platform": "instagram", "position": row.position,
                "touchedAt": row.touched_at.isoformat().replace("+00:00", "Z"),
                "isFallback": False,
            }
        ],
        "signal": "utm_content post-17",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("", ["#3", "#2", "#1"]),
        ("attributed=false", ["#3"]),
        ("attributed=true", ["#2", "#1"]),
        ("coupon=TIKTOK10", ["#2"]),
        ("from=2026-11-11&to=2026-11-11", ["#2"]),
        ("minAmount=40&maxAmount=60", ["#2"]),
        ("platform=tiktok", ["#2"]),
        ("status=cancelled", []),
    ],
)
def test_order_filters(api, shop, query, numbers):
    response = api.get(f"/commerce/orders?{query}")
    assert response.status_code == 200
    assert [order["orderNumber"] for order in response.json()["results"]] == numbers


def test_order_filters_by_post_campaign_and_store(api, shop):
    by_post = api.get(f"/commerce/orders?post={shop['b'].pk}").json()
    assert [o["orderNumber"] for o in by_post["results"]] == ["#2"]
    by_campaign = api.get(f"/commerce/orders?campaign={shop['campaign'].pk}").json()
    assert [o["orderNumber"] for o in by_campaign["results"]] == ["#1"]
    assert api.get(f"/commerce/orders?store={shop['store'].pk}").json()["count"] == 3


def test_order_dates_are_the_workspace_days(db):
    from tests.analytics.conftest import order_record
    from tests.factories import StoreConnectionFactory

    tokyo = WorkspaceFactory(time_zone="Asia/Tokyo")
    store = StoreConnectionFactory(workspace=tokyo)
    # 16:00 UTC on the 10th is 01:00 on the 11th in Tokyo.
    order_record(store, 1, at=datetime(2026, 11, 10, 16, tzinfo=UTC), total="10.00")
    client = key_client(tokyo)
    assert client.get("/commerce/orders?from=2026-11-11&to=2026-11-11").json()["count"] == 1
    assert client.get("/commerce/orders?from=2026-11-10&to=2026-11-10").json()["count"] == 0


def test_orders_pages_are_stable_and_their_query_count_does_not_grow(
    api, shop, django_assert_max_num_queries
):
    pages = [api.get(f"/commerce/orders?pageSize=1&page={n}").json() for n in (1, 2, 3)]
    assert [p["results"][0]["orderNumber"] for p in pages] == ["#3", "#2", "#1"]
    assert pages[0]["next"].endswith("page=2&pageSize=1")
    # auth, key lookup, count, page, prefetched rows; the same for one order or fifty.
    with django_assert_max_num_queries(6):
        api.get("/commerce/orders?pageSize=50")


def test_bad_order_filters_answer_400(api, shop):
    response = api.get("/commerce/orders?status=lost&attributed=perhaps&from=yesterday")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"status", "attributed", "from"}


@pytest.mark.parametrize(
    ("by", "segments"),
    [
        ("platform", [("instagram", "100.00"), ("tiktok", "50.00")]),
        ("contentType", [("product", "100.00"), ("lifestyle", "50.00")]),
        ("campaign", [("1", "100.00"), ("", "50.00")]),
    ],
)
def test_segments(api, shop, by, segments):
    response = api.get(f"/commerce/segments?by={by}&{NOVEMBER}")
    assert response.status_code == 200
    data = response.json()
    assert data["by"] == by
    found = [(row["segment"], row["revenue"]) for row in data["results"]]
    if by == "campaign":
        segments = [(str(shop["campaign"].pk), "100.00"), ("", "50.00")]
    assert found == segments


def test_audience_segments_give_new_vs_returning_months_and_tags(api, shop):
    data = api.get(f"/commerce/segments?by=audience&{NOVEMBER}").json()
    families = {row["family"] for row in data["results"]}
    assert families == {"newVsReturning", "acquisitionMonth"}
    new = next(row for row in data["results"] if row["family"] == "newVsReturning")
    assert new == {
        "segment": "new", "label": "New customers", "family": "newVsReturning",
        "revenue": "150.00", "orders": "2.000000", "customers": 2, "avgOrderValue": "75.00",
        "conversionRate": None, "adSpend": None, "roas": None,
    }  # fmt: skip


def test_segments_need_a_known_by(api, shop):
    response = api.get("/commerce/segments?by=zodiac&model=x")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"by", "model"}


def test_coupons_show_redemptions_revenue_posts_and_conversion(api, shop):
    response = api.get(f"/commerce/coupons?{NOVEMBER}")
    assert response.status_code == 200
    assert response.json() == {
        "filters": scope(),
        "results": [
            {
                "id": shop["coupon"].pk, "code": "TIKTOK10", "campaign": None, "redemptions": 1,
                "revenue": "50.00",
                "posts": [{"id": shop["b"].pk, "reference": shop["b"].reference, "platform": "tiktok"}],
                "uniqueClicks": 0, "conversionRate": None,
            }
        ],
    }  # fmt: skip


def test_a_coupon_is_created_with_its_campaign_and_posts(api, shop):
    response = api.post(
        "/commerce/coupons",
        {"code": "SUMMER20", "campaign": shop["campaign"].pk, "posts": [shop["a"].pk]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"], "code": "SUMMER20", "campaign": shop["campaign"].pk,
        "redemptions": 0, "revenue": "0.00",
        "posts": [{"id": shop["a"].pk, "reference": "post-17", "platform": "instagram"}],
        "uniqueClicks": 0, "conversionRate": None,
    }  # fmt: skip


def test_a_coupon_naming_another_workspaces_post_is_refused(api, shop):
    theirs = PostFactory(workspace=WorkspaceFactory())
    response = api.post("/commerce/coupons", {"code": "X", "posts": [theirs.pk]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"posts"}


def test_another_workspace_sees_nothing_of_this_one(shop):
    stranger = key_client(WorkspaceFactory())
    assert stranger.get(f"/commerce/revenue/posts/{shop['a'].pk}").status_code == 404
    assert stranger.get("/commerce/orders").json()["count"] == 0
    assert stranger.get("/commerce/coupons").json()["results"] == []
    assert stranger.get(f"/commerce/revenue/dashboard?{NOVEMBER}").json()["revenueByPost"] == []
    assert stranger.get("/commerce/segments?by=platform").json()["results"] == []
    # Naming this workspace's objects in a filter is an unknown choice, not a peek.
    response = stranger.get(f"/commerce/orders?post={shop['a'].pk}&store={shop['store'].pk}")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"post", "store"}
    assert stranger.get("/commerce/revenue/dashboard?campaign=summer-sale").status_code == 400


def test_the_endpoints_need_authentication(db, shop):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    for url in ["/commerce/revenue/dashboard", f"/commerce/revenue/posts/{shop['a'].pk}",
                "/commerce/orders", "/commerce/segments?by=platform", "/commerce/coupons"]:  # fmt: skip
        assert anonymous.get(url).status_code in (401, 403), url
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer osk_nope_nope")
    assert bad.get("/commerce/orders").status_code == 401


def test_the_browser_session_works_too(api_client, shop):
    assert api_client.get(f"/commerce/revenue/dashboard?{NOVEMBER}").status_code == 200


def test_a_month_to_date_compares_with_the_same_days_of_the_month_before_or_a_year_before(
    api, shop
):
    def previous(query: str) -> str:
        response = api.get(f"/commerce/revenue/dashboard?{query}")
        assert response.status_code == 200, response.json()
        return response.json()["totalSocialRevenue"]["previous"]

    # Dec 1-10 against Nov 1-10 (the Instagram order of Nov 10), not the ten days before Dec 1.
    assert previous("from=2026-12-01&to=2026-12-10") == "100.00"
    assert previous("from=2026-12-01&to=2026-12-11") == "150.00"
    # A whole month against the whole month before: December against November.
    assert previous("from=2026-12-01&to=2026-12-31") == "150.00"
    # Any other range: the days of the same number just before it.
    assert previous("from=2026-11-11&to=2026-11-12") == "100.00"
    # The same days a year earlier.
    assert previous("from=2027-11-10&to=2027-11-10&comparison=year") == "100.00"
    refused = api.get("/commerce/revenue/dashboard?comparison=decade")
    assert refused.status_code == 400
    assert "comparison" in refused.json()["fields"]


def test_the_other_posts_row_sums_the_rest_and_the_rows_clicks_sum_to_the_funnels(
    api, shop, monkeypatch
):
    """Past the ranked posts, one "Other posts" row: the rest's revenue and credited orders
    summed, and the unique clicks of every other post (the rows' clicks add up to the funnel's
    clicks); its converted clicks and conversion rate are per post only (null). Clicks are made
    through GET /r/<code>, the way visitors make them."""
    import time_machine
    from django.test import Client

    from analytics.revenue.reports import dashboard

    quiet = PostFactory(workspace=shop["a"].workspace, platform="facebook", caption="Quiet",
                        link_url=shop["a"].link_url)  # fmt: skip
    for post, visits in ((shop["a"], 1), (quiet, 3)):
        for n in range(visits):
            with time_machine.travel(datetime(2026, 11, 5 + n, 9, tzinfo=UTC), tick=False):
                visitor = Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Mobile Instagram")
                assert visitor.get(f"/r/{post.links.get().code}").status_code == 302
    monkeypatch.setattr(dashboard, "POSTS_RANKED", 1)

    data = api.get(f"/commerce/revenue/dashboard?{NOVEMBER}").json()

    ranked, other = data["revenueByPost"][0], data["revenueByPost"][1]
    assert (ranked["kind"], ranked["postId"], ranked["uniqueClicks"]) == ("post", shop["a"].pk, 1)
    assert other == {
        **other, "kind": "other", "label": "Other posts (1)", "revenue": "50.00",
        "orders": "1.000000", "uniqueClicks": 3, "convertedClicks": None, "conversionRate": None,
    }  # fmt: skip
    clicks = sum(row["uniqueClicks"] for row in data["revenueByPost"])
    assert clicks == data["conversionFunnel"]["clicks"] == 4
    total = sum(Decimal(row["revenue"]) for row in data["revenueByPost"])
    assert total == Decimal(data["totalSocialRevenue"]["value"])
