"""Plain-language recommendations from KPI states and alerts, for people and the advisor service."""

from decimal import Decimal

from analytics.kpis.projection import KpiProgress
from analytics.models import Alert, KpiState
from omnisocial.money import money_text


def _percent(ratio) -> str:
    return f"{(Decimal(ratio) * 100).quantize(Decimal('1'))}%"


def kpi_recommendation(progress: KpiProgress) -> str:
    kpi, currency = progress.kpi, progress.currency
    if not progress.conclusive:
        return (
            f"Too early to judge {kpi.name}: {_percent(progress.elapsed_share)} of the period has "
            "gone. Check again later."
        )
    projected = (
        f"{kpi.name} is projected at {money_text(progress.projected, currency)}, "
        f"{_percent(progress.projected_progress)} of its {money_text(kpi.target, currency)} target."
    )
    if progress.state == KpiState.FALLING_BEHIND:
        needed = (
            f" It needs {money_text(progress.required_daily_rate, currency)} a day from now on."
            if progress.required_daily_rate is not None
            else ""
        )
        return (
            f"{projected}{needed} Move budget to the posts and campaigns that sell, boost the "
            "best performers, or revise the target."
        )
    if progress.state == KpiState.ON_TRACK_TO_EXCEED:
        return f"{projected} Consider raising the target or scaling what drives it."
    return f"{projected} On track: no change needed."


def alert_recommendation(alert: Alert) -> str:
    figures = alert.figures
    if alert.kind in (Alert.Kind.KPI_AHEAD, Alert.Kind.KPI_BEHIND):
        lead = (
            "Consider raising the target or scaling what drives it."
            if alert.kind == Alert.Kind.KPI_AHEAD
            else "Move budget to the posts and campaigns that sell, or revise the target."
        )
        return f"{alert.message} {lead}"
    entity = "post" if alert.kind.startswith("post") else "campaign"
    revenue = money_text(figures["revenue"], figures["currency"])
    median = money_text(figures["median"], figures["currency"])
    span = f"from {figures['windowStart']} to {figures['windowEnd']}"
    if alert.kind.endswith("high"):
        return (
            f"This {entity} earned {revenue} {span}, far above the {median} median of its peers. "
            f"Boost it, or repeat its format, offer and timing in the next {entity}s."
        )
    return (
        f"This {entity} earned {revenue} {span}, far below the {median} median of its peers. "
        "Check that its links and UTMs reach the store, and rework or stop spending on it."
    )
