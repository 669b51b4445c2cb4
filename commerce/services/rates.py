"""Exchange rates: which rate converts an order, loading rates, and re-converting the orders a
new rate reaches."""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from datetime import time as clock
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q

from commerce import signals
from commerce.models import (
    CommerceOrder,
    ExchangeRate,
)
from omnisocial.models import Workspace
from omnisocial.money import round_money


class RateBook:
    """Exchange rates by (currency, day) for one workspace, read once per bulk run."""

    def __init__(self, reporting_currency: str, workspace: Workspace | int | None = None):
        self.reporting_currency = reporting_currency
        self.workspace_id = getattr(workspace, "pk", workspace)
        self._cache: dict[tuple[str, date], Decimal | None] = {}

    def rate(self, currency: str, day: date) -> Decimal | None:
        """The latest rate on or before the order's day, at most `ExchangeRate.MAX_AGE` old;
        on the same day the workspace's own rate wins over a shared one."""
        if currency == self.reporting_currency:
            return Decimal(1)
        key = (currency, day)
        if key not in self._cache:
            self._cache[key] = (
                ExchangeRate.objects.filter(
                    Q(workspace__isnull=True) | Q(workspace_id=self.workspace_id),
                    from_currency=currency,
                    to_currency=self.reporting_currency,
                    day__lte=day,
                    day__gte=day - ExchangeRate.MAX_AGE,
                )
                .order_by("-day", F("workspace_id").asc(nulls_last=True))
                .values_list("rate", flat=True)
                .first()
            )
        return self._cache[key]


@transaction.atomic
def exchange_rates_load(
    *, rates: Iterable[tuple[date, str, str, Decimal]], workspace: Workspace | None = None
) -> int:
    """Stores (day, from, to, rate) rows, replacing the same day's earlier rate of the same scope
    (shared when `workspace` is None, else that workspace's own); then re-converts the orders the
    new rates apply to, in that scope only. Returns the number of rows written."""
    wanted: dict[tuple[date, str, str], Decimal] = {
        (day, src.upper(), dst.upper()): rate for day, src, dst, rate in rates
    }
    if not wanted:
        return 0
    scope = ExchangeRate.objects.filter(workspace=workspace)
    days = [day for day, _, _ in wanted]
    existing = {
        (row.day, row.from_currency, row.to_currency): row
        for row in scope.filter(
            day__gte=min(days),
            day__lte=max(days),
            from_currency__in={src for _, src, _ in wanted},
            to_currency__in={dst for _, _, dst in wanted},
        )
    }
    changed, created = [], []
    for key, rate in wanted.items():
        row = existing.get(key)
        if row is None:
            created.append(
                ExchangeRate(
                    workspace=workspace,
                    day=key[0],
                    from_currency=key[1],
                    to_currency=key[2],
                    rate=rate,
                )  # fmt: skip
            )
        elif row.rate != rate:
            row.rate = rate
            changed.append(row)
    ExchangeRate.objects.bulk_create(created, batch_size=1000)
    ExchangeRate.objects.bulk_update(changed, ["rate"], batch_size=1000)
    windows: dict[tuple[str, str], tuple[date, date]] = {}
    for day, src, dst in wanted:
        first, last = windows.get((src, dst), (day, day))
        windows[(src, dst)] = (min(first, day), max(last, day))
    order_conversions_refresh(windows=windows, workspace=workspace)
    return len(wanted)


def order_conversions_refresh(
    *,
    windows: dict[tuple[str, str], tuple[date, date]],
    workspace: Workspace | None = None,
) -> list[int]:
    """Re-converts the orders a rate change can reach: per (from, to) pair, the unconverted ones
    and those dated from the first changed day to `MAX_AGE` past the last (an order reads the
    latest rate up to that old). With `workspace`, only that workspace's orders; a shared rate
    reaches every workspace. Orders whose rate moved are saved and re-attributed."""
    changed = []
    books: dict[tuple[int, str], RateBook] = {}
    for (src, dst), (first, last) in windows.items():
        start = datetime.combine(first, clock.min, tzinfo=UTC)
        end = datetime.combine(last + ExchangeRate.MAX_AGE, clock.max, tzinfo=UTC)
        reached = CommerceOrder.objects.filter(currency=src, reporting_currency=dst).filter(
            Q(is_converted=False) | Q(created_at__gte=start, created_at__lte=end)
        )
        if workspace is not None:
            reached = reached.filter(workspace=workspace)
        for order in reached.only(
            "id", "workspace_id", "currency", "created_at", "total_price", "exchange_rate",
            "is_converted", "reporting_total", "reporting_currency",
        ).iterator():  # fmt: skip
            book = books.setdefault((order.workspace_id, dst), RateBook(dst, order.workspace_id))
            rate = book.rate(order.currency, order.created_at.date())
            if rate == order.exchange_rate and order.is_converted == (rate is not None):
                continue
            order.exchange_rate = rate
            order.is_converted = rate is not None
            order.reporting_total = (
                round_money(order.total_price * rate, dst) if rate is not None else None
            )
            order.save(update_fields=["exchange_rate", "is_converted", "reporting_total"])
            changed.append(order.pk)
    if changed:
        transaction.on_commit(
            lambda: signals.orders_bulk_written.send(
                sender=CommerceOrder, store=None, order_ids=changed
            )
        )
    return changed
