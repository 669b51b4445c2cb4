"""Order backfill files: the documented CSV column set, or a platform's JSON order export.

Each row becomes an `OrderData`; a bad row is reported with its line number and reason and the
good rows are imported (see `commerce.services.order_import`).
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from commerce.attribution_values import Attribution, OrderData, RefundData
from commerce.platforms import adapter, parse_money, parse_time, text

CSV_COLUMNS = [
    "external_id", "order_number", "created_at", "updated_at", "currency", "total_price",
    "subtotal", "total_tax", "total_shipping", "total_discounts", "refunded_amount",
    "financial_status", "cancelled_at", "customer_id", "email", "is_returning_customer",
    "customer_tags", "coupon_codes", "utm_source", "utm_medium", "utm_campaign", "utm_content",
    "utm_term", "referrer_url", "landing_page", "osc_click", "osc_visitor",
]  # fmt: skip
REQUIRED = ["external_id", "created_at", "currency", "total_price"]


@dataclass
class BadRow:
    line: int
    reason: str


def _split(value: str) -> list[str]:
    return [part.strip() for part in (value or "").replace(";", ",").split(",") if part.strip()]


def order_from_csv_row(row: dict[str, str]) -> OrderData:
    missing = [name for name in REQUIRED if not (row.get(name) or "").strip()]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    created = parse_time(row["created_at"], field="created_at", naive_is_utc=False)
    updated = parse_time(row.get("updated_at"), field="updated_at", naive_is_utc=False) or created
    currency = row["currency"].strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency: {row['currency']!r} is not an ISO 4217 code")
    total = parse_money(row["total_price"], field="total_price")
    if total < 0:
        raise ValueError("total_price is negative")
    refunded = parse_money(row.get("refunded_amount"), field="refunded_amount")
    returning = (row.get("is_returning_customer") or "").strip().lower()
    return OrderData(
        external_id=row["external_id"].strip(),
        order_number=text(row.get("order_number")),
        created_at=created,
        updated_at=updated,
        currency=currency,
        total_price=total,
        subtotal=parse_money(row.get("subtotal"), field="subtotal"),
        total_tax=parse_money(row.get("total_tax"), field="total_tax"),
        total_shipping=parse_money(row.get("total_shipping"), field="total_shipping"),
        total_discounts=parse_money(row.get("total_discounts"), field="total_discounts"),
        financial_status=text(row.get("financial_status")).lower(),
        cancelled_at=parse_time(row.get("cancelled_at"), field="cancelled_at", naive_is_utc=False),
        attribution=Attribution.from_sources(
            explicit={key: text(row.get(key)) for key in CSV_COLUMNS},
            landing_page=text(row.get("landing_page")),
            referrer_url=text(row.get("referrer_url")),
        ),
        coupon_codes=sorted({code.lower() for code in _split(row.get("coupon_codes", ""))}),
        customer_id=text(row.get("customer_id")),
        customer_email=text(row.get("email")),
        is_returning_customer={
            "true": True,
            "1": True,
            "yes": True,
            "false": False,
            "0": False,
            "no": False,
        }.get(returning),  # fmt: skip
        customer_tags=_split(row.get("customer_tags", "")),
        # A CSV carries the refunded total, not refund events: one refund dated at updated_at.
        refunds=[RefundData(external_id="csv", amount=refunded, created_at=updated)]
        if refunded
        else [],
    )


def read_orders(path: Path, *, platform: str, errors: list[BadRow]) -> Iterator[OrderData]:
    """Yields the good orders of a file; appends its bad rows to `errors`."""
    if path.suffix.lower() == ".json":
        with path.open("rb") as handle:
            data = json.load(handle)
        if isinstance(data, dict) and "orders" in data:  # Shopify's REST list answer
            data = data["orders"]
        if not isinstance(data, list):
            raise ValueError("a JSON export is a list of orders")
        module = adapter(platform)
        for index, payload in enumerate(data, start=1):
            try:
                yield module.order_from_payload(payload)
            except (ValueError, KeyError, TypeError) as exc:
                errors.append(BadRow(index, str(exc)))
        return
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        unknown = set(reader.fieldnames or []) - set(CSV_COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns: {', '.join(sorted(unknown))}")
        for row in reader:
            try:
                yield order_from_csv_row(row)
            except (ValueError, KeyError, TypeError) as exc:
                errors.append(BadRow(reader.line_num, str(exc)))
