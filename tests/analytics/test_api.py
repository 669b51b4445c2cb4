"""The KPI, alert and insights API and pages, with the clock held still by time-machine.

Revenue comes from `DailyRevenue` rows laid directly: these endpoints only read that rollup.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from analytics.kpis import services
from analytics.models import Alert, RevenueKPI
from omnisocial.models import ApiKey
from tests.factories import CampaignFactory, DailyRevenueFactory, PostFactory, WorkspaceFactory

NOV_10 = datetime(2026, 11, 10, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOV_10, tick=False):
        yield


@pytest.fixture
def behind_kpi(workspace):
    for day in range(1, 10):
        DailyRevenueFactory(workspace=workspace, day=date(2026, 11, day), revenue=Decimal("50"))
    return services.kpi_create(workspace=workspace, name="November", target=Decimal("3000.00"))


def test_kpi_detail_json_is_exact(api_client, behind_kpi, frozen):
    response = api_client.get(f"/analytics/api/kpis/{behind_kpi.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "id": behind_kpi.pk,
        "name": "November",
        "scope": "workspace",
        "platform": None,
        "campaign": None,
        "post": None,
        "period": "month",
        "periodStart": "2026-11-01",
        "periodEnd": "2026-11-30",
        "attributionModel": "last-touch",
        "currency": "USD",
        "target": "3000.00",
        "actual": "450.00",
        "projected": "1500.00",
        "progress": "0.1500",
        "projectedProgress": "0.5000",
        "elapsedShare": "0.3000",
        "requiredDailyRate": "121.43",
        "state": "falling_behind",
        "conclusive": True,
        "exceedRatio": "1.10",
        "behindRatio": "0.90",
        "link": f"http://testserver/analytics/kpis/#kpi-{behind_kpi.pk}",
    }


def test_create_list_patch_and_delete_a_kpi(api_client, workspace, user, frozen):
    campaign = CampaignFactory(workspace=workspace)
    DailyRevenueFactory(
        workspace=workspace, campaign=campaign, day=date(2026, 11, 3), revenue=Decimal("300.00")
    )

    created = api_client.post(
        "/analytics/api/kpis",
        {"name": "Campaign", "scope": "campaign", "campaign": campaign.pk, "target": "1000.00",
         "exceedRatio": "1.20"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["campaign"], body["actual"], body["projected"], body["state"]) == (
        campaign.pk, "300.00", "1000.00", "on_track",
    )  # fmt: skip
    kpi = RevenueKPI.objects.get()
    assert (kpi.owner, kpi.exceed_ratio, kpi.workspace) == (user, Decimal("1.20"), workspace)

    listed = api_client.get("/analytics/api/kpis").json()["results"]
    assert [k["id"] for k in listed] == [kpi.pk]

    patched = api_client.patch(f"/analytics/api/kpis/{kpi.pk}", {"target": "800.00"}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["target"], patched.json()["state"]) == ("800.00", "on_track_to_exceed")

    assert api_client.delete(f"/analytics/api/kpis/{kpi.pk}").status_code == 204
    assert RevenueKPI.objects.count() == 0


def test_invalid_kpis_answer_400_with_the_field(api_client, workspace):
    foreign = CampaignFactory(workspace=WorkspaceFactory())
    response = api_client.post(
        "/analytics/api/kpis",
        {"name": "X", "scope": "campaign", "campaign": foreign.pk, "target": "10.00"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"campaign": ["No such campaign in this workspace."]}
    response = api_client.post(
        "/analytics/api/kpis", {"name": "X", "period": "custom", "target": "10.00"}, format="json"
    )
    assert response.json()["fields"] == {
        "startDate": ["A date range needs a start and an end date."]
    }


def test_another_workspaces_kpi_and_alert_answer_404(api_client, client):
    other = WorkspaceFactory()
    theirs = services.kpi_create(workspace=other, name="Secret", target=Decimal("10.00"))
    alert = Alert.objects.create(
        workspace=other, kind="kpi_behind", title="Secret alert", message="m", kpi=theirs,
        dedupe_key="x", created_at=NOV_10,
    )  # fmt: skip

    for method, url in [
        ("get", f"/analytics/api/kpis/{theirs.pk}"),
        ("patch", f"/analytics/api/kpis/{theirs.pk}"),
        ("delete", f"/analytics/api/kpis/{theirs.pk}"),
        ("post", f"/analytics/api/alerts/{alert.pk}/acknowledge"),
    ]:
        response = getattr(api_client, method)(url, {"name": "Mine now"}, format="json")
        assert response.status_code == 404, url
        assert b"Secret" not in response.content
    assert api_client.get("/analytics/api/kpis").json() == {"results": []}
    assert api_client.get("/analytics/api/alerts").json()["results"] == []
    assert api_client.get("/analytics/api/insights").json()["kpis"] == []

    assert client.post(f"/analytics/kpis/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/analytics/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert b"Secret" not in client.get("/analytics/kpis/").content
    assert b"Secret" not in client.get("/analytics/alerts/?state=all").content
    theirs.refresh_from_db()
    alert.refresh_from_db()
    assert (theirs.name, alert.acknowledged_at) == ("Secret", None)


def test_an_api_key_reads_its_workspace_kpis(workspace, behind_kpi, frozen):
    raw_key, prefix, key_hash = ApiKey.generate()
    ApiKey.objects.create(workspace=workspace, name="advisor", prefix=prefix, key_hash=key_hash)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    assert [k["id"] for k in api.get("/analytics/api/kpis").json()["results"]] == [behind_kpi.pk]
    assert APIClient().get("/analytics/api/kpis").status_code in (401, 403)


def test_alerts_list_filters_and_acknowledge(api_client, workspace, behind_kpi, user, frozen):
    [alert] = services.kpis_evaluate(workspace=workspace, now=NOV_10)
    post = PostFactory(workspace=workspace)
    Alert.objects.create(
        workspace=workspace, kind="post_outlier_low", title="Low", message="m", post=post,
        dedupe_key="low", created_at=NOV_10 - timedelta(hours=1), acknowledged_at=NOV_10,
    )  # fmt: skip

    response = api_client.get("/analytics/api/alerts", {"acknowledged": "false"})
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": alert.pk,
                "kind": "kpi_behind",
                "severity": "warning",
                "title": "November is falling behind its target",
                "message": alert.message,
                "figures": alert.figures,
                "kpi": behind_kpi.pk,
                "post": None,
                "campaign": None,
                "createdAt": "2026-11-10T00:00:00Z",
                "acknowledgedAt": None,
                "link": f"http://testserver/analytics/kpis/#kpi-{behind_kpi.pk}",
            }
        ],
    }
    assert [a["kind"] for a in api_client.get("/analytics/api/alerts").json()["results"]] == [
        "kpi_behind", "post_outlier_low",
    ]  # fmt: skip
    low = api_client.get("/analytics/api/alerts", {"kind": "post_outlier_low"}).json()
    assert [(a["title"], a["link"]) for a in low["results"]] == [
        ("Low", f"http://testserver/posts/{post.pk}/")
    ]
    assert api_client.get("/analytics/api/alerts", {"kind": "nope"}).status_code == 400

    acknowledged = api_client.post(f"/analytics/api/alerts/{alert.pk}/acknowledge")
    assert acknowledged.json()["acknowledgedAt"] == "2026-11-10T00:00:00Z"
    alert.refresh_from_db()
    assert alert.acknowledged_by == user
    assert api_client.get("/analytics/api/alerts", {"acknowledged": "false"}).json()["count"] == 0


def test_insights_feed_json(api_client, workspace, behind_kpi, frozen):
    [alert] = services.kpis_evaluate(workspace=workspace, now=NOV_10)

    body = api_client.get("/analytics/api/insights").json()

    assert body["workspace"] == {
        "slug": workspace.slug, "name": workspace.name, "currency": "USD", "timeZone": "UTC",
    }  # fmt: skip
    assert body["generatedAt"] == "2026-11-10T00:00:00Z"
    [kpi] = body["kpis"]
    assert (kpi["id"], kpi["state"]) == (behind_kpi.pk, "falling_behind")
    assert kpi["recommendation"] == (
        "November is projected at 1,500.00 USD, 50% of its 3,000.00 USD target. It needs "
        "121.43 USD a day from now on. Move budget to the posts and campaigns that sell, boost "
        "the best performers, or revise the target."
    )
    assert body["recommendations"] == [
        {
            "type": "kpi_behind",
            "severity": "warning",
            "title": "November is falling behind its target",
            "recommendation": alert.message
            + " Move budget to the posts and campaigns that sell, or revise the target.",
            "figures": alert.figures,
            "subject": {"type": "kpi", "id": behind_kpi.pk, "name": "November"},
            "link": f"http://testserver/analytics/kpis/#kpi-{behind_kpi.pk}",
            "alertId": alert.pk,
            "createdAt": "2026-11-10T00:00:00Z",
        }
    ]


def test_the_kpi_page_shows_progress_and_creates_a_kpi(client, workspace, behind_kpi, frozen):
    page = client.get("/analytics/kpis/")
    assert page.status_code == 200
    assert b'aria-valuenow="15"' in page.content
    assert b"1,500.00 USD" in page.content
    assert b"Falling behind" in page.content

    response = client.post(
        "/analytics/kpis/",
        {"name": "Instagram", "target": "5,000", "scope": "platform", "platform": "instagram",
         "period": "week"},
    )  # fmt: skip
    assert response.status_code == 302
    created = RevenueKPI.objects.get(name="Instagram")
    assert (created.target, created.platform, created.period) == (
        Decimal("5000"), "instagram", "week",
    )  # fmt: skip

    refused = client.post("/analytics/kpis/", {"name": "No platform", "target": "10",
                                               "scope": "platform"})  # fmt: skip
    assert refused.status_code == 400
    assert b"A platform KPI needs a platform." in refused.content


def test_the_alerts_page_acknowledges(client, workspace, behind_kpi, frozen):
    [alert] = services.kpis_evaluate(workspace=workspace, now=NOV_10)
    page = client.get("/analytics/alerts/")
    assert b"November is falling behind its target" in page.content

    response = client.post(f"/analytics/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at == NOV_10
    assert b"November is falling behind" not in client.get("/analytics/alerts/").content
    assert b"November is falling behind" in client.get("/analytics/alerts/?state=all").content
