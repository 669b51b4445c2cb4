"""One adapter per store platform: how its deliveries are signed, named and shaped.

Each adapter module offers:
- `verify(*, secret, body, headers) -> bool`: the signature check over the exact raw bytes;
- `describe(*, store, payload, headers) -> Envelope`: topic, delivery id, event key, and whether
  the sender is the connected store;
- `order_from_payload(payload) -> OrderData` and, for topics carrying a refund alone,
  `refund_from_payload(payload) -> (order external id, RefundData)`.
"""

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

ORDER = "order"
REFUND = "refund"
OTHER = "other"


@dataclass(frozen=True)
class Envelope:
    topic: str
    kind: str  # ORDER, REFUND or OTHER (stored, answered 200, not processed)
    delivery_id: str
    event_key: str
    sender_matches: bool = True


def parse_money(value, *, field: str = "amount") -> Decimal:
    """Money from JSON: strings (as stores send it) or integers, never floats."""
    if value is None or value == "":
        return Decimal("0.00")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{field}: {value!r} is not an amount") from exc
    if not amount.is_finite():
        raise ValueError(f"{field}: {value!r} is not an amount")
    return amount


def parse_time(value, *, field: str = "time", naive_is_utc: bool = True) -> datetime | None:
    """An aware datetime from ISO 8601; WooCommerce's `*_gmt` fields come without an offset."""
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value).strip())
    if parsed is None:
        raise ValueError(f"{field}: {value!r} is not an ISO 8601 time")
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"{field}: {value!r} has no time zone")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def hmac_matches(expected: bytes, given: str) -> bool:
    return hmac.compare_digest(expected, given.strip().encode())


def text(value) -> str:
    return "" if value is None else str(value).strip()


def adapter(platform: str):
    from commerce.platforms import custom, shopify, woocommerce

    return {"shopify": shopify, "woocommerce": woocommerce, "custom": custom}[platform]
