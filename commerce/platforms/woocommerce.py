"""WooCommerce order webhooks (REST API v3 order shape).

Signature: X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw body, keyed with the
webhook's secret. X-WC-Webhook-Delivery-ID names one delivery attempt, not an event, so an event
is identified by the order id and its `date_modified_gmt`. X-WC-Webhook-Source is the site URL
and must be the connected store. WooCommerce lower-cases coupon codes and lists refunds with
negative totals. On webhook creation it posts an unsigned form-encoded `webhook_id=<id>` ping.
"""

from urllib.parse import urlsplit

from commerce.attribution_values import Attribution, LineData, OrderData, RefundData
from commerce.platforms import (
    ORDER,
    OTHER,
    Envelope,
    hmac_b64,
    hmac_matches,
    parse_money,
    parse_time,
    payload_reader,
    text,
)

ORDER_TOPICS = {"order.created", "order.updated", "order.deleted", "order.restored"}
# Orders in these statuses never brought money in.
VOID_STATUSES = {"cancelled", "failed", "trash"}


def verify(*, secret: str, body: bytes, headers) -> bool:
    given = headers.get("X-WC-Webhook-Signature") or ""
    if not given or not secret:
        return False
    return hmac_matches(hmac_b64(secret, body), given)


def is_ping(*, body: bytes, headers) -> bool:
    content_type = (headers.get("Content-Type") or "").lower()
    return (
        not headers.get("X-WC-Webhook-Signature")
        and body.startswith(b"webhook_id=")
        and ("form-urlencoded" in content_type or not content_type)
        and len(body) < 64
    )


def site_host(url: str) -> str:
    url = (url or "").strip().lower()
    if "//" not in url:
        url = "//" + url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def describe(*, store, payload, headers) -> Envelope:
    topic = (headers.get("X-WC-Webhook-Topic") or "").strip().lower()
    kind = ORDER if topic in ORDER_TOPICS else OTHER
    event_key = ""
    if isinstance(payload, dict) and payload.get("id") is not None:
        event_key = f"order:{payload['id']}:{text(payload.get('date_modified_gmt'))}"
    return Envelope(
        topic=topic,
        kind=kind,
        delivery_id=text(headers.get("X-WC-Webhook-Delivery-ID")),
        event_key=event_key,
        sender_matches=site_host(headers.get("X-WC-Webhook-Source") or "")
        == site_host(store.shop_domain),
    )


def _meta(payload: dict) -> dict[str, str]:
    found = {}
    for item in payload.get("meta_data") or []:
        if isinstance(item, dict) and isinstance(item.get("value"), str | int):
            found[text(item.get("key")).lower()] = text(item.get("value"))
    return found


@payload_reader
def order_from_payload(payload: dict) -> OrderData:
    if not isinstance(payload, dict) or "id" not in payload:
        raise ValueError("not a WooCommerce order: no id")
    meta = _meta(payload)
    # Our snippet's `_osc_*` meta first, then WooCommerce's own order attribution (8.5+).
    explicit = {}
    for key in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"):
        explicit[key] = meta.get(f"_osc_{key}") or meta.get(f"_wc_order_attribution_{key}") or ""
    for key in ("osc_click", "osc_clicks", "osc_visitor", "fbclid", "gclid", "ttclid"):
        explicit[key] = meta.get("_osc_" + key.removeprefix("osc_")) or ""
    landing = meta.get("_osc_landing") or meta.get("_wc_order_attribution_session_entry") or ""
    status = text(payload.get("status")).lower()
    modified = parse_time(payload.get("date_modified_gmt"), field="date_modified_gmt")
    created = parse_time(payload.get("date_created_gmt"), field="date_created_gmt")
    lines = payload.get("line_items") or []
    subtotal = sum((parse_money(line.get("subtotal")) for line in lines), parse_money("0.00"))
    billing = payload.get("billing") or {}
    return OrderData(
        external_id=text(payload["id"]),
        order_number=text(payload.get("number")),
        created_at=created,
        updated_at=modified or created,
        currency=text(payload.get("currency")).upper(),
        total_price=parse_money(payload.get("total"), field="total"),
        subtotal=subtotal,
        total_tax=parse_money(payload.get("total_tax"), field="total_tax"),
        # Before tax, whatever prices_include_tax says: the REST API gives line and shipping
        # amounts without their tax, and `total_tax` holds `shipping_tax`.
        total_shipping=parse_money(payload.get("shipping_total"), field="shipping_total"),
        shipping_tax=parse_money(payload.get("shipping_tax"), field="shipping_tax"),
        total_discounts=parse_money(payload.get("discount_total"), field="discount_total"),
        financial_status=status,
        cancelled_at=(modified or created) if status in VOID_STATUSES else None,
        attribution=Attribution.from_sources(
            explicit=explicit,
            landing_page=landing,
            referrer_url=meta.get("_wc_order_attribution_referrer", ""),
        ),
        coupon_codes=sorted(
            {
                text(c.get("code")).lower()
                for c in payload.get("coupon_lines") or []
                if c.get("code")
            }
        ),
        customer_id=text(payload.get("customer_id")),
        customer_email=text(billing.get("email")),
        is_returning_customer=None,
        lines=[
            LineData(
                external_id=text(line.get("id")),
                product_id=text(line.get("product_id")),
                variant_id=text(line.get("variation_id") or ""),
                sku=text(line.get("sku"))[:120],
                title=text(line.get("name"))[:300],
                quantity=int(line.get("quantity") or 0),
                price=parse_money(line.get("price"), field="line price"),
            )
            for line in lines
        ],
        # WooCommerce lists refunds without a date: the order version that first shows one is
        # the closest known time of the refund.
        refunds=[
            RefundData(
                external_id=text(refund["id"]),
                amount=abs(parse_money(refund.get("total"), field="refund total")),
                created_at=modified or created,
                reason=text(refund.get("reason"))[:300],
            )
            for refund in payload.get("refunds") or []
        ],
    )
