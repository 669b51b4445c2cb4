"""Custom stores: Standard Webhooks signing (webhook-id, webhook-timestamp, webhook-signature)
and the JSON order format documented in docs/webhooks.md.

Body: `{"type": "order.created" | "order.updated" | "order.cancelled", "timestamp": ...,
"data": {order}}`. The webhook-id header identifies the message across retries.
"""

import binascii

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from commerce.attribution_values import Attribution, LineData, OrderData, RefundData
from commerce.platforms import ORDER, OTHER, Envelope, parse_money, parse_time, payload_reader, text

ORDER_TOPICS = {"order.created", "order.updated", "order.cancelled"}
ATTRIBUTION_KEYS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "osc_click", "osc_visitor", "fbclid", "gclid", "ttclid",
)  # fmt: skip


def verify(*, secret: str, body: bytes, headers) -> bool:
    wanted = ("webhook-id", "webhook-timestamp", "webhook-signature")
    found = {name: headers.get(name) or "" for name in wanted}
    try:
        Webhook(secret).verify(body, found, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return True


def describe(*, store, payload, headers) -> Envelope:
    topic = text(payload.get("type") if isinstance(payload, dict) else "").lower()
    message_id = text(headers.get("webhook-id"))
    return Envelope(
        topic=topic,
        kind=ORDER if topic in ORDER_TOPICS else OTHER,
        delivery_id=message_id,
        event_key=f"msg:{message_id}" if message_id else "",
    )


@payload_reader
def order_from_payload(payload: dict) -> OrderData:
    order = payload.get("data") if isinstance(payload, dict) and "data" in payload else payload
    if not isinstance(order, dict) or "id" not in order:
        raise ValueError("not an order: no data.id")
    attribution = order.get("attribution") or {}
    customer = order.get("customer") or {}
    created = parse_time(order.get("created_at"), field="created_at", naive_is_utc=False)
    cancelled = parse_time(order.get("cancelled_at"), field="cancelled_at", naive_is_utc=False)
    if payload.get("type") == "order.cancelled" and cancelled is None:
        cancelled = parse_time(order.get("updated_at"), field="updated_at") or created
    returning = customer.get("returning")
    return OrderData(
        external_id=text(order["id"]),
        order_number=text(order.get("number")),
        created_at=created,
        updated_at=parse_time(order.get("updated_at"), field="updated_at", naive_is_utc=False)
        or created,
        currency=text(order.get("currency")).upper(),
        total_price=parse_money(order.get("total"), field="total"),
        subtotal=parse_money(order.get("subtotal"), field="subtotal"),
        total_tax=parse_money(order.get("tax"), field="tax"),
        total_shipping=parse_money(order.get("shipping"), field="shipping"),
        total_discounts=parse_money(order.get("discounts"), field="discounts"),
        financial_status=text(order.get("financial_status")).lower(),
        cancelled_at=cancelled,
        attribution=Attribution.from_sources(
            explicit={key: text(attribution.get(key)) for key in ATTRIBUTION_KEYS}
            # A list or a comma-separated string (`kept_clicks`).
            | {"osc_clicks": attribution.get("osc_clicks")},
            landing_page=text(attribution.get("landing_page")),
            referrer_url=text(attribution.get("referrer_url")),
        ),
        coupon_codes=sorted(
            {text(code).lower() for code in order.get("coupon_codes") or [] if code}
        ),
        customer_id=text(customer.get("id")),
        customer_email=text(customer.get("email")),
        is_returning_customer=bool(returning) if returning is not None else None,
        customer_tags=[text(tag) for tag in customer.get("tags") or [] if text(tag)],
        lines=[
            LineData(
                external_id=text(line.get("id")),
                product_id=text(line.get("product_id")),
                variant_id=text(line.get("variant_id")),
                sku=text(line.get("sku"))[:120],
                title=text(line.get("title"))[:300],
                quantity=int(line.get("quantity") or 0),
                price=parse_money(line.get("price"), field="line price"),
            )
            for line in order.get("lines") or []
        ],
        refunds=[
            RefundData(
                external_id=text(refund["id"]),
                amount=abs(parse_money(refund.get("amount"), field="refund amount")),
                created_at=parse_time(refund.get("created_at"), field="refund created_at"),
                reason=text(refund.get("reason"))[:300],
            )
            for refund in order.get("refunds") or []
        ],
    )
