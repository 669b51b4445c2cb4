"""Attribution values as orders carry them, normalised so they compare with our links.

Every store writes UTMs a little differently (`IG`, `%20instagram`, `fb`); the posts' links carry
lower-case values. Normalising here, once, is what lets an order match a post later.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs, unquote_plus, urlsplit

SOURCE_ALIASES = {
    "ig": "instagram",
    "insta": "instagram",
    "instagram.com": "instagram",
    "l.instagram.com": "instagram",
    "fb": "facebook",
    "facebook.com": "facebook",
    "m.facebook.com": "facebook",
    "l.facebook.com": "facebook",
    "lm.facebook.com": "facebook",
    "tt": "tiktok",
    "tiktok.com": "tiktok",
}
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
CLICK_ID_KEYS = ("fbclid", "gclid", "ttclid")
# The snippet keeps a buyer's last five click ids; a list longer than this is no browser's.
KEPT_CLICKS_MAX = 20


def normalise_value(value) -> str:
    """Trim, URL-decode (twice-encoded values happen), lower-case."""
    if value is None:
        return ""
    text = str(value).strip()
    for _ in range(2):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text.strip().lower()


def normalise_source(value) -> str:
    text = normalise_value(value)
    return SOURCE_ALIASES.get(text, text)


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a landing URL or path (`/products/x?utm_source=ig`)."""
    if not url:
        return {}
    try:
        query = urlsplit(url.strip()).query
    except ValueError:
        return {}
    return {key.lower(): values[0] for key, values in parse_qs(query).items() if values}


def kept_clicks(value) -> list[str]:
    """The click ids of the snippet's `osc_clicks` (comma-separated, or a list in a custom
    store's JSON), in the order kept, each once: at most KEPT_CLICKS_MAX, the latest."""
    if isinstance(value, list | tuple):
        value = ",".join(str(item) for item in value if item is not None)
    found: list[str] = []
    for item in str(value or "").split(","):
        item = item.strip()[:64]
        if item and item not in found:
            found.append(item)
    return found[-KEPT_CLICKS_MAX:]


def customer_key(*, store_id: int, customer_id=None, email: str = "") -> str:
    """The buyer's identity without the email: `<store id>:<customer id>`, else SHA-256 of it.

    The store's customer id is stable per store; guests have only an email, which is normalised
    (trimmed, lower-cased) and hashed so the same buyer links across orders.
    """
    if customer_id not in (None, "", 0, "0"):
        return f"{store_id}:{customer_id}"
    email = (email or "").strip().lower()
    if email:
        return "sha256:" + hashlib.sha256(email.encode()).hexdigest()
    return ""


@dataclass
class Attribution:
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_content: str = ""
    utm_term: str = ""
    referrer_url: str = ""
    landing_page: str = ""
    osc_click: str = ""
    osc_clicks: list[str] = field(default_factory=list)
    fbclid: str = ""
    gclid: str = ""
    ttclid: str = ""
    visitor_id: str = ""

    @classmethod
    def from_sources(cls, *, explicit: dict, landing_page: str, referrer_url: str) -> "Attribution":
        """Explicit values (what our storefront snippet saved) win over the landing URL's query.
        Each is a string, but `osc_clicks`: the kept click ids, as `kept_clicks` reads them.

        The snippet keeps the UTMs of the social click that brought the buyer, while the store's
        own landing page is that of the last session, which may be a direct visit.
        """
        query = query_of(landing_page)
        pick = {key: explicit.get(key) or query.get(key) or "" for key in UTM_KEYS}
        return cls(
            utm_source=normalise_source(pick["utm_source"]),
            utm_medium=normalise_value(pick["utm_medium"]),
            utm_campaign=normalise_value(pick["utm_campaign"]),
            utm_content=normalise_value(pick["utm_content"]),
            utm_term=normalise_value(pick["utm_term"]),
            referrer_url=(referrer_url or "").strip()[:2000],
            landing_page=(landing_page or "").strip()[:2000],
            osc_click=(explicit.get("osc_click") or query.get("osc_click") or "").strip()[:64],
            osc_clicks=kept_clicks(explicit.get("osc_clicks")),
            fbclid=(explicit.get("fbclid") or query.get("fbclid") or "").strip()[:255],
            gclid=(explicit.get("gclid") or query.get("gclid") or "").strip()[:255],
            ttclid=(explicit.get("ttclid") or query.get("ttclid") or "").strip()[:255],
            visitor_id=(explicit.get("osc_visitor") or "").strip()[:64],
        )


@dataclass
class LineData:
    external_id: str = ""
    product_id: str = ""
    variant_id: str = ""
    sku: str = ""
    title: str = ""
    quantity: int = 1
    price: Decimal = Decimal("0.00")


@dataclass
class RefundData:
    external_id: str
    amount: Decimal
    created_at: datetime
    reason: str = ""
    units: int = 0  # units returned (the refund's line items)
    items_subtotal: Decimal | None = None  # the refunded items' subtotal; None without items
    items_tax: Decimal = Decimal("0.00")


@dataclass
class OrderData:
    """One version of an order, in the platform-neutral shape the services store."""

    external_id: str
    order_number: str
    created_at: datetime
    updated_at: datetime
    currency: str
    total_price: Decimal
    subtotal: Decimal = Decimal("0.00")
    total_tax: Decimal = Decimal("0.00")
    total_shipping: Decimal = Decimal("0.00")
    shipping_tax: Decimal = Decimal("0.00")  # included in total_shipping when taxes_included
    total_discounts: Decimal = Decimal("0.00")
    taxes_included: bool = False
    financial_status: str = ""
    cancelled_at: datetime | None = None
    presentment_currency: str = ""
    attribution: Attribution = field(default_factory=Attribution)
    coupon_codes: list[str] = field(default_factory=list)
    customer_id: str = ""
    customer_email: str = ""
    is_returning_customer: bool | None = None  # None: the platform does not say
    customer_tags: list[str] = field(default_factory=list)
    lines: list[LineData] = field(default_factory=list)
    refunds: list[RefundData] = field(default_factory=list)
