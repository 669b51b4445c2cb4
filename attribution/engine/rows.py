"""An order's credit as rows: one touch row per journey touch with every model's figures in
columns, and one refund row per (refund, touch).

`batch_credit` is the one place the money rules are applied to orders, for the rebuild's batches
and the live path's batch of one (`order_rows`) alike, so the two always agree. Money: the
order's revenue in the reporting currency per the workspace's revenue basis, split to the cent
by largest remainder (attribution.credit). Refunds are dated events: each refund is split by the
same weights and booked on its own day, and a touch's revenue is its sale part less its refund
parts, so every figure nets out exactly. A cancelled or unconverted order credits nothing.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import repeat

import numpy as np
from django.db import connection
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter

from attribution import credit
from attribution.engine import arrays
from attribution.journeys import JourneyTouch
from attribution.models import (
    MODEL_COLUMNS,
    TOUCH_FIGURES,
    AttributionTouch,
    RefundTouch,
)
from commerce.models import CommerceOrder, OrderStatus, Refund
from omnisocial.db import hot_cursor
from omnisocial.models import Workspace
from omnisocial.money import round_money

BATCH = 2000
MODELS = tuple(MODEL_COLUMNS)  # every model, in column order
FIGURES = len(TOUCH_FIGURES)

TOUCH_FIELDS = (
    "workspace_id", "order_id", "position", "post_id", "campaign_id", "platform", "click_id",
    "touched_at", "matched_field", "matched_value", "reached", "currency", "order_day",
    "data_fallback",
)  # fmt: skip
TOUCH_COLUMNS = TOUCH_FIELDS + tuple(
    f"{figure}_{suffix}" for suffix in MODEL_COLUMNS.values() for figure in TOUCH_FIGURES
)
REFUND_FIELDS = (
    "workspace_id", "order_id", "refund_id", "position", "post_id", "campaign_id", "platform",
    "day",
)  # fmt: skip
REFUND_COLUMNS = REFUND_FIELDS + tuple(f"amount_{suffix}" for suffix in MODEL_COLUMNS.values())

# Named rows that are tuples too: COPY streams them as they are, and code reads them by name.
TouchRow = namedtuple("TouchRow", TOUCH_COLUMNS)
RefundRow = namedtuple("RefundRow", REFUND_COLUMNS)


@dataclass
class OrderCredit:
    touches: list[TouchRow]
    refunds: list[RefundRow]


@dataclass(frozen=True)
class Sale:
    """One touch's credit under one model, as the rollups read it."""

    model: str
    order_day: object
    post_id: int | None
    platform: str
    campaign_id: int | None
    gross: Decimal
    weight: Decimal
    refunded: Decimal
    revenue: Decimal


def sales_of(rows: Iterable[TouchRow]) -> list[Sale]:
    """Touch rows unfolded per model (the models a row does not compute are left out)."""
    found = []
    for row in rows:
        for index, model in enumerate(MODELS):
            start = len(TOUCH_FIELDS) + index * FIGURES
            weight, gross, refunded, revenue, _units = row[start : start + FIGURES]
            if weight is not None:
                found.append(Sale(model, row.order_day, row.post_id, row.platform,
                                  row.campaign_id, gross, weight, refunded, revenue))  # fmt: skip
    return found


def refund_parts_of(rows: Iterable[RefundRow]) -> list[tuple]:
    """Refund rows unfolded per model: (model, day, post_id, platform, campaign_id, amount)."""
    found = []
    for row in rows:
        for index, model in enumerate(MODELS):
            amount = row[len(REFUND_FIELDS) + index]
            if amount is not None:
                found.append((model, row.day, row.post_id, row.platform, row.campaign_id, amount))
    return found


def order_rows(
    *,
    workspace: Workspace,
    order: CommerceOrder,
    journey: Sequence[JourneyTouch],
    refunds: Sequence[Refund],
    units: int,
    models: Iterable[str],
    removal_effects: dict | None,
) -> OrderCredit:
    """The rows of one order under every model of `models` (nothing for a cancelled order, an
    order without a rate to the reporting currency, or an order with no social touch): a batch
    of one, by the rebuild's own rules."""
    batch = batch_credit(
        workspace, [(order, journey, refunds, units)], models=models,
        removal_effects=removal_effects,
    )  # fmt: skip
    return OrderCredit(batch.touch_rows(), batch.refund_rows())


@dataclass(slots=True)
class _Order:
    """What credit needs of one order, prepared once (money in minor units)."""

    order_id: int
    order_at: datetime
    order_day: date
    journey: Sequence[JourneyTouch]
    gross: int
    refunds: list[tuple[int, int, date]]  # (refund id, minor units, day), in date order
    units: int


def _prepared(workspace: Workspace, order, journey, refunds, units) -> _Order | None:
    """The order as credit sees it; None for a cancelled order, an order without a rate to the
    reporting currency, or an order with no social touch (they credit nothing)."""
    if not journey:
        return None
    gross = order.attributable_revenue(workspace.revenue_basis, net_of_refunds=False)
    if gross is None or order.is_cancelled:
        return None
    currency = workspace.reporting_currency
    # Refunds in date order, each capped so the refunds never exceed what was sold.
    remaining, refund_amounts = gross, []
    for refund in sorted(refunds, key=lambda r: (r.created_at, r.pk)):
        amount = min(
            round_money(
                refund.amount_for(workspace.revenue_basis, taxes_included=order.taxes_included)
                * order.exchange_rate,
                currency,
            ),
            remaining,
        )
        remaining -= amount
        day = timezone.localdate(refund.created_at, workspace.zone)
        refund_amounts.append((refund.pk, credit.minor_of(amount, currency), day))
    if OrderStatus.of(order) == OrderStatus.REFUNDED:
        # Refunds that reach the order's total took back everything it sold, whether or not
        # they listed items (WooCommerce's never do): none of its units remain.
        units = 0
    return _Order(
        order.pk, order.created_at, timezone.localdate(order.created_at, workspace.zone),
        journey, credit.minor_of(gross, currency), refund_amounts, units,
    )  # fmt: skip


def batch_credit(
    workspace: Workspace, orders: Iterable[tuple], *, models: Iterable[str], removal_effects
) -> BatchCredit:
    """The credit of a batch of orders, each given as (order, journey, refunds, units)."""
    prepared = [_prepared(workspace, *entry) for entry in orders]
    return BatchCredit(workspace, [o for o in prepared if o is not None], models, removal_effects)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Ages of this many microseconds or more are not exact as floats: such an order goes to
# `credit` itself.
_EXACT_MICROSECONDS = 2**53


class BatchCredit:
    """The credit of a batch of orders under the workspace's models, as arrays with one entry
    per touch (orders contiguous, each in journey order): every model's weight units and its
    share of the sale and of each refund, in minor units (`attribution.engine.arrays`).
    `touch_rows` and `refund_rows` give them as named rows of Decimals; `write` stores them."""

    def __init__(self, workspace: Workspace, orders: list[_Order], models, removal_effects):
        self.workspace, self.orders = workspace, orders
        self.currency = workspace.reporting_currency
        self.models = [m for m in MODELS if m in set(models)]
        self.touches = [t for o in orders for t in o.journey]
        self.units: dict[str, np.ndarray] = {}
        self.gross: dict[str, np.ndarray] = {}
        self.refunded: dict[str, np.ndarray] = {}
        self.refund_parts: dict[str, np.ndarray] = {}
        self.fallback = np.zeros(len(orders), dtype=bool)
        if not orders:
            return
        counts = np.fromiter((len(o.journey) for o in orders), np.int64, len(orders))
        self.segments = segments = arrays.Segments.of(counts)
        exact = np.zeros(len(orders), dtype=bool)  # orders `credit` computes itself
        multi = arrays.count_units(credit.MULTI_TOUCH, segments)
        for model in self.models:
            if model == credit.TIME_DECAY:
                ages, far = self._ages()
                units, held = arrays.time_decay_units(ages, segments)
                exact |= ~held | far
            elif model == credit.DATA_DRIVEN:
                fallback = np.ones(len(orders), dtype=bool)
                units = multi
                if removal_effects:
                    effects, keys = self._effects(removal_effects)
                    found, held, fallback = arrays.data_driven_units(effects, keys, segments)
                    units = np.where(fallback[segments.order], multi, found)
                    exact |= ~held & ~fallback
                self.fallback = fallback
            else:
                units = arrays.count_units(model, segments)
            self.units[model] = units
        for index in np.flatnonzero(exact).tolist():
            self._by_credit(index, removal_effects)
        self._money()

    def _ages(self) -> tuple[np.ndarray, np.ndarray]:
        """Each touch's age in seconds, as `timedelta.total_seconds()` gives it (exact
        microseconds over 10**6), and per order whether an age is too large to be exact."""
        touched = np.fromiter(((t.touched_at - _EPOCH) // _MICROSECOND for t in self.touches),
                              np.int64, len(self.touches))  # fmt: skip
        ordered = np.fromiter(((o.order_at - _EPOCH) // _MICROSECOND for o in self.orders),
                              np.int64, len(self.orders))  # fmt: skip
        microseconds = ordered[self.segments.order] - touched
        far = np.maximum.reduceat(np.abs(microseconds) >= _EXACT_MICROSECONDS,
                                  self.segments.starts)  # fmt: skip
        return microseconds.astype(np.float64) / 1e6, far

    def _effects(self, removal_effects) -> tuple[np.ndarray, np.ndarray]:
        """Each touch's key's removal effect (0.0 without one), and the key as an integer."""
        ids: dict = {}
        keys = np.fromiter((ids.setdefault(t.key, len(ids)) for t in self.touches), np.int64,
                           len(self.touches))  # fmt: skip
        effects = np.fromiter((float(removal_effects.get(key, 0.0)) for key in ids), np.float64,
                              len(ids))  # fmt: skip
        return effects[keys], keys

    def _by_credit(self, index: int, removal_effects) -> None:
        """One order's weights by `credit` itself, where the arrays' float path did not hold."""
        order, start = self.orders[index], int(self.segments.starts[index])
        touches = [credit.Touch(key=t.key, post_id=t.post_id, touched_at=t.touched_at,
                                position=i) for i, t in enumerate(order.journey)]  # fmt: skip
        credits = credit.credits_for(touches, order_at=order.order_at, models=self.models,
                                     removal_effects=removal_effects)  # fmt: skip
        for model, result in credits.items():
            self.units[model][start : start + len(touches)] = result.units
            if model == credit.DATA_DRIVEN:
                self.fallback[index] = result.fallback

    def _money(self) -> None:
        """Each model's share of every sale and refund, in minor units: the amounts are each
        order's sale, then each of its refunds, each spread over its order's touches."""
        segments, orders = self.segments, self.orders
        amounts = [o.gross for o in orders]
        owners = list(range(len(orders)))
        for index, order in enumerate(orders):
            for _, cents, _ in order.refunds:
                amounts.append(cents)
                owners.append(index)
        cents = np.array(amounts, dtype=np.int64)
        owner = np.array(owners, dtype=np.int64)
        spread = arrays.Segments.of(segments.counts[owner])
        touch = segments.starts[owner][spread.order] + spread.position
        sold = len(self.touches)  # the sales come first, touch by touch
        for model in self.models:
            parts = arrays.split_minor(cents, self.units[model][touch], spread)
            self.gross[model] = parts[:sold]
            self.refund_parts[model] = parts[sold:]
            refunded = np.zeros(sold, dtype=np.int64)
            np.add.at(refunded, touch[sold:], parts[sold:])
            self.refunded[model] = refunded

    # --- the rows ---

    def _columns(self) -> list[tuple]:
        """Per model (in column order; None for a model not computed): its arrays as lists."""
        columns = []
        order_units = np.fromiter((o.units for o in self.orders), np.int64, len(self.orders))
        for model in MODELS:
            if model not in self.units:
                columns.append(None)
                continue
            weight = self.units[model]
            columns.append((
                weight.tolist(), self.gross[model].tolist(), self.refunded[model].tolist(),
                (self.gross[model] - self.refunded[model]).tolist(),
                (order_units[self.segments.order] * weight).tolist(),
            ))  # fmt: skip
        return columns

    def _heads(self):
        """Each touch's own fields, in TOUCH_FIELDS order."""
        ws, currency = self.workspace.pk, self.currency
        for order, fallback in zip(self.orders, self.fallback.tolist(), strict=True):
            for position, t in enumerate(order.journey):
                yield (ws, order.order_id, position, t.post_id, t.campaign_id, t.platform,
                       t.click_pk, t.touched_at, t.matched_field, t.matched_value[:200],
                       t.reached, currency, order.order_day, fallback)  # fmt: skip

    def _refund_heads(self):
        """Each refund part's own fields, in REFUND_FIELDS order."""
        ws = self.workspace.pk
        for order in self.orders:
            for refund_id, _, day in order.refunds:
                for position, t in enumerate(order.journey):
                    yield (ws, order.order_id, refund_id, position, t.post_id, t.campaign_id,
                           t.platform, day)  # fmt: skip

    def touch_rows(self) -> list[TouchRow]:
        if not self.orders:
            return []
        six, money = credit._WEIGHTS, credit._money_of(self.currency)
        columns = self._columns()
        rows = []
        for i, head in enumerate(self._heads()):
            figures = []
            for column in columns:
                if column is None:
                    figures += (None,) * FIGURES
                    continue
                weight, gross, refunded, revenue, units = column
                figures += (six[weight[i]], money[gross[i]], money[refunded[i]],
                            money[revenue[i]], six[units[i]])  # fmt: skip
            rows.append(TouchRow(*head, *figures))
        return rows

    def write(self) -> None:
        """Inserts the batch's touch and refund rows (see TouchSink for a rebuild's many)."""
        with TouchSink() as sink:
            sink.add(self)

    def touch_lines(self) -> list[str]:
        """The touch rows as lines of COPY text (PostgreSQL), made straight from the arrays:
        no Decimal per figure, and every per-cell step a C-level map (a rebuild writes tens of
        millions of figures)."""
        if not self.orders:
            return []
        six, money = _SIX.__getitem__, _money_text(self.currency).__getitem__
        blocks: list = [self._head_lines()]
        for column in self._columns():
            if column is None:
                blocks.append(repeat(_NULL_FIGURES))
                continue
            weight, gross, refunded, revenue, units = column
            blocks.append(map("\t".join, zip(map(six, weight), map(money, gross),
                                             map(money, refunded), map(money, revenue),
                                             map(six, units), strict=True)))  # fmt: skip
        # strict=False: a model not computed is an endless repeat of empty cells.
        return list(map("\t".join, zip(*blocks, strict=False)))

    def _head_lines(self):
        """Each touch's own fields (TOUCH_FIELDS, as `_heads` gives them) as COPY text: what
        the order's touches share is formatted once per order."""
        ws, currency, null = self.workspace.pk, self.currency, "\\N"
        for order, fallback in zip(self.orders, self.fallback.tolist(), strict=True):
            start = f"{ws}\t{order.order_id}\t"
            end = f"\t{currency}\t{order.order_day}\t{'t' if fallback else 'f'}"
            for position, t in enumerate(order.journey):
                post, campaign, click = t.post_id, t.campaign_id, t.click_pk
                yield (
                    f"{start}{position}\t{null if post is None else post}\t"
                    f"{null if campaign is None else campaign}\t{t.platform}\t"
                    f"{null if click is None else click}\t{t.touched_at.isoformat(' ')}\t"
                    f"{t.matched_field}\t{t.matched_value[:200].translate(_ESCAPES)}\t"
                    f"{t.reached}{end}"
                )

    def refund_lines(self) -> list[str]:
        """The refund rows as lines of COPY text."""
        if not self.orders:
            return []
        money = _money_text(self.currency).__getitem__
        parts = [
            map(money, self.refund_parts[m].tolist()) if m in self.units else repeat("\\N")
            for m in MODELS
        ]
        heads = (
            f"{ws}\t{order_id}\t{refund_id}\t{position}\t{_nullable(post)}\t"
            f"{_nullable(campaign)}\t{platform}\t{day}"
            for ws, order_id, refund_id, position, post, campaign, platform, day in (
                self._refund_heads()
            )
        )
        return list(map("\t".join, zip(heads, *parts, strict=False)))

    def refund_rows(self) -> list[RefundRow]:
        if not self.orders:
            return []
        money = credit._money_of(self.currency)
        parts = [self.refund_parts[m].tolist() if m in self.units else None for m in MODELS]
        return [
            RefundRow(*head, *(None if p is None else money[p[i]] for p in parts))
            for i, head in enumerate(self._refund_heads())
        ]


class _Text(dict):
    """Whole numbers of units (cents, millionths) as the text COPY reads, made once each and
    kept (bounded: the same cents and weights recur order after order)."""

    LIMIT = 200_000

    def __init__(self, places: int) -> None:
        super().__init__()
        self.places, self.scale = places, 10**places

    def __missing__(self, units: int) -> str:
        if self.places == 0:
            value = str(units)
        else:
            whole, part = divmod(abs(units), self.scale)
            value = f"{'-' if units < 0 else ''}{whole}.{part:0{self.places}d}"
        if len(self) < self.LIMIT:
            self[units] = value
        return value


_SIX = _Text(credit.WEIGHT_PLACES)
_MONEY: dict[int, _Text] = {}
_NULL_FIGURES = "\t".join(("\\N",) * FIGURES)
# COPY text escapes: a backslash, and the tab, newline and carriage return it separates by.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _nullable(value) -> object:
    return "\\N" if value is None else value


def _money_text(currency: str) -> _Text:
    """The currency's amounts as COPY text, one table per number of decimal places."""
    places = -credit._money_of(currency).exponent
    return _MONEY.get(places) or _MONEY.setdefault(places, _Text(places))


def _copy_statement(model, columns: Sequence[str]) -> str:
    return f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"


class TouchSink:
    """Where batches of credit are written. On PostgreSQL, one COPY of the touch rows stays
    open across every batch given to it, fed by psycopg's writer thread: the server ingests
    one batch while the next is computed (the engine's two halves on two cores). The refund
    rows (one order in twenty has any) are copied when it closes. Elsewhere each batch is
    inserted as model rows at once. No other statement may run on the connection while a
    sink is open."""

    LINES = 5000  # lines per write to the COPY

    def __init__(self, *, queued: bool = False) -> None:
        # A writer thread pays off over a rebuild's many batches, not for one order's rows.
        self.queued = queued

    def __enter__(self) -> TouchSink:
        self.refunds: list[str] = []
        self.copy = None
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            raw = connection.connection.cursor()
            self._cursor = raw
            self._context = raw.copy(
                _copy_statement(AttributionTouch, TOUCH_COLUMNS),
                writer=QueuedLibpqWriter(raw) if self.queued else None,
            )
            self.copy = self._context.__enter__()
        return self

    def add(self, credits: BatchCredit) -> None:
        if self.copy is None:
            touches_write(OrderCredit(credits.touch_rows(), credits.refund_rows()))
            return
        lines = credits.touch_lines()
        for start in range(0, len(lines), self.LINES):
            self.copy.write("\n".join(lines[start : start + self.LINES]) + "\n")
        self.refunds += credits.refund_lines()

    def __exit__(self, kind, error, trace) -> None:
        if self.copy is None:
            return
        try:
            self._context.__exit__(kind, error, trace)
            if kind is None and self.refunds:
                with self._cursor.copy(_copy_statement(RefundTouch, REFUND_COLUMNS)) as copy:
                    for start in range(0, len(self.refunds), self.LINES):
                        copy.write("\n".join(self.refunds[start : start + self.LINES]) + "\n")
        finally:
            self._cursor.close()


def rows_write(model, columns: Sequence[str], rows: list[tuple]) -> None:
    """Inserts one order's rows (the live path; a rebuild streams its rows through a
    `TouchSink`): on PostgreSQL one prepared INSERT per row, all sent in one round trip
    (psycopg's executemany pipelines them; a COPY takes two), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        with hot_cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {model._meta.db_table} ({', '.join(columns)})"  # noqa: S608
                f" VALUES ({', '.join(['%s'] * len(columns))})",
                rows,
            )
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=BATCH
    )


def touches_write(credit_rows: OrderCredit) -> None:
    rows_write(AttributionTouch, TOUCH_COLUMNS, credit_rows.touches)
    rows_write(RefundTouch, REFUND_COLUMNS, credit_rows.refunds)
