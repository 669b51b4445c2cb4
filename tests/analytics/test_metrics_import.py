"""Cost and metrics import: a CSV previewed with every bad row and why, then saved; the same rows
as JSON through the API; idempotent, converted at the day's rate, scoped to the workspace."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from commerce.models import ExchangeRate
from omnisocial import services
from omnisocial.models import ApiKey, PostMetrics
from tests.analytics.conftest import key_client
from tests.factories import MembershipFactory, PostFactory, WorkspaceFactory

PER_POST = """reference,date,impressions,reach,engagements,link_clicks,spend
post-17,2026-11-09,4000,3100,210,88,12.50
post-17,2026-11-10,2500,,,,
tote,20261109,900,700,45,12,3.00
nobody,2026-11-09,100,,,,
post-17,2026-11-09,1,,,,
tote,2026-11-31,-5,,,,abc
"""

GA4 = """date,utm_source,utm_medium,utm_campaign,utm_content,impressions,clicks,cost,currency
2026-11-09,instagram,paid_social,summer-sale,post-17,4000,88,10.00,EUR
2026-11-10,instagram,paid_social,summer-sale,POST-17,2000,40,5.00,USD
"""


@pytest.fixture
def posts(workspace):
    a = PostFactory(workspace=workspace, reference="post-17", platform="instagram")
    b = PostFactory(workspace=workspace, reference="tote", platform="tiktok")
    return a, b


def upload(client, text, name="metrics.csv"):
    file = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post("/posts/metrics/import/", {"file": file})


def stored():
    return list(
        PostMetrics.objects.order_by("post__reference", "day").values_list(
            "post__reference", "day", "impressions", "reach", "engagements", "link_clicks",
            "spend", "spend_original", "spend_currency", "source",
        )
    )  # fmt: skip


def test_a_file_with_three_bad_rows_previews_them_then_saves_the_rest_once(client, posts):
    preview = upload(client, PER_POST)

    assert preview.status_code == 400  # bad rows: named, nothing saved yet
    found = preview.context["found"]
    assert found.errors == [
        {"row": 5, "reasons": ["no post of this workspace has the reference 'nobody'"]},
        {"row": 6, "reasons": ["post-17 on 2026-11-09 is already given by row 2"]},
        {"row": 7, "reasons": [
            "date '2026-11-31' is not a day such as 2026-03-01 or 20260301",
            "impressions '-5' is not a whole number of 0 or more",
            "spend 'abc' is not an amount such as 12.50",
        ]},
    ]  # fmt: skip
    assert preview.context["result"].as_dict() == {"created": 3, "updated": 0, "unchanged": 0}
    page = preview.content.decode()
    assert "3 good" in page and "3 bad" in page and "Save 3 good rows" in page
    assert not PostMetrics.objects.exists()

    saved = client.post("/posts/metrics/import/", {"content": preview.context["content"]})
    assert saved.status_code == 302
    expected = [
        ("post-17", date(2026, 11, 9), 4000, 3100, 210, 88, Decimal("12.50"), Decimal("12.50"),
         "USD", "csv"),
        ("post-17", date(2026, 11, 10), 2500, 0, 0, 0, Decimal("0.00"), Decimal("0.00"), "",
         "csv"),
        ("tote", date(2026, 11, 9), 900, 700, 45, 12, Decimal("3.00"), Decimal("3.00"), "USD",
         "csv"),
    ]  # fmt: skip
    assert stored() == expected
    written = dict(PostMetrics.objects.values_list("pk", "fetched_at"))

    again = upload(client, PER_POST)
    assert again.context["result"].as_dict() == {"created": 0, "updated": 0, "unchanged": 3}
    client.post("/posts/metrics/import/", {"content": again.context["content"]})
    assert stored() == expected
    assert dict(PostMetrics.objects.values_list("pk", "fetched_at")) == written


def test_ga4_cost_data_maps_to_posts_by_utm_content_and_converts_at_the_days_rate(
    client, workspace, posts
):
    ExchangeRate.objects.create(workspace=workspace, day=date(2026, 11, 6), from_currency="EUR",
                                to_currency="USD", rate=Decimal("1.0837"))  # fmt: skip
    preview = upload(client, GA4)
    assert preview.status_code == 200
    assert preview.context["found"].layout == "ga4"
    client.post("/posts/metrics/import/", {"content": preview.context["content"]})
    assert stored() == [
        ("post-17", date(2026, 11, 9), 4000, 0, 0, 88, Decimal("10.84"), Decimal("10.00"), "EUR",
         "csv"),
        ("post-17", date(2026, 11, 10), 2000, 0, 0, 40, Decimal("5.00"), Decimal("5.00"), "USD",
         "csv"),
    ]  # fmt: skip


def test_spend_without_a_rate_is_a_bad_row_never_one_to_one(client, posts):
    preview = upload(client, GA4)
    assert preview.status_code == 400
    assert preview.context["found"].errors == [
        {"row": 2, "reasons": [
            "No EUR→USD exchange rate on 2026-11-09 or in the 7 days before it: add one "
            "(Settings › Exchange rates or POST /api/exchange-rates) and import again."
        ]},
    ]  # fmt: skip


def test_a_file_that_is_not_metrics_says_what_it_needs(client, posts):
    response = upload(client, "order,total\n1,20.00\n")
    assert response.status_code == 400
    assert response.context["file_errors"] == [
        "The first line must name the columns: date and utm_content (GA4 cost data) or date "
        "and reference (per post), then the figures."
    ]


def test_another_workspaces_references_are_unknown_here(client, posts):
    PostFactory(workspace=WorkspaceFactory(), reference="theirs")
    response = upload(client, "reference,date,impressions\ntheirs,2026-11-09,5\n")
    assert response.context["found"].errors == [
        {"row": 2, "reasons": ["no post of this workspace has the reference 'theirs'"]}
    ]
    client.post("/posts/metrics/import/", {"content": response.context["content"]})
    assert not PostMetrics.objects.exists()


def test_a_viewer_sees_the_page_but_cannot_import(workspace, posts):
    viewer = Client()
    viewer.force_login(MembershipFactory(workspace=workspace, role="viewer").user)
    assert viewer.get("/posts/metrics/import/").status_code == 200
    assert upload(viewer, PER_POST).status_code == 403
    content = "reference,date,impressions\npost-17,2026-11-09,5\n"
    assert viewer.post("/posts/metrics/import/", {"content": content}).status_code == 403
    assert not PostMetrics.objects.exists()


# --- the API -------------------------------------------------------------------------------------


ROWS = [
    {"reference": "post-17", "date": "2026-11-09", "impressions": 4000, "reach": 3100,
     "engagements": 210, "linkClicks": 88, "spend": "12.50"},
    {"utmContent": "tote", "date": "2026-11-09", "impressions": 900, "spend": 3},
]  # fmt: skip


def test_the_api_takes_a_batch_idempotently(workspace, posts):
    api = key_client(workspace)
    response = api.post("/api/post-metrics", {"rows": ROWS}, format="json")
    assert response.status_code == 200
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    assert api.post("/api/post-metrics", {"rows": ROWS}, format="json").json() == {
        "created": 0, "updated": 0, "unchanged": 2,
    }  # fmt: skip
    changed = [{**ROWS[0], "impressions": 4100}]
    assert api.post("/api/post-metrics", {"rows": changed}, format="json").json() == {
        "created": 0, "updated": 1, "unchanged": 0,
    }  # fmt: skip
    assert stored() == [
        ("post-17", date(2026, 11, 9), 4100, 3100, 210, 88, Decimal("12.50"), Decimal("12.50"),
         "USD", "api"),
        ("tote", date(2026, 11, 9), 900, 0, 0, 0, Decimal("3.00"), Decimal("3.00"), "USD", "api"),
    ]  # fmt: skip


def test_one_bad_row_refuses_the_batch_and_changes_nothing(workspace, posts):
    api = key_client(workspace)
    api.post("/api/post-metrics", {"rows": ROWS[:1]}, format="json")
    before = stored()
    bad = [{**ROWS[0], "impressions": 1}, {"reference": "post-17", "date": "tomorrow"}, [1]]
    response = api.post("/api/post-metrics", {"rows": bad}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"rows.2": ["not an object"]}
    response = api.post("/api/post-metrics", {"rows": bad[:2]}, format="json")
    assert response.json()["fields"] == {"rows.1": [
        "date 'tomorrow' is not a day such as 2026-03-01 or 20260301"]}  # fmt: skip
    assert stored() == before


def test_a_batch_holds_1_to_10000_rows(workspace, posts):
    api = key_client(workspace)
    too_many = [{"reference": "post-17", "date": "2026-11-09"}] * 10_001
    response = api.post("/api/post-metrics", {"rows": too_many}, format="json")
    assert response.json() == {
        "detail": "10,001 rows: send at most 10,000 a batch.",
        "code": "invalid",
    }
    response = api.post("/api/post-metrics", {"rows": []}, format="json")
    assert response.json() == {"detail": 'Send {"rows": [...]}: a list of 1 or more rows.',
                               "code": "invalid"}  # fmt: skip


def test_a_read_key_cannot_import(workspace, posts):
    _, raw = services.api_key_create(workspace=workspace, name="r", scope=ApiKey.Scope.READ)
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.post("/api/post-metrics", {"rows": ROWS}, format="json").status_code == 403
    assert not PostMetrics.objects.exists()
