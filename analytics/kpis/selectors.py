"""Reads for KPI pages, the API, the insights feed and the dashboard. Every read starts from a
workspace; revenue comes from the `DailyRevenue` rollup, never from raw orders."""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.utils import timezone

from analytics.kpis.projection import KpiProgress, Period, period_of, progress_compute
from analytics.models import Alert, KpiState, RevenueKPI
from attribution.models import DailyRevenue
from omnisocial.models import Workspace
from omnisocial.money import ZERO, round_money

logger = logging.getLogger(__name__)

# Open alerts older than this leave the insights feed and the dashboard: they describe a past
# period or window.
RECENT_ALERT_DAYS = 30


def kpi_list(*, workspace: Workspace) -> QuerySet[RevenueKPI]:
    return workspace.kpis.select_related("workspace", "campaign", "post")


def kpi_get(*, workspace: Workspace, kpi_id: int) -> RevenueKPI:
    """Raises RevenueKPI.DoesNotExist for another workspace's KPI."""
    return kpi_list(workspace=workspace).get(pk=kpi_id)


def kpi_actual(*, kpi: RevenueKPI, period: Period, now: datetime) -> Decimal:
    """Revenue credited to the KPI's scope from the period's first day to today (inclusive),
    under its attribution model; refunds count (negative) on their own day. The headline's
    definition over the same rows (DailyRevenue's cells sum to DailyTotals'; the reconciliation
    suite checks a KPI against the dashboard)."""
    today = now.astimezone(kpi.workspace.zone).date()
    rows = DailyRevenue.objects.filter(
        workspace=kpi.workspace,
        attribution_model=kpi.model_name,
        day__gte=period.start,
        day__lte=min(period.end, today),
    )
    if kpi.scope == RevenueKPI.Scope.PLATFORM:
        rows = rows.filter(platform=kpi.platform)
    elif kpi.scope == RevenueKPI.Scope.CAMPAIGN:
        rows = rows.filter(campaign_id=kpi.campaign_id)
    elif kpi.scope == RevenueKPI.Scope.POST:
        rows = rows.filter(post_id=kpi.post_id)
    return rows.aggregate(total=Sum("revenue"))["total"] or ZERO


class KpiUnreadable(ValueError):
    """A stored KPI whose progress cannot be computed (its dates are out of range: written
    before they were validated, or around the model); the message says why and what to do."""


def kpi_progress(*, kpi: RevenueKPI, now: datetime | None = None) -> KpiProgress:
    """Actual, projection, progress and state of one KPI at `now` (default: the current time).
    Raises KpiUnreadable for a KPI whose dates are out of range."""
    problem = kpi.dates_problem()
    if problem:
        raise KpiUnreadable(problem)
    now = now or timezone.now()
    try:
        period = period_of(kpi, now)
        actual = kpi_actual(kpi=kpi, period=period, now=now)
        return progress_compute(kpi=kpi, period=period, actual=actual, now=now)
    except (ArithmeticError, ValueError) as exc:  # OverflowError included: never a 500
        raise KpiUnreadable(f"The KPI's progress cannot be computed: {exc}") from exc


def kpis_progress(*, workspace: Workspace, now: datetime | None = None) -> list[KpiProgress]:
    """Every readable KPI's progress: one stored KPI that cannot be computed is logged and left
    out, so the pages, the API and the check that list KPIs go on with the others."""
    now = now or timezone.now()
    found = []
    for kpi in kpi_list(workspace=workspace):
        try:
            found.append(kpi_progress(kpi=kpi, now=now))
        except KpiUnreadable as exc:
            logger.warning("KPI %s of workspace %s left out: %s", kpi.pk, workspace.slug, exc)
    return found


def alert_list(
    *, workspace: Workspace, kind: str | None = None, acknowledged: bool | None = None
) -> QuerySet[Alert]:
    alerts = workspace.alerts.select_related("kpi", "post", "campaign")
    if kind:
        alerts = alerts.filter(kind=kind)
    if acknowledged is not None:
        alerts = alerts.filter(acknowledged_at__isnull=not acknowledged)
    return alerts


def alert_get(*, workspace: Workspace, alert_id: int) -> Alert:
    """Raises Alert.DoesNotExist for another workspace's alert."""
    return workspace.alerts.get(pk=alert_id)


def alerts_recent_open(
    *, workspace: Workspace, now: datetime | None = None, limit: int = 50
) -> list[Alert]:
    """Unacknowledged alerts of the last RECENT_ALERT_DAYS days, newest first."""
    since = (now or timezone.now()) - timedelta(days=RECENT_ALERT_DAYS)
    return list(
        alert_list(workspace=workspace, acknowledged=False).filter(created_at__gte=since)[:limit]
    )


@dataclass(frozen=True)
class KpiOverview:
    """What a dashboard shows of KPIs and alerts: every KPI's progress, the open alerts and
    their count per state."""

    kpis: list[KpiProgress]
    open_alerts: list[Alert]
    open_alert_count: int
    state_counts: dict[str, int]


def kpi_overview(
    *, workspace: Workspace, now: datetime | None = None, alert_limit: int = 5
) -> KpiOverview:
    now = now or timezone.now()
    kpis = kpis_progress(workspace=workspace, now=now)
    since = now - timedelta(days=RECENT_ALERT_DAYS)
    open_alerts = alert_list(workspace=workspace, acknowledged=False).filter(created_at__gte=since)
    return KpiOverview(
        kpis=kpis,
        open_alerts=list(open_alerts[:alert_limit]),
        open_alert_count=open_alerts.count(),
        state_counts={state: sum(p.state == state for p in kpis) for state in KpiState.values},
    )


@dataclass(frozen=True)
class EntityRevenue:
    entity_id: int
    revenue: Decimal
    orders: int


def revenue_per_post(
    *, workspace: Workspace, attribution_model: str, start: date, end: date
) -> list[EntityRevenue]:
    """Revenue of each post with rollup rows between `start` and `end` (inclusive)."""
    return _revenue_per(workspace, attribution_model, start, end, "post")


def revenue_per_campaign(
    *, workspace: Workspace, attribution_model: str, start: date, end: date
) -> list[EntityRevenue]:
    return _revenue_per(workspace, attribution_model, start, end, "campaign")


def _revenue_per(workspace, attribution_model, start, end, field) -> list[EntityRevenue]:
    rows = (
        DailyRevenue.objects.filter(
            workspace=workspace,
            attribution_model=attribution_model,
            day__gte=start,
            day__lte=end,
            **{f"{field}__isnull": False},
        )
        .values(field)
        .annotate(revenue=Sum("revenue"), orders=Sum("orders"))
        .order_by(field)
    )
    return [
        EntityRevenue(
            entity_id=row[field],
            # SQLite's SUM drops the scale of decimals: round to the currency's cents again.
            revenue=round_money(row["revenue"], workspace.reporting_currency),
            orders=row["orders"],
        )
        for row in rows
    ]
