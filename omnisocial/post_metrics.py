"""Writing posts' daily metrics (`PostMetrics`): the one place every source (platform syncs, CSV
and API imports, the post form's boost) stores impressions, reach, engagements, link clicks and
ad spend.

Spend arrives in its source's currency (the ad account's, the file's) and is stored converted to
the workspace's reporting currency at the day's rate, as orders are (docs/metrics.md). Rates
belong to a higher app (commerce's exchange rates), so the caller passes a `rates` function down:
`rates(currency, day)` gives the rate to the reporting currency, or None when there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from omnisocial.models import MetricsSource, Post, PostMetrics, Workspace
from omnisocial.money import ZERO, round_money

Rates = Callable[[str, date], Decimal | None]

# The figures a source may give for a post's day; a source gives any subset of them, and the
# figures it does not give keep what the row holds (GA4 cost data has no reach or engagements).
COUNTS = ("impressions", "reach", "engagements", "link_clicks")

# PositiveIntegerField's ceiling on every database the project runs on.
MAX_COUNT = 2_147_483_647


@dataclass(frozen=True)
class MetricsRow:
    """One post's figures for one day, as a source gave them. `spend` is in `currency`."""

    post_id: int
    day: date
    counts: dict[str, int] = field(default_factory=dict)
    spend: Decimal | None = None
    currency: str = ""

    @property
    def key(self) -> tuple[int, date]:
        return (self.post_id, self.day)


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def spend_convert(*, workspace: Workspace, amount: Decimal, currency: str, day: date,
                  rates: Rates | None) -> Decimal:  # fmt: skip
    """`amount` of `currency` spent on `day` in the workspace's reporting currency, rounded to
    the cent. A missing rate is an error, never 1:1 (as for orders)."""
    currency = (currency or workspace.reporting_currency).upper()
    if currency == workspace.reporting_currency:
        return round_money(amount)
    rate = rates(currency, day) if rates is not None else None
    if rate is None:
        raise ValidationError(
            f"No {currency}→{workspace.reporting_currency} exchange rate on {day.isoformat()} or "
            "in the 7 days before it: add one (Settings › Exchange rates or POST "
            "/api/exchange-rates) and import again."
        )
    return round_money(amount * rate)


@transaction.atomic
def post_metrics_upsert(
    *, workspace: Workspace, rows: Iterable[MetricsRow], source: str, rates: Rates | None = None
) -> UpsertResult:
    """Stores each row's figures on its post's day, idempotently: a row equal to what is stored
    changes nothing (not even `fetched_at`), so the same file or sync page twice writes once.
    Every post must be the workspace's; each (post, day) at most once. Spend is converted here
    (see `spend_convert`); a missing rate refuses the whole call (ValidationError) and nothing
    is written."""
    rows = list(rows)
    MetricsSource(source)  # an unknown source is a programming error
    keys = [row.key for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("one row per post and day")
    post_ids = {row.post_id for row in rows}
    owned = set(workspace.posts.filter(pk__in=post_ids).values_list("pk", flat=True))
    if owned != post_ids:
        raise ValidationError("A row names a post of another workspace.")
    stored = {
        (m.post_id, m.day): m
        for m in PostMetrics.objects.filter(
            post_id__in=post_ids, day__in={row.day for row in rows}
        ).select_for_update()
    }
    now = timezone.now()
    created, changed, result = [], [], UpsertResult()
    for row in rows:
        values = dict(row.counts)
        if row.spend is not None:
            currency = (row.currency or workspace.reporting_currency).upper()
            values["spend_original"] = round_money(row.spend, currency)
            values["spend_currency"] = currency
            values["spend"] = spend_convert(
                workspace=workspace, amount=row.spend, currency=currency, day=row.day, rates=rates
            )
        metrics = stored.get(row.key)
        if metrics is None:
            created.append(
                PostMetrics(
                    post_id=row.post_id, day=row.day, source=source, fetched_at=now, **values
                )  # fmt: skip
            )
            continue
        if metrics.source == source and all(getattr(metrics, k) == v for k, v in values.items()):
            result.unchanged += 1
            continue
        for name, value in values.items():
            setattr(metrics, name, value)
        metrics.source, metrics.fetched_at = source, now
        changed.append(metrics)
    fields = [*COUNTS, "spend", "spend_original", "spend_currency", "source", "fetched_at"]
    PostMetrics.objects.bulk_create(created, batch_size=2000)
    PostMetrics.objects.bulk_update(changed, fields, batch_size=2000)
    result.created, result.updated = len(created), len(changed)
    return result


# A boost entered by hand spreads over at most a year of days.
BOOST_MAX_DAYS = 366


@dataclass(frozen=True)
class Boost:
    """A post's spend entered by hand: its total and first and last days (None: no boost)."""

    total: Decimal
    start: date | None
    end: date | None


def post_boost(*, post: Post) -> Boost:
    """The boost entered by hand on the post form: the sum and days of its manual spend rows."""
    days = list(
        post.metrics.filter(source=MetricsSource.MANUAL, spend__gt=0)
        .order_by("day")
        .values_list("day", "spend")
    )
    if not days:
        return Boost(ZERO, None, None)
    return Boost(sum((spend for _, spend in days), ZERO), days[0][0], days[-1][0])


def _spread(total: Decimal, days: int) -> list[Decimal]:
    """`total` in cents over `days` days, equal but for the first days' extra cent each (largest
    remainder: the days sum exactly to the total)."""
    cents = int(total * 100)
    base, extra = divmod(cents, days)
    return [Decimal(base + (1 if n < extra else 0)) / 100 for n in range(days)]


@transaction.atomic
def post_boost_set(*, post: Post, total: Decimal, start: date | None, end: date | None) -> None:
    """Spend entered by hand for a post's boost: `total` (in the workspace's reporting currency)
    spread evenly over the days from `start` to `end`, written as the post's manual spend rows
    (source manual), so ROAS and spend read it like any platform's spend. The boost replaces the
    post's earlier manual spend; a day whose spend came from a platform, a file or the API is
    not overwritten (ValidationError naming it). `total` 0 removes the manual spend."""
    workspace = post.workspace
    total = round_money(total or ZERO)
    if total < 0:
        raise ValidationError({"boost_spend": "Spend cannot be negative."})
    if total and (start is None or end is None):
        raise ValidationError({"boost_start": "Give the boost's first and last days."})
    if total and end < start:
        raise ValidationError({"boost_end": "The last day comes before the first."})
    if total and (end - start).days + 1 > BOOST_MAX_DAYS:
        raise ValidationError({"boost_end": f"A boost spans at most {BOOST_MAX_DAYS} days."})
    manual = post.metrics.select_for_update().filter(source=MetricsSource.MANUAL)
    manual.filter(spend__gt=0).update(spend=ZERO, spend_original=ZERO, fetched_at=timezone.now())
    # Rows that held nothing but the boost go (a day with counts keeps them).
    manual.filter(spend=0, impressions=0, reach=0, engagements=0, link_clicks=0).delete()
    if not total:
        return
    days = [start + timedelta(n) for n in range((end - start).days + 1)]
    taken = list(
        post.metrics.filter(day__in=days, spend__gt=0)
        .exclude(source=MetricsSource.MANUAL)
        .values_list("day", "source")
    )
    if taken:
        day, source = taken[0]
        raise ValidationError(
            {"boost_start": f"Spend on {day.isoformat()} already comes from "
                            f"{MetricsSource(source).label}: boost other days, or correct it "
                            "there."}
        )  # fmt: skip
    rows = [
        MetricsRow(post_id=post.pk, day=day, spend=amount, currency=workspace.reporting_currency)
        for day, amount in zip(days, _spread(total, len(days)), strict=True)
    ]
    post_metrics_upsert(workspace=workspace, rows=rows, source=MetricsSource.MANUAL)
