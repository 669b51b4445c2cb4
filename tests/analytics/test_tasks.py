"""The hourly schedule, the django-q2 task path, the check_kpis command, the dashboard selector and
the demo KPIs. Revenue comes from `DailyRevenue` rows laid directly (KPIs only read the rollup)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine
from django.core.management import call_command
from django_q.models import Schedule
from django_q.tasks import async_task

from analytics.demo import seed_kpis
from analytics.kpis import selectors, services
from analytics.models import Alert
from tests.factories import CampaignFactory, DailyRevenueFactory, WorkspaceFactory

NOV_10 = datetime(2026, 11, 10, tzinfo=UTC)


def _behind(workspace, name="November"):
    for day in range(1, 10):
        DailyRevenueFactory(workspace=workspace, day=date(2026, 11, day), revenue=Decimal("50"))
    return services.kpi_create(workspace=workspace, name=name, target=Decimal("3000.00"))


def test_schedule_sync_twice_leaves_one_hourly_kpi_check(db):
    call_command("sync_schedules")
    call_command("sync_schedules")
    schedule = Schedule.objects.get(name="omnisocial:check-kpis")
    assert (schedule.func, schedule.schedule_type) == (
        "analytics.tasks.evaluate_all_workspaces", Schedule.HOURLY,
    )  # fmt: skip
    assert Schedule.objects.filter(func="analytics.tasks.evaluate_all_workspaces").count() == 1


def test_the_scheduled_task_runs_through_django_q_and_is_safe_twice(workspace):
    other = WorkspaceFactory()
    _behind(workspace)
    _behind(other, name="Other")

    with time_machine.travel(NOV_10, tick=False):
        async_task("analytics.tasks.evaluate_all_workspaces")
        async_task("analytics.tasks.evaluate_all_workspaces")

    assert sorted(Alert.objects.values_list("workspace__slug", "kind")) == [
        (workspace.slug, "kpi_behind"), (other.slug, "kpi_behind"),
    ]  # fmt: skip


def test_check_kpis_prints_what_it_raised(workspace, capsys):
    _behind(workspace)
    with time_machine.travel(NOV_10, tick=False):
        call_command("check_kpis")
        first = capsys.readouterr().out
        call_command("check_kpis", workspace=workspace.slug)
        second = capsys.readouterr().out

    assert first == (
        f"{workspace.slug}: [warning] November is falling behind its target\n1 alert raised.\n"
    )
    assert second == "0 alerts raised.\n"


def test_the_dashboard_overview_has_kpi_progress_and_open_alerts(workspace):
    kpi = _behind(workspace)
    services.kpis_evaluate(workspace=workspace, now=NOV_10)

    overview = selectors.kpi_overview(workspace=workspace, now=NOV_10)

    assert [(p.kpi, p.state, p.projected) for p in overview.kpis] == [
        (kpi, "falling_behind", Decimal("1500.00"))
    ]
    assert [a.kind for a in overview.open_alerts] == ["kpi_behind"]
    assert overview.open_alert_count == 1
    assert overview.state_counts == {"on_track_to_exceed": 0, "on_track": 0, "falling_behind": 1}


def test_demo_kpis_are_seeded_once(workspace):
    CampaignFactory(workspace=workspace, name="Summer Sale", slug="summer-sale")
    assert seed_kpis(workspace=workspace) == 3
    assert seed_kpis(workspace=workspace) == 0
    assert sorted(workspace.kpis.values_list("name", "scope", "period")) == [
        ("Instagram this month", "platform", "month"),
        ("Monthly social revenue", "workspace", "month"),
        ("Summer Sale this quarter", "campaign", "quarter"),
    ]
