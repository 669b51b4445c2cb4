"""An order's credit as rows: one touch row per journey touch with every model's figures in
columns, and one refund row per (refund, touch).

`order_rows` is the one place the money rules are applied to an order, for the live path and
the rebuild alike, so the two always agree. Money: the order's revenue in the reporting currency
per the workspace's revenue basis, split to the cent by largest remainder (attribution.credit).
Refunds are dated events: each refund is split by the same weights and booked on its own day,
and a touch's revenue is its sale part less its refund parts, so every figure nets out exactly.
A cancelled or unconverted order credits nothing.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from attribution import credit
from attribution.journeys import JourneyTouch
from attribution.models import (
    MODEL_COLUMNS,
    TOUCH_FIGURES,
    AttributionTouch,
    MatchedField,
    RefundTouch,
)
from commerce.models import CommerceOrder, Refund
from omnisocial.models import Workspace
from omnisocial.money import ZERO, round_money

BATCH = 2000
MODELS = tuple(MODEL_COLUMNS)  # every model, in column order
FIGURES = len(TOUCH_FIGURES)

TOUCH_FIELDS = (
    "workspace_id", "order_id", "position", "post_id", "campaign_id", "platform", "click_id",
    "touched_at", "matched_field", "matched_value", "currency", "order_day", "data_fallback",
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
    order without a rate to the reporting currency, or an order with no social touch)."""
    gross = order.attributable_revenue(workspace.revenue_basis, net_of_refunds=False)
    if not journey or gross is None or order.is_cancelled:
        return OrderCredit([], [])
    currency = workspace.reporting_currency
    touches = [
        credit.Touch(key=t.key, post_id=t.post_id, touched_at=t.touched_at, position=index)
        for index, t in enumerate(journey)
    ]
    if all(t.matched_field == MatchedField.COUPON_CODE for t in journey):
        credits = credit.shared_credit(touches, models=models)
    else:
        credits = credit.credits_for(
            touches, order_at=order.created_at, models=models, removal_effects=removal_effects
        )
    order_day = timezone.localdate(order.created_at, workspace.zone)
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

    gross_cents = credit.minor_of(gross, currency)
    n = len(journey)
    figures = [[None] * (len(MODELS) * FIGURES) for _ in range(n)]
    refund_parts = {refund_id: [[None] * len(MODELS) for _ in range(n)]
                    for refund_id, _, _ in refund_amounts}  # fmt: skip
    fallback = False
    for model, result in credits.items():
        m = MODELS.index(model)
        gross_parts = result.split_minor(gross_cents, currency)
        refunded = [ZERO] * n
        positions = [touch.position for touch in result.touches]
        for refund_id, amount, _day in refund_amounts:
            parts = refund_parts[refund_id]
            for index, part in enumerate(result.split_minor(amount, currency)):
                refunded[index] += part
                parts[positions[index]][m] = part
        for index, weight in enumerate(result.weights):
            sold, back = gross_parts[index], refunded[index]
            # units * weight is exact: a whole number times six decimal places.
            figures[positions[index]][m * FIGURES : (m + 1) * FIGURES] = [
                weight, sold, back, sold - back if refund_amounts else sold, units * weight
            ]  # fmt: skip
        fallback = fallback or (model == credit.DATA_DRIVEN and result.fallback)
    ws, order_id = workspace.pk, order.pk
    rows = [
        TouchRow(ws, order_id, position, t.post_id, t.campaign_id, t.platform, t.click_pk,
                 t.touched_at, t.matched_field, t.matched_value[:200], currency, order_day,
                 fallback, *figures[position])
        for position, t in enumerate(journey)
    ]  # fmt: skip
    refund_rows = [
        RefundRow(ws, order_id, refund_id, position, t.post_id, t.campaign_id, t.platform, day,
                  *refund_parts[refund_id][position])
        for refund_id, _, day in refund_amounts
        for position, t in enumerate(journey)
    ]  # fmt: skip
    return OrderCredit(rows, refund_rows)


def rows_write(model, columns: Sequence[str], rows: list[tuple]) -> None:
    """Inserts rows: COPY on PostgreSQL (a bulk rebuild writes millions), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=BATCH
    )


def touches_write(credit_rows: OrderCredit) -> None:
    rows_write(AttributionTouch, TOUCH_COLUMNS, credit_rows.touches)
    rows_write(RefundTouch, REFUND_COLUMNS, credit_rows.refunds)
