"""KPI evaluation: periods, projection, states and the alerts raised on transitions.

KPIs read the `DailyRevenue` rollup only, so these tests lay rollup rows with a factory.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from analytics.kpis import selectors, services
from analytics.kpis.projection import elapsed_share, period_of
from analytics.models import Alert, RevenueKPI
from tests.factories import CampaignFactory, DailyRevenueFactory, PostFactory, WorkspaceFactory

# November 2026 has 30 days; at midnight on the 10th, 9 of them (30%) have gone.
NOV_10 = datetime(2026, 11, 10, tzinfo=UTC)


def _revenue(workspace, per_day: str, days=range(1, 10), **fields):
    for day in days:
        DailyRevenueFactory(
            workspace=workspace, day=date(2026, 11, day), revenue=Decimal(per_day), **fields
        )


def _kpi(workspace, target: str, **fields) -> RevenueKPI:
    return services.kpi_create(
        workspace=workspace, name=f"Target {target}", target=Decimal(target), **fields
    )


def test_a_kpi_ahead_of_target_projects_the_run_rate_to_the_period_end(workspace):
    _revenue(workspace, "50.00")  # 450.00 over 9 days
    progress = selectors.kpi_progress(kpi=_kpi(workspace, "1000.00"), now=NOV_10)

    assert progress.period.start == date(2026, 11, 1)
    assert progress.period.end == date(2026, 11, 30)
    assert progress.elapsed_share == Decimal("0.3000")
    assert progress.actual == Decimal("450.00")
    assert progress.projected == Decimal("1500.00")
    assert progress.progress == Decimal("0.4500")
    assert progress.projected_progress == Decimal("1.5000")
    assert progress.required_daily_rate == Decimal("26.19")  # 550.00 over 21 days
    assert progress.state == "on_track_to_exceed"
    assert progress.conclusive is True


def test_a_kpi_behind_target(workspace):
    _revenue(workspace, "50.00")
    progress = selectors.kpi_progress(kpi=_kpi(workspace, "3000.00"), now=NOV_10)

    assert progress.projected == Decimal("1500.00")
    assert progress.projected_progress == Decimal("0.5000")
    assert progress.required_daily_rate == Decimal("121.43")  # 2550.00 over 21 days
    assert progress.state == "falling_behind"


def test_a_kpi_on_track(workspace):
    _revenue(workspace, "50.00")
    progress = selectors.kpi_progress(kpi=_kpi(workspace, "1500.00"), now=NOV_10)

    assert progress.projected_progress == Decimal("1.0000")
    assert progress.state == "on_track"


def test_thresholds_are_per_kpi_and_inclusive_at_exceed(workspace):
    _revenue(workspace, "50.00")
    strict = _kpi(workspace, "1500.00", exceed_ratio=Decimal("1.00"), behind_ratio=Decimal("0.50"))
    assert selectors.kpi_progress(kpi=strict, now=NOV_10).state == "on_track_to_exceed"


def test_the_scope_selects_the_rollup_rows(workspace):
    campaign = CampaignFactory(workspace=workspace)
    post = PostFactory(workspace=workspace)
    _revenue(workspace, "10.00", platform="instagram")
    _revenue(workspace, "20.00", platform="facebook", campaign=campaign)
    _revenue(workspace, "40.00", platform="tiktok", post=post)
    _revenue(workspace, "99.00", attribution_model="first-touch")  # another model
    _revenue(WorkspaceFactory(), "500.00")  # another workspace
    DailyRevenueFactory(workspace=workspace, day=date(2026, 10, 31), revenue=Decimal("77.00"))
    DailyRevenueFactory(workspace=workspace, day=date(2026, 11, 10), revenue=Decimal("-5.00"))

    def actual(**scope):
        return selectors.kpi_progress(kpi=_kpi(workspace, "100.00", **scope), now=NOV_10).actual

    assert actual() == Decimal("630.00") - Decimal("5.00")  # today's refund counts
    assert actual(scope="platform", platform="instagram") == Decimal("85.00")
    assert actual(scope="campaign", campaign=campaign) == Decimal("180.00")
    assert actual(scope="post", post=post) == Decimal("360.00")
    assert actual(attribution_model="first-touch") == Decimal("891.00")


def test_periods_are_cut_in_the_workspace_time_zone(db):
    workspace = WorkspaceFactory(time_zone="America/New_York")
    monthly = _kpi(workspace, "100.00")
    weekly = _kpi(workspace, "100.00", period="week")
    quarterly = _kpi(workspace, "100.00", period="quarter")
    # 03:00 UTC on November 1st is still October 31st (23:00) in New York.
    late_october = datetime(2026, 11, 1, 3, tzinfo=UTC)

    assert period_of(monthly, late_october).start == date(2026, 10, 1)
    assert period_of(monthly, late_october).end == date(2026, 10, 31)
    assert period_of(weekly, late_october).start == date(2026, 10, 26)  # a Monday
    assert period_of(weekly, late_october).end == date(2026, 11, 1)
    assert period_of(quarterly, late_october).start == date(2026, 10, 1)
    assert period_of(quarterly, late_october).end == date(2026, 12, 31)


def test_elapsed_share_counts_the_real_hours_of_a_clock_change_day(db):
    workspace = WorkspaceFactory(time_zone="America/New_York")
    monthly = _kpi(workspace, "100.00")
    # New York leaves summer time on November 1st 2026: that day lasts 25 hours, the month 721.
    second_day_midnight = datetime(2026, 11, 2, 5, tzinfo=UTC)  # 00:00 EST
    period = period_of(monthly, second_day_midnight)

    assert period.length == timedelta(hours=721)
    assert elapsed_share(period, second_day_midnight) == Decimal(25) / Decimal(721)


def test_a_date_range_kpi_before_during_and_after_its_range(workspace):
    kpi = _kpi(
        workspace, "900.00", period="custom", start_date=date(2026, 11, 1),
        end_date=date(2026, 11, 9),
    )  # fmt: skip
    _revenue(workspace, "50.00")

    before = selectors.kpi_progress(kpi=kpi, now=datetime(2026, 10, 20, tzinfo=UTC))
    assert (before.elapsed_share, before.projected, before.conclusive) == (
        Decimal("0.0000"), Decimal("0.00"), False,
    )  # fmt: skip
    after = selectors.kpi_progress(kpi=kpi, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert (after.elapsed_share, after.actual, after.projected) == (
        Decimal("1.0000"), Decimal("450.00"), Decimal("450.00"),
    )  # fmt: skip
    assert after.required_daily_rate is None
    assert after.state == "falling_behind"


def test_the_transition_to_falling_behind_raises_exactly_one_alert(workspace):
    _revenue(workspace, "50.00")
    kpi = _kpi(workspace, "3000.00")

    raised = services.kpis_evaluate(workspace=workspace, now=NOV_10)
    assert [alert.kind for alert in raised] == ["kpi_behind"]
    alert = raised[0]
    assert alert.severity == "warning"
    assert alert.kpi == kpi
    assert alert.title == "Target 3000.00 is falling behind its target"
    assert alert.message == (
        "450.00 USD so far with 30% of the period gone (Nov 1 to Nov 30); projected "
        "1,500.00 USD against a target of 3,000.00 USD (50%). Reaching it needs 121.43 USD a day "
        "from now on."
    )
    assert alert.figures == {
        "currency": "USD",
        "target": "3000.00",
        "actual": "450.00",
        "projected": "1500.00",
        "progress": "0.1500",
        "projectedProgress": "0.5000",
        "elapsedShare": "0.3000",
        "requiredDailyRate": "121.43",
        "periodStart": "2026-11-01",
        "periodEnd": "2026-11-30",
        "attributionModel": "last-touch",
    }
    kpi.refresh_from_db()
    assert (kpi.state, kpi.state_period_start) == ("falling_behind", date(2026, 11, 1))

    assert services.kpis_evaluate(workspace=workspace, now=NOV_10 + timedelta(hours=1)) == []
    assert Alert.objects.count() == 1


def test_moving_ahead_raises_one_alert_and_back_to_on_track_none(workspace):
    _revenue(workspace, "50.00")
    kpi = _kpi(workspace, "1500.00")
    assert services.kpis_evaluate(workspace=workspace, now=NOV_10) == []  # on track: no alert

    DailyRevenueFactory(workspace=workspace, day=date(2026, 11, 10), revenue=Decimal("300.00"))
    eleventh = NOV_10 + timedelta(days=1)  # 750.00 with a third gone: 2250.00 projected
    assert [a.kind for a in services.kpis_evaluate(workspace=workspace, now=eleventh)] == [
        "kpi_ahead"
    ]
    assert services.kpis_evaluate(workspace=workspace, now=eleventh) == []

    # Back to on track (1500.00 projected at half-time): a quiet transition.
    assert services.kpis_evaluate(workspace=workspace, now=datetime(2026, 11, 16, tzinfo=UTC)) == []
    kpi.refresh_from_db()
    assert kpi.state == "on_track"
    assert list(Alert.objects.values_list("kind", flat=True)) == ["kpi_ahead"]


def test_no_alert_before_a_fifth_of_the_period_has_gone(workspace):
    _revenue(workspace, "1.00", days=range(1, 5))
    kpi = _kpi(workspace, "3000.00")
    fifth = datetime(2026, 11, 5, tzinfo=UTC)  # 4 of 30 days: 13%

    assert services.kpis_evaluate(workspace=workspace, now=fifth) == []
    kpi.refresh_from_db()
    assert kpi.state == ""
    assert selectors.kpi_progress(kpi=kpi, now=fifth).state == "falling_behind"
    assert (
        len(services.kpis_evaluate(workspace=workspace, now=datetime(2026, 11, 7, tzinfo=UTC))) == 1
    )


def test_a_new_period_starts_without_a_state_and_can_alert_again(workspace):
    _revenue(workspace, "50.00")
    _kpi(workspace, "3000.00")
    assert len(services.kpis_evaluate(workspace=workspace, now=NOV_10)) == 1

    december = services.kpis_evaluate(workspace=workspace, now=datetime(2026, 12, 10, tzinfo=UTC))
    assert [(a.kind, a.severity) for a in december] == [("kpi_behind", "critical")]  # 0 so far
    assert sorted(Alert.objects.values_list("dedupe_key", flat=True)) == [
        f"kpi:{december[0].kpi_id}:2026-11-01:kpi_behind",
        f"kpi:{december[0].kpi_id}:2026-12-01:kpi_behind",
    ]


def test_changing_what_a_kpi_measures_forgets_its_state(workspace):
    _revenue(workspace, "50.00")
    kpi = _kpi(workspace, "3000.00")
    services.kpis_evaluate(workspace=workspace, now=NOV_10)

    services.kpi_update(kpi=kpi, name="Renamed")
    kpi.refresh_from_db()
    assert kpi.state == "falling_behind"
    services.kpi_update(kpi=kpi, target=Decimal("1000.00"))
    kpi.refresh_from_db()
    assert kpi.state == ""
    assert [a.kind for a in services.kpis_evaluate(workspace=workspace, now=NOV_10)] == [
        "kpi_ahead"
    ]


def test_kpi_create_refuses_what_makes_no_sense(workspace):
    other_campaign = CampaignFactory(workspace=WorkspaceFactory())
    with pytest.raises(ValidationError) as platform_missing:
        _kpi(workspace, "100.00", scope="platform")
    assert platform_missing.value.message_dict == {"platform": ["A platform KPI needs a platform."]}
    with pytest.raises(ValidationError) as foreign:
        _kpi(workspace, "100.00", scope="campaign", campaign=other_campaign)
    assert foreign.value.message_dict == {"campaign": ["No such campaign in this workspace."]}
    with pytest.raises(ValidationError) as no_range:
        _kpi(workspace, "100.00", period="custom")
    assert no_range.value.message_dict == {
        "start_date": ["A date range needs a start and an end date."]
    }
    with pytest.raises(ValidationError) as ratios:
        _kpi(workspace, "100.00", exceed_ratio=Decimal("0.80"))
    assert ratios.value.message_dict == {
        "exceed_ratio": ["The exceed ratio must be above the behind ratio (> 0)."]
    }
    with pytest.raises(ValidationError):
        _kpi(workspace, "0.00")
    assert RevenueKPI.objects.count() == 0


def test_a_scope_keeps_only_its_own_subject(workspace):
    campaign = CampaignFactory(workspace=workspace)
    kpi = _kpi(workspace, "100.00", scope="platform", platform="tiktok", campaign=campaign)
    assert (kpi.platform, kpi.campaign) == ("tiktok", None)
