"""A KPI's period, how much of it has gone, and where the run rate so far ends up.

Everything here is arithmetic on Decimals and aware datetimes; reading the rollups is the
selectors' job. Periods are cut at midnight in the workspace's time zone.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from analytics.models import KpiState, RevenueKPI
from omnisocial.money import ZERO, round_money

# No alert before a fifth of the period has gone: a run rate taken from the first day or two of a
# month is mostly noise (one big order, a quiet Monday) and would flip the state back and forth.
MIN_ELAPSED_SHARE = Decimal("0.20")

RATIO_PLACES = Decimal("0.0001")
SECONDS_PER_DAY = Decimal(86400)


@dataclass(frozen=True)
class Period:
    """A KPI's period: calendar days `start`..`end` inclusive, and their local-midnight bounds."""

    start: date
    end: date
    starts_at: datetime
    ends_at: datetime  # the local midnight after `end`

    @property
    def length(self) -> timedelta:
        return self.ends_at - self.starts_at


def local_midnight(day: date, zone) -> datetime:
    """The day's local midnight in UTC: differences between UTC datetimes are real durations,
    while two datetimes of one zone subtract as wall-clock times (ignoring a clock change)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def period_of(kpi: RevenueKPI, now: datetime) -> Period:
    """The KPI's current period: the week (Monday to Sunday), month or quarter holding `now` in
    the workspace's time zone, or the KPI's fixed date range."""
    zone = kpi.workspace.zone
    today = now.astimezone(zone).date()
    if kpi.period == RevenueKPI.Period.WEEK:
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=6)
    elif kpi.period == RevenueKPI.Period.MONTH:
        start = today.replace(day=1)
        end = _next_month(start) - timedelta(days=1)
    elif kpi.period == RevenueKPI.Period.QUARTER:
        start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        end = _next_month(_next_month(_next_month(start))) - timedelta(days=1)
    else:
        start, end = kpi.start_date, kpi.end_date
    return Period(
        start=start,
        end=end,
        starts_at=local_midnight(start, zone),
        ends_at=local_midnight(end + timedelta(days=1), zone),
    )


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def elapsed_share(period: Period, now: datetime) -> Decimal:
    """The share of the period gone at `now`, in [0, 1], measured in elapsed seconds.

    Seconds (not days) because the actual so far includes today's partial day: at noon half of
    today has gone and half of today's sales are in. Both ends are local midnights taken as aware
    datetimes, so a day on which the clocks change counts its real 23 or 25 hours.
    """
    total = Decimal(int(period.length.total_seconds()))
    gone = Decimal(int((now - period.starts_at).total_seconds()))
    return min(max(gone / total, Decimal(0)), Decimal(1))


@dataclass(frozen=True)
class KpiProgress:
    """A KPI evaluated at one moment. Amounts in the workspace's reporting currency."""

    kpi: RevenueKPI
    period: Period
    actual: Decimal
    projected: Decimal
    elapsed_share: Decimal
    progress: Decimal  # actual / target
    projected_progress: Decimal  # projected / target
    required_daily_rate: Decimal | None  # what each remaining day must bring to hit the target
    state: str
    conclusive: bool  # enough of the period has gone for the state to raise an alert

    @property
    def currency(self) -> str:
        return self.kpi.workspace.reporting_currency

    @property
    def state_label(self) -> str:
        return KpiState(self.state).label

    @property
    def bar_percent(self) -> int:
        """The progress bar's width, 0..100."""
        return int(min(max(self.progress * 100, Decimal(0)), Decimal(100)))


def progress_compute(*, kpi: RevenueKPI, period: Period, actual: Decimal, now: datetime):
    """Projection: actual so far / elapsed share (the run rate so far carried to the period's end).

    Before the period starts nothing has elapsed and the projection is the actual (zero). The state
    compares projected / target with the KPI's ratios: at or above `exceed_ratio` on track to
    exceed, below `behind_ratio` falling behind, on track in between.
    """
    currency = kpi.workspace.reporting_currency
    share = elapsed_share(period, now)
    projected = actual if share == 0 else round_money(actual / share, currency)
    projected_ratio = projected / kpi.target
    if projected_ratio >= kpi.exceed_ratio:
        state = KpiState.ON_TRACK_TO_EXCEED
    elif projected_ratio < kpi.behind_ratio:
        state = KpiState.FALLING_BEHIND
    else:
        state = KpiState.ON_TRACK
    remaining_days = Decimal(int((period.ends_at - max(now, period.starts_at)).total_seconds()))
    remaining_days /= SECONDS_PER_DAY
    if remaining_days > 0:
        required = round_money(max(kpi.target - actual, ZERO) / remaining_days, currency)
    else:
        required = None
    return KpiProgress(
        kpi=kpi,
        period=period,
        actual=round_money(actual, currency),
        projected=projected,
        elapsed_share=share.quantize(RATIO_PLACES),
        progress=(actual / kpi.target).quantize(RATIO_PLACES),
        projected_progress=projected_ratio.quantize(RATIO_PLACES),
        required_daily_rate=required,
        state=state.value,
        conclusive=share >= MIN_ELAPSED_SHARE,
    )
