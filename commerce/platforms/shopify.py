"""Shopify order webhooks (REST Admin API order shape).

Signature: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body, keyed with the app's
client secret. De-duplication: X-Shopify-Event-Id (one per event, shared by its retries), else
X-Shopify-Webhook-Id. Plain amounts (total_price...) are in the shop currency; the buyer's
currency appears only in `presentment_currency` and the `*_set.presentment_money` fields.
"""

from decimal import Decimal

from commerce.attribution_values import Attribution, LineData, OrderData, RefundData
from commerce.platforms import (
    ORDER,
    OTHER,
    REFUND,
    Envelope,
    hmac_b64,
    hmac_matches,
    parse_money,
    parse_time,
    payload_reader,
    text,
)

ORDER_TOPICS = {
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/paid",
    "orders/edited",
}
REFUND_TOPICS = {"refunds/create"}
# Refund transactions that moved money back to the buyer.
REFUND_KINDS = {"refund"}
FAILED_STATUSES = {"failure", "error", "pending"}


def verify(*, secret: str, body: bytes, headers) -> bool:
    given = headers.get("X-Shopify-Hmac-Sha256") or ""
    if not given or not secret:
        return False
    return hmac_matches(hmac_b64(secret, body), given)


def describe(*, store, payload, headers) -> Envelope:
    topic = (headers.get("X-Shopify-Topic") or "").strip().lower()
    kind = ORDER if topic in ORDER_TOPICS else REFUND if topic in REFUND_TOPICS else OTHER
    event_id = (headers.get("X-Shopify-Event-Id") or "").strip()
    webhook_id = (headers.get("X-Shopify-Webhook-Id") or "").strip()
    shop = (headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    return Envelope(
        topic=topic,
        kind=kind,
        delivery_id=webhook_id or event_id,
        event_key=f"event:{event_id}"
        if event_id
        else f"webhook:{webhook_id}"
        if webhook_id
        else "",
        sender_matches=shop == store.shop_domain.strip().lower(),
    )


def _shop_amount(payload: dict, plain: str, money_set: str) -> Decimal:
    if payload.get(money_set):
        return parse_money(payload[money_set]["shop_money"]["amount"], field=money_set)
    return parse_money(payload.get(plain), field=plain)


def _presentment_ratio(payload: dict) -> Decimal | None:
    """Shop-money per presentment-money unit, to bring presentment refunds to shop currency."""
    total_set = payload.get("total_price_set") or {}
    try:
        shop = parse_money(total_set["shop_money"]["amount"])
        shown = parse_money(total_set["presentment_money"]["amount"])
    except (KeyError, TypeError):
        return None
    return shop / shown if shown else None


def refund_data(
    refund: dict, *, shop_currency: str = "", ratio: Decimal | None = None
) -> RefundData:
    """A refund's money is what its successful refund transactions paid back."""
    amount = Decimal("0.00")
    for transaction in refund.get("transactions") or []:
        if (transaction.get("kind") or "") not in REFUND_KINDS:
            continue
        if (transaction.get("status") or "success") in FAILED_STATUSES:
            continue
        value = parse_money(transaction.get("amount"), field="refund transaction amount")
        currency = text(transaction.get("currency")).upper()
        if currency and shop_currency and currency != shop_currency and ratio is not None:
            value = value * ratio
        amount += value
    items = [item for item in refund.get("refund_line_items") or [] if isinstance(item, dict)]
    return RefundData(
        external_id=text(refund["id"]),
        amount=amount.quantize(Decimal("0.01")),
        units=sum(max(int(item.get("quantity") or 0), 0) for item in items),
        items_subtotal=sum(
            (_shop_amount(item, "subtotal", "subtotal_set") for item in items), Decimal("0.00")
        )
        if items
        else None,
        items_tax=sum(
            (_shop_amount(item, "total_tax", "total_tax_set") for item in items), Decimal("0.00")
        ),
        created_at=parse_time(refund.get("created_at"), field="refund created_at")
        or parse_time(refund.get("processed_at"), field="refund processed_at"),
        reason=text(refund.get("note"))[:300],
    )


def _shipping_tax(payload: dict) -> Decimal:
    """The tax of the shipping lines (each line's `tax_lines`), in the shop currency. With
    `taxes_included` the shipping price (`total_shipping_price_set`) holds it, as the order's
    `total_tax` does."""
    return sum(
        (
            _shop_amount(tax, "price", "price_set")
            for line in payload.get("shipping_lines") or []
            if isinstance(line, dict)
            for tax in line.get("tax_lines") or []
            if isinstance(tax, dict)
        ),
        Decimal("0.00"),
    )


@payload_reader
def order_from_payload(payload: dict) -> OrderData:
    if not isinstance(payload, dict) or "id" not in payload:
        raise ValueError("not a Shopify order: no id")
    notes = {
        text(item.get("name")).lower(): text(item.get("value"))
        for item in payload.get("note_attributes") or []
        if isinstance(item, dict)
    }
    landing = notes.get("osc_landing") or text(payload.get("landing_site"))
    customer = payload.get("customer") or {}
    currency = text(payload.get("currency")).upper()
    ratio = _presentment_ratio(payload)
    shipping = _shop_amount(payload, "total_shipping_price", "total_shipping_price_set")
    created_at = parse_time(payload.get("created_at"), field="created_at")
    tags = [tag.strip() for tag in text(customer.get("tags")).split(",") if tag.strip()]
    orders_count = customer.get("orders_count")
    return OrderData(
        external_id=text(payload["id"]),
        order_number=text(payload.get("order_number") or payload.get("name")),
        created_at=created_at,
        updated_at=parse_time(payload.get("updated_at"), field="updated_at") or created_at,
        currency=currency,
        presentment_currency=text(payload.get("presentment_currency")).upper(),
        total_price=_shop_amount(payload, "total_price", "total_price_set"),
        subtotal=_shop_amount(payload, "subtotal_price", "subtotal_price_set"),
        total_tax=_shop_amount(payload, "total_tax", "total_tax_set"),
        total_shipping=shipping,
        shipping_tax=_shipping_tax(payload),
        total_discounts=_shop_amount(payload, "total_discounts", "total_discounts_set"),
        taxes_included=payload.get("taxes_included") is True,
        financial_status=text(payload.get("financial_status")).lower(),
        cancelled_at=parse_time(payload.get("cancelled_at"), field="cancelled_at"),
        attribution=Attribution.from_sources(
            explicit=notes, landing_page=landing, referrer_url=text(payload.get("referring_site"))
        ),
        coupon_codes=sorted(
            {
                text(d.get("code")).lower()
                for d in payload.get("discount_codes") or []
                if d.get("code")
            }
        ),
        customer_id=text(customer.get("id")),
        customer_email=text(payload.get("email") or customer.get("email")),
        is_returning_customer=(int(orders_count) > 1) if orders_count is not None else None,
        customer_tags=tags,
        lines=[
            LineData(
                external_id=text(line.get("id")),
                product_id=text(line.get("product_id")),
                variant_id=text(line.get("variant_id")),
                sku=text(line.get("sku"))[:120],
                title=text(line.get("title") or line.get("name"))[:300],
                quantity=int(line.get("quantity") or 0),
                price=_shop_amount(line, "price", "price_set"),
            )
            for line in payload.get("line_items") or []
        ],
        refunds=[
            refund_data(refund, shop_currency=currency, ratio=ratio)
            for refund in payload.get("refunds") or []
        ],
    )


@payload_reader
def refund_from_payload(payload: dict) -> tuple[str, RefundData]:
    """A refunds/create body is the refund itself, with its order_id."""
    if not isinstance(payload, dict) or "id" not in payload or "order_id" not in payload:
        raise ValueError("not a Shopify refund: no id or order_id")
    return text(payload["order_id"]), refund_data(payload)
