"""A KPI's dates run from 2000-01-01 to 2099-12-31 and its range never ends before it starts, on
every write (API, page form, service); and a KPI stored with dates out of range (before this was
checked, or written around the model) never takes a page, an API answer or the check down."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command

from analytics.kpis import services
from analytics.models import Alert, RevenueKPI
from omnisocial.models import Workspace
from tests.analytics.conftest import key_client
from tests.factories import DailyRevenueFactory

NOV_10 = datetime(2026, 11, 10, tzinfo=UTC)
OUT_OF_RANGE = "Give a day from 2000-01-01 to 2099-12-31."


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOV_10, tick=False):
        yield


def custom(**changes) -> dict:
    return {"name": "Launch", "target": "1000.00", "period": "custom",
            "startDate": "2026-11-01", "endDate": "2026-11-30", **changes}  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"endDate": "9999-12-31"}, {"endDate": [OUT_OF_RANGE]}),
        ({"startDate": "0001-01-01"}, {"startDate": [OUT_OF_RANGE]}),
        ({"startDate": "1999-12-31"}, {"startDate": [OUT_OF_RANGE]}),
        ({"endDate": "2100-01-01"}, {"endDate": [OUT_OF_RANGE]}),
        ({"startDate": "2026-11-30", "endDate": "2026-11-01"},
         {"endDate": ["The range ends before it starts."]}),
    ],
)  # fmt: skip
def test_the_api_refuses_kpi_dates_out_of_range_and_saves_nothing(workspace, changes, errors):
    response = key_client(workspace).post("/analytics/api/kpis", custom(**changes), format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == errors
    assert not RevenueKPI.objects.exists()


def test_the_api_accepts_the_first_and_the_last_day(workspace):
    response = key_client(workspace).post(
        "/analytics/api/kpis", custom(startDate="2000-01-01", endDate="2099-12-31"), format="json"
    )
    assert response.status_code == 201
    assert (response.json()["periodStart"], response.json()["periodEnd"]) == (
        "2000-01-01", "2099-12-31",
    )  # fmt: skip


def test_a_patch_out_of_range_or_ending_before_the_stored_start_is_refused(workspace):
    api = key_client(workspace)
    kpi_id = api.post("/analytics/api/kpis", custom(), format="json").json()["id"]

    too_late = api.patch(f"/analytics/api/kpis/{kpi_id}", {"endDate": "9999-12-31"}, format="json")
    backwards = api.patch(f"/analytics/api/kpis/{kpi_id}", {"endDate": "2026-10-01"},
                          format="json")  # fmt: skip

    assert (too_late.status_code, too_late.json()["fields"]) == (400, {"endDate": [OUT_OF_RANGE]})
    assert (backwards.status_code, backwards.json()["fields"]) == (
        400, {"endDate": ["The range ends before it starts."]},
    )  # fmt: skip
    assert RevenueKPI.objects.get().end_date == date(2026, 11, 30)


@pytest.mark.parametrize(
    ("field", "value"), [("end_date", "9999-12-31"), ("start_date", "0001-01-01")]
)
def test_the_kpi_page_form_refuses_dates_out_of_range_with_a_400(client, field, value):
    form = {"name": "Launch", "target": "1000", "period": "custom",
            "start_date": "2026-11-01", "end_date": "2026-11-30", field: value}  # fmt: skip

    response = client.post("/analytics/kpis/", form)

    assert response.status_code == 400
    assert OUT_OF_RANGE.encode() in response.content
    assert not RevenueKPI.objects.exists()


def test_the_service_refuses_dates_out_of_range(workspace):
    with pytest.raises(ValidationError) as raised:
        services.kpi_create(
            workspace=workspace, name="Launch", target=Decimal("1000"), period="custom",
            start_date=date(1, 1, 1), end_date=date(9999, 12, 31),
        )  # fmt: skip
    assert raised.value.message_dict == {"start_date": [OUT_OF_RANGE], "end_date": [OUT_OF_RANGE]}


@pytest.fixture
def stored_bad_kpi(workspace):
    """A good monthly KPI falling behind, and a date-range KPI whose dates were written around
    the model: 0001-01-01 to 9999-12-31 in a zone east of UTC (local midnight of year one has
    no UTC time)."""
    Workspace.objects.filter(pk=workspace.pk).update(time_zone="Europe/Berlin")
    workspace.refresh_from_db()
    for day in range(1, 10):
        DailyRevenueFactory(workspace=workspace, day=date(2026, 11, day), revenue=Decimal("50"))
    good = services.kpi_create(workspace=workspace, name="November", target=Decimal("3000.00"))
    bad = services.kpi_create(
        workspace=workspace, name="Forever", target=Decimal("10.00"), period="custom",
        start_date=date(2026, 11, 1), end_date=date(2026, 11, 30),
    )  # fmt: skip
    RevenueKPI.objects.filter(pk=bad.pk).update(
        start_date=date(1, 1, 1), end_date=date(9999, 12, 31)
    )
    return good, bad


BAD_DETAIL = (
    "The KPI's date range (0001-01-01 to 9999-12-31) is outside 2000-01-01 to 2099-12-31: "
    "change its dates or delete it."
)


def test_pages_and_apis_leave_a_stored_kpi_out_of_range_out(client, workspace, stored_bad_kpi):
    good, bad = stored_bad_kpi
    api = key_client(workspace)

    kpi_page = client.get("/analytics/kpis/")
    revenue_page = client.get("/analytics/revenue/")
    listed = api.get("/analytics/api/kpis")
    insights = api.get("/analytics/api/insights")
    detail = api.get(f"/analytics/api/kpis/{bad.pk}")

    assert (kpi_page.status_code, revenue_page.status_code) == (200, 200)
    assert b"November" in kpi_page.content and b"Forever" not in kpi_page.content
    assert listed.status_code == 200
    assert [kpi["name"] for kpi in listed.json()["results"]] == ["November"]
    assert insights.status_code == 200
    assert [kpi["name"] for kpi in insights.json()["kpis"]] == ["November"]
    assert (detail.status_code, detail.json()) == (409, {"detail": BAD_DETAIL, "code": "conflict"})
    assert api.get(f"/analytics/api/kpis/{good.pk}").status_code == 200


def test_a_stored_kpi_out_of_range_can_be_fixed_or_deleted(workspace, stored_bad_kpi):
    _, bad = stored_bad_kpi
    api = key_client(workspace)

    half = api.patch(f"/analytics/api/kpis/{bad.pk}", {"endDate": "2026-11-30"}, format="json")
    fixed = api.patch(f"/analytics/api/kpis/{bad.pk}",
                      {"startDate": "2026-11-01", "endDate": "2026-11-30"}, format="json")  # fmt: skip

    assert (half.status_code, half.json()["fields"]) == (400, {"startDate": [OUT_OF_RANGE]})
    assert fixed.status_code == 200
    assert (fixed.json()["periodStart"], fixed.json()["periodEnd"]) == ("2026-11-01", "2026-11-30")
    assert api.delete(f"/analytics/api/kpis/{bad.pk}").status_code == 204


def test_check_kpis_skips_a_stored_kpi_out_of_range_and_checks_the_others(
    workspace, stored_bad_kpi, capsys
):
    call_command("check_kpis")

    assert capsys.readouterr().out == (
        f"{workspace.slug}: [critical] November is falling behind its target\n1 alert raised.\n"
    )
    assert list(Alert.objects.values_list("kpi__name", flat=True)) == ["November"]
