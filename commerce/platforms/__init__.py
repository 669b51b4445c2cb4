"""One adapter per store platform: how its deliveries are signed, named and shaped.

Each adapter module offers:
- `verify(*, secret, body, headers) -> bool`: the signature check over the exact raw bytes;
- `describe(*, store, payload, headers) -> Envelope`: topic, delivery id, event key, and whether
  the sender is the connected store;
- `order_from_payload(payload) -> OrderData` and, for topics carrying a refund alone,
  `refund_from_payload(payload) -> (order external id, RefundData)`.

A payload a reader cannot use (a field missing, of another type, or out of range) raises
`ValueError` (`PayloadError` for structural faults), and nothing else: the delivery is then marked
failed with the reason, and can be replayed once the store sends something readable.
"""

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from omnisocial.instants import EARLIEST_YEAR

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


class PayloadError(ValueError):
    """The payload does not have the shape the platform documents."""


def payload_reader(function):
    """Turns the faults of reading an unexpected shape (a list where an object was expected, a
    missing key, an amount beyond any precision) into `PayloadError`, with the original cause."""

    @functools.wraps(function)
    def read(payload):
        try:
            return function(payload)
        except ValueError:
            raise
        except (AttributeError, TypeError, KeyError, IndexError, ArithmeticError) as exc:
            raise PayloadError(f"malformed payload: {type(exc).__name__}: {exc}") from exc

    return read


# Amounts beyond what an order can hold (MONEY_FIELD: 14 digits, 2 decimals) are refused here.
MAX_AMOUNT = Decimal("1e12")


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
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"{field}: {value!r} is not an amount")
    return amount


# The times a store may give an order, its versions and its refunds (webhook payloads and import
# files alike are read by `parse_time`): from 2000-01-01 to a day ahead of now (a store's clock
# a little fast). Older or later ones are no real order, and would overflow the date arithmetic
# of attribution and reports (0001-01-01 minus a lookback window).
EARLIEST_ORDER_TIME = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
ORDER_TIME_LEAD = timedelta(days=1)


def parse_time(value, *, field: str = "time", naive_is_utc: bool = True) -> datetime | None:
    """An aware datetime from ISO 8601; WooCommerce's `*_gmt` fields come without an offset.

    A time before EARLIEST_ORDER_TIME or more than ORDER_TIME_LEAD after now is refused."""
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(str(value).strip())
    except ValueError as exc:  # well formed but no such time (2026-02-30)
        raise ValueError(f"{field}: {value!r} is not a valid time") from exc
    if parsed is None:
        raise ValueError(f"{field}: {value!r} is not an ISO 8601 time")
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"{field}: {value!r} has no time zone")
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC time
        parsed = None
    if parsed is None or not (EARLIEST_ORDER_TIME <= parsed <= timezone.now() + ORDER_TIME_LEAD):
        raise ValueError(
            f"{field}: {value!r} is out of range (from {EARLIEST_ORDER_TIME:%Y-%m-%d} to a day "
            "from now)"
        )
    return parsed


def hmac_b64(secret: str, body: bytes) -> bytes:
    """The base64 HMAC-SHA256 of the body: how Shopify and WooCommerce sign a delivery."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())


def hmac_matches(expected: bytes, given: str) -> bool:
    return hmac.compare_digest(expected, given.strip().encode())


def text(value) -> str:
    # NUL characters cannot be stored in PostgreSQL text: dropped, as no platform sends them.
    return "" if value is None else str(value).replace("\x00", "").strip()


def adapter(platform: str):
    from commerce.platforms import custom, shopify, woocommerce

    return {"shopify": shopify, "woocommerce": woocommerce, "custom": custom}[platform]
