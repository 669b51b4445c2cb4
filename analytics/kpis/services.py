"""Writes of the analytics app: KPIs, their evaluation, outlier detection and alerts."""

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from analytics.kpis import outliers, selectors
from analytics.kpis.projection import KpiProgress
from analytics.models import Alert, KpiState, RevenueKPI
from analytics.templatetags.analytics_format import orders as orders_text
from omnisocial.models import Campaign, Post, Workspace
from omnisocial.money import money_text

logger = logging.getLogger(__name__)

# Outliers are judged on the last 14 complete days: two of every weekday, so a weekend-heavy post
# is not flagged against weekday ones, and recent enough to act on.
OUTLIER_WINDOW_DAYS = 14
# Projected below half the target: not a dip but a miss, worth more than a warning.
CRITICAL_BEHIND_RATIO = Decimal("0.50")

KPI_FIELDS = (
    "name", "scope", "platform", "campaign", "post", "target", "period", "start_date", "end_date",
    "attribution_model", "exceed_ratio", "behind_ratio", "owner",
)  # fmt: skip


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('1'))}%"


# --- KPIs ----------------------------------------------------------------------------------------


def _kpi_scope_normalise(kpi: RevenueKPI) -> None:
    """Keeps only the scope's own subject, so a platform KPI never filters on a stale campaign."""
    if kpi.scope != RevenueKPI.Scope.PLATFORM:
        kpi.platform = ""
    if kpi.scope != RevenueKPI.Scope.CAMPAIGN:
        kpi.campaign = None
    if kpi.scope != RevenueKPI.Scope.POST:
        kpi.post = None
    if kpi.period != RevenueKPI.Period.CUSTOM:
        kpi.start_date = kpi.end_date = None


@transaction.atomic
def kpi_create(
    *,
    workspace: Workspace,
    name: str,
    target: Decimal,
    scope: str = RevenueKPI.Scope.WORKSPACE,
    platform: str = "",
    campaign: Campaign | None = None,
    post: Post | None = None,
    period: str = RevenueKPI.Period.MONTH,
    start_date: date | None = None,
    end_date: date | None = None,
    attribution_model: str = "",
    exceed_ratio: Decimal | None = None,
    behind_ratio: Decimal | None = None,
    owner=None,
) -> RevenueKPI:
    """Creates a KPI; raises ValidationError (per field) when it does not make sense."""
    kpi = RevenueKPI(
        workspace=workspace,
        name=name,
        target=target,
        scope=scope,
        platform=platform,
        campaign=campaign,
        post=post,
        period=period,
        start_date=start_date,
        end_date=end_date,
        attribution_model=attribution_model,
        owner=owner,
    )
    if exceed_ratio is not None:
        kpi.exceed_ratio = exceed_ratio
    if behind_ratio is not None:
        kpi.behind_ratio = behind_ratio
    _kpi_scope_normalise(kpi)
    kpi.full_clean()
    kpi.save()
    return kpi


@transaction.atomic
def kpi_update(*, kpi: RevenueKPI, **changes) -> RevenueKPI:
    """Changes some of a KPI's fields. A change of what is measured (scope, target, period,
    model, ratios) forgets the remembered state, so the next evaluation starts afresh."""
    unknown = set(changes) - set(KPI_FIELDS)
    if unknown:
        raise TypeError(f"kpi_update() got unknown fields: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(kpi, field, value)
    _kpi_scope_normalise(kpi)
    kpi.full_clean()
    # Only the editable fields are written: the evaluation may have moved the state meanwhile.
    update_fields = [*KPI_FIELDS, "updated_at"]
    if set(changes) - {"name", "owner"}:
        kpi.state, kpi.state_period_start = "", None
        update_fields += ["state", "state_period_start"]
    kpi.save(update_fields=update_fields)
    return kpi


@transaction.atomic
def kpi_delete(*, kpi: RevenueKPI) -> None:
    kpi.delete()


def kpis_evaluate(*, workspace: Workspace, now: datetime) -> list[Alert]:
    """Evaluates every KPI of the workspace at `now` and returns the alerts it raised.

    An alert is raised on a transition only: when a KPI's conclusive state moves into "on track
    to exceed" or "falling behind" from another state (or from no state yet this period). A state
    that persists raises nothing, so the hourly check is quiet, and running it twice is harmless.
    Each KPI is evaluated in its own transaction, its row locked, so two workers never both see
    the same transition. A KPI whose progress cannot be computed (`selectors.KpiUnreadable`)
    is logged and skipped. At most one alert per KPI, period and direction (the dedupe key): a KPI
    that wavers around a threshold does not alert again within the same period.
    """
    raised = []
    for kpi_id in workspace.kpis.values_list("pk", flat=True):
        with transaction.atomic():
            kpi = (
                RevenueKPI.objects.select_for_update(of=("self",))
                .select_related("workspace", "campaign", "post")
                .get(pk=kpi_id)
            )
            try:
                progress = selectors.kpi_progress(kpi=kpi, now=now)
            except selectors.KpiUnreadable as exc:  # a bad stored row: the others go on
                logger.warning("KPI %s of workspace %s not evaluated: %s", kpi_id, workspace.slug,
                               exc)  # fmt: skip
                continue
            alert = _kpi_state_record(kpi=kpi, progress=progress, now=now)
            if alert is not None:
                raised.append(alert)
    return raised


def _kpi_state_record(*, kpi: RevenueKPI, progress: KpiProgress, now: datetime) -> Alert | None:
    period_start = progress.period.start
    previous = kpi.state if kpi.state_period_start == period_start else ""
    alert = None
    if progress.conclusive and progress.state != previous:
        if progress.state != KpiState.ON_TRACK:
            alert = _kpi_alert_raise(kpi=kpi, progress=progress, now=now)
        kpi.state = progress.state
    elif kpi.state_period_start != period_start:
        kpi.state = ""  # a new period starts without a state
    kpi.state_period_start = period_start
    kpi.evaluated_at = now
    kpi.save(update_fields=["state", "state_period_start", "evaluated_at", "updated_at"])
    return alert


def kpi_figures(progress: KpiProgress) -> dict:
    """The numbers behind a KPI's state; amounts and ratios as strings, like the API."""
    return {
        "currency": progress.currency,
        "target": str(progress.kpi.target),
        "actual": str(progress.actual),
        "projected": str(progress.projected),
        "progress": str(progress.progress),
        "projectedProgress": str(progress.projected_progress),
        "elapsedShare": str(progress.elapsed_share),
        "requiredDailyRate": None
        if progress.required_daily_rate is None
        else str(progress.required_daily_rate),
        "periodStart": progress.period.start.isoformat(),
        "periodEnd": progress.period.end.isoformat(),
        "attributionModel": progress.kpi.model_name,
    }


def _kpi_alert_raise(*, kpi: RevenueKPI, progress: KpiProgress, now: datetime) -> Alert | None:
    currency = progress.currency
    ahead = progress.state == KpiState.ON_TRACK_TO_EXCEED
    summary = (
        f"{money_text(progress.actual, currency)} so far with "
        f"{_percent(progress.elapsed_share)} of the period gone "
        f"({progress.period.start:%b %-d} to {progress.period.end:%b %-d}); "
        f"projected {money_text(progress.projected, currency)} against a target of "
        f"{money_text(kpi.target, currency)} ({_percent(progress.projected_progress)})."
    )
    if ahead:
        kind, severity = Alert.Kind.KPI_AHEAD, Alert.Severity.INFO
        title = f"{kpi.name} is on track to exceed its target"
        message = summary
    else:
        kind = Alert.Kind.KPI_BEHIND
        critical = progress.projected_progress < CRITICAL_BEHIND_RATIO
        severity = Alert.Severity.CRITICAL if critical else Alert.Severity.WARNING
        title = f"{kpi.name} is falling behind its target"
        message = summary
        if progress.required_daily_rate is not None:
            message += (
                f" Reaching it needs {money_text(progress.required_daily_rate, currency)} a day "
                "from now on."
            )
    return _alert_raise(
        workspace=kpi.workspace,
        dedupe_key=f"kpi:{kpi.pk}:{progress.period.start.isoformat()}:{kind}",
        kind=kind,
        severity=severity,
        title=title,
        message=message,
        figures=kpi_figures(progress),
        kpi=kpi,
        now=now,
    )


# --- Outliers ------------------------------------------------------------------------------------


def outliers_detect(*, workspace: Workspace, now: datetime) -> list[Alert]:
    """Flags posts and campaigns whose revenue over the last OUTLIER_WINDOW_DAYS complete days
    (workspace time zone, today excluded as still partial) is far from their peers' in the same
    workspace: a modified z-score beyond ±3.5 (see `analytics.kpis.outliers`), under the workspace's
    default attribution model. Peers are the posts (campaigns) with revenue rows in the window;
    with fewer than MIN_PEERS peers nothing is flagged.

    One alert per entity and direction per window: the dedupe key carries the window's end, and an
    entity already flagged in that direction within the last window is not flagged again, so a
    post that stays viral raises one alert a fortnight, not one an hour.
    """
    window_end = now.astimezone(workspace.zone).date() - timedelta(days=1)
    window_start = window_end - timedelta(days=OUTLIER_WINDOW_DAYS - 1)
    model = workspace.default_attribution_model
    raised = []
    for entity in ("post", "campaign"):
        reader = selectors.revenue_per_post if entity == "post" else selectors.revenue_per_campaign
        rows = reader(workspace=workspace, attribution_model=model, start=window_start,
                      end=window_end)  # fmt: skip
        if len(rows) < outliers.MIN_PEERS + 1:
            continue
        scores = outliers.modified_z_scores([row.revenue for row in rows])
        for row, score in zip(rows, scores, strict=True):
            if not score.is_outlier:
                continue
            alert = _outlier_alert_raise(
                workspace=workspace,
                entity=entity,
                entity_id=row.entity_id,
                row=row,
                score=score,
                peers=len(rows) - 1,
                window=(window_start, window_end),
                model=model,
                now=now,
            )
            if alert is not None:
                raised.append(alert)
    return raised


def _outlier_alert_raise(
    *, workspace, entity, entity_id, row, score, peers, window, model, now
) -> Alert | None:
    high = score.score > 0
    kind = Alert.Kind(f"{entity}_outlier_{'high' if high else 'low'}")
    related = {entity: entity_id}
    recent = now - timedelta(days=OUTLIER_WINDOW_DAYS)
    with transaction.atomic():
        if workspace.alerts.filter(kind=kind, created_at__gt=recent, **related).exists():
            return None
        subject = (
            workspace.posts.get(pk=entity_id)
            if entity == "post"
            else workspace.campaigns.get(pk=entity_id)
        )
        currency = workspace.reporting_currency
        start, end = window
        label = "Post" if entity == "post" else "Campaign"
        title = f"{label} {'over' if high else 'under'}-performing: {_subject_name(subject)}"
        median = score.median.quantize(Decimal("0.01"))
        orders = f"{orders_text(row.orders)} order{'' if row.orders == 1 else 's'}"
        message = (
            f"{money_text(row.revenue, currency)} in revenue from {start:%b %-d} to {end:%b %-d} "
            f"({orders}), against a median of {money_text(median, currency)} "
            f"across {peers} other {entity}s: far {'above' if high else 'below'} what "
            f"{entity}s here usually make, by more than they usually differ from one another."
        )
        figures = {
            "currency": currency,
            "revenue": str(row.revenue),
            "orders": orders_text(row.orders),
            "median": str(median),
            "mad": str(score.mad.quantize(Decimal("0.01"))),
            "score": str(score.score.quantize(Decimal("0.01"))),
            "threshold": str(outliers.THRESHOLD),
            "peers": peers,
            "windowStart": start.isoformat(),
            "windowEnd": end.isoformat(),
            "attributionModel": model,
        }
        return _alert_raise(
            workspace=workspace,
            dedupe_key=f"{kind}:{entity_id}:{end.isoformat()}",
            kind=kind,
            severity=Alert.Severity.INFO if high else Alert.Severity.WARNING,
            title=title,
            message=message,
            figures=figures,
            now=now,
            **{entity: subject},
        )


def _subject_name(subject) -> str:
    if isinstance(subject, Post):
        return subject.caption[:60] or subject.reference
    return subject.name


# --- Alerts --------------------------------------------------------------------------------------


def _alert_raise(*, workspace: Workspace, dedupe_key: str, now: datetime, **fields) -> Alert | None:
    """Creates the alert unless one with the same dedupe key exists; returns it only if created."""
    alert, created = Alert.objects.get_or_create(
        workspace=workspace, dedupe_key=dedupe_key, defaults={"created_at": now, **fields}
    )
    return alert if created else None


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user=None, now: datetime | None = None) -> Alert:
    """Marks the alert as seen. Acknowledging twice keeps the first acknowledgement."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now or timezone.now()
        # An API key acts for the workspace, not for a person: nobody to record then.
        alert.acknowledged_by = user if isinstance(user, get_user_model()) else None
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


def workspace_check(*, workspace: Workspace, now: datetime) -> list[Alert]:
    """The scheduled check of one workspace: KPIs, then outliers. Returns the alerts raised."""
    return kpis_evaluate(workspace=workspace, now=now) + outliers_detect(
        workspace=workspace, now=now
    )
