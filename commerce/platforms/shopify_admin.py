"""Shopify's Admin GraphQL API: a shop's orders, a page at a time (history import and the
missed-webhook sync, `commerce.services.history`).

The endpoint is SHOPIFY_ADMIN_URL at the one pinned SHOPIFY_API_VERSION, authenticated by the
`X-Shopify-Access-Token` header (an Admin API access token with `read_orders`; `read_all_orders`
for orders older than 60 days). Pages come from the `orders` query with `first` / `after`
cursors and a search filter (`created_at:>=...` for the history, `updated_at:>=...` for the
sync). Each GraphQL order is turned into the REST order shape that webhooks send, and read by
`shopify.order_from_payload`, so one set of rules reads an order however it arrives.

Shopify limits calls by calculated query cost: every answer says what is left in the bucket
(`extensions.cost.throttleStatus`), and a query the bucket cannot pay for is answered with a
`THROTTLED` error; it is asked again once the bucket has refilled enough. A query over the
single-query cost ceiling (`MAX_COST_EXCEEDED`) is asked again for fewer orders at a time.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

from commerce.attribution_values import OrderData
from commerce.platforms import shopify
from omnisocial import outbound

PAGE_SIZE = 250  # the most `first` may ask for
LINE_ITEMS = 100  # line items read per order (revenue comes from the order's totals)
REFUNDS = 50
THROTTLE_TRIES = 8  # THROTTLED answers in a row before the page is given up
CUT_OFF_TRIES = 2  # answers that are not complete JSON, in a row, before giving up
TIMEOUT = 30.0

_VISIT = "landingPage referrerUrl utmParameters { source medium campaign content term }"
_MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"

ORDERS_QUERY = f"""
query StoreOrders($first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys,
                  $count: Boolean!) {{
  ordersCount(query: $query, limit: null) @include(if: $count) {{ count precision }}
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      legacyResourceId name number createdAt updatedAt cancelledAt
      currencyCode presentmentCurrencyCode displayFinancialStatus taxesIncluded email
      totalPriceSet {{ {_MONEY} }}
      subtotalPriceSet {{ {_MONEY} }}
      totalTaxSet {{ {_MONEY} }}
      totalShippingPriceSet {{ {_MONEY} }}
      totalDiscountsSet {{ {_MONEY} }}
      discountCodes
      customAttributes {{ key value }}
      customer {{ legacyResourceId tags }}
      customerJourneySummary {{
        customerOrderIndex
        firstVisit {{ {_VISIT} }}
        lastVisit {{ {_VISIT} }}
      }}
      lineItems(first: {LINE_ITEMS}) {{
        nodes {{
          id sku title quantity
          variant {{ legacyResourceId }}
          product {{ legacyResourceId }}
          originalUnitPriceSet {{ {_MONEY} }}
        }}
      }}
      refunds(first: {REFUNDS}) {{
        legacyResourceId createdAt note
        transactions(first: 20) {{ nodes {{ kind status amountSet {{ {_MONEY} }} }} }}
        refundLineItems(first: {LINE_ITEMS}) {{
          nodes {{ quantity subtotalSet {{ {_MONEY} }} totalTaxSet {{ {_MONEY} }} }}
        }}
      }}
    }}
  }}
}}
"""


class ApiError(Exception):
    """The shop's API gave no usable page. `refused`: it refused the credentials (revoked or
    invalid token, missing scope); the message then says what to do."""

    def __init__(self, message: str, *, refused: bool = False):
        super().__init__(message)
        self.refused = refused


@dataclass
class Page:
    orders: list[OrderData]
    ids: list[str]  # every order id on the page, read or not, in the API's order
    unreadable: list[str] = field(default_factory=list)  # "order <id>: <reason>"
    cursor: str = ""  # where the next page starts; "" when this was the last
    total: int | None = None  # orders the query matches, when asked for and exact
    page_size: int = PAGE_SIZE  # what `first` had to be (the cost ceiling may lower it)


def endpoint(store) -> str:
    return settings.SHOPIFY_ADMIN_URL.format(
        shop=store.shop_domain, version=settings.SHOPIFY_API_VERSION
    )


def search_filter(*, since: datetime, by: str) -> str:
    """Shopify's search syntax: orders created (or updated) at or after `since`. `status:any`
    includes closed and cancelled orders."""
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{by}_at:>='{stamp}' status:any"


def orders_page(
    *,
    store,
    since: datetime,
    by: str = "created",
    cursor: str = "",
    page_size: int = PAGE_SIZE,
    count: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Page:
    """One page of the shop's orders created (`by="created"`) or updated (`by="updated"`) at or
    after `since`, oldest first, starting after `cursor`. Raises ApiError when no page came."""
    variables = {
        "first": page_size,
        "after": cursor or None,
        "query": search_filter(since=since, by=by),
        "sortKey": "CREATED_AT" if by == "created" else "UPDATED_AT",
        "count": count,
    }
    throttled = cut_off = 0
    while True:
        body = _post(store, variables, sleep=sleep)
        if body is None:
            cut_off += 1
            if cut_off >= CUT_OFF_TRIES:
                raise ApiError(
                    "Shopify's answer was cut off (not complete JSON) twice in a row; the "
                    "import stopped at this page and can be asked for again."
                )
            sleep(1.0)
            continue
        errors = body.get("errors") or []
        if not errors:
            break
        codes = {_code(error) for error in errors if isinstance(error, dict)}
        if "THROTTLED" in codes:
            throttled += 1
            if throttled > THROTTLE_TRIES:
                raise ApiError("Shopify kept the import throttled; it stopped and can resume.")
            sleep(_refill_wait(body))
            continue
        if "MAX_COST_EXCEEDED" in codes and variables["first"] > 1:
            variables["first"] = max(1, variables["first"] // 2)
            continue
        message = "; ".join(_message(error) for error in errors)[:500]
        if "ACCESS_DENIED" in codes:
            raise ApiError(
                f"Shopify refused to list the orders: {message}. Give the app the read_orders "
                "scope (read_all_orders for orders older than 60 days), then paste its new "
                "access token.",
                refused=True,
            )
        raise ApiError(f"Shopify answered with an error: {message}")
    _pace(body, sleep)
    return _page(body, page_size=variables["first"])


def _post(store, variables: dict, *, sleep) -> dict | None:
    """The answer's JSON body (None when it is cut off); raises ApiError for any other fault."""
    try:
        response = outbound.request(
            "POST",
            endpoint(store),
            headers={
                "X-Shopify-Access-Token": store.api_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            json={"query": ORDERS_QUERY, "variables": variables},
            timeout=TIMEOUT,
            sleep=sleep,
        )
    except outbound.OutboundError as exc:
        raise ApiError(f"Shopify could not be reached: {exc}.") from exc
    status = response.status_code
    if status in (401, 403):
        raise ApiError(
            f"Shopify refused the access token ({status}: {_rest_message(response)}). The app "
            "was uninstalled, its token revoked, or a scope is missing: paste a new Admin API "
            "access token (scopes read_orders and read_all_orders) on the store page, then "
            "import again.",
            refused=True,
        )
    if status in (402, 423):
        raise ApiError(
            f"Shopify answered {status} ({_rest_message(response)}): the shop is frozen or "
            "locked; the import can run once the shop is open again."
        )
    if status != 200:
        raise ApiError(f"Shopify answered {status} ({_rest_message(response)}).")
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        raise ApiError("Shopify answered with JSON that is not a GraphQL answer.")
    return body


def _code(error: dict) -> str:
    return str((error.get("extensions") or {}).get("code") or "").upper()


def _message(error) -> str:
    return str(error.get("message") if isinstance(error, dict) else error)


def _rest_message(response) -> str:
    """Shopify's own words from an error answer (`{"errors": "..."}`), never more than that."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    if isinstance(errors, list):
        errors = "; ".join(_message(error) for error in errors)
    return str(errors or f"HTTP {response.status_code}")[:300]


def _throttle(body: dict) -> tuple[float, float, float, float] | None:
    """(requested cost, currently available, restore rate, maximum) from the answer's cost."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        return (
            float(cost.get("requestedQueryCost") or 0),
            float(status["currentlyAvailable"]),
            float(status["restoreRate"]),
            float(status.get("maximumAvailable") or 0),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _refill_wait(body: dict) -> float:
    """Seconds until the bucket holds the query's requested cost (1 s when unsaid)."""
    found = _throttle(body)
    if found is None or found[2] <= 0:
        return 1.0
    requested, available, rate, _ = found
    return min(outbound.MAX_WAIT, max(0.0, math.ceil((requested - available) / rate * 10) / 10))


def _pace(body: dict, sleep) -> None:
    """After a page: when the bucket could not pay for the same query again, wait for the
    refill now rather than be throttled on the next page."""
    found = _throttle(body)
    if found is not None and found[0] > found[1] and found[2] > 0:
        sleep(_refill_wait(body))


def _page(body: dict, *, page_size: int) -> Page:
    data = body.get("data") or {}
    orders = data.get("orders")
    if not isinstance(orders, dict) or not isinstance(orders.get("nodes"), list):
        raise ApiError("Shopify's answer has no orders list.")
    info = orders.get("pageInfo") or {}
    page = Page(orders=[], ids=[], page_size=page_size)
    if info.get("hasNextPage"):
        page.cursor = str(info.get("endCursor") or "")
        if not page.cursor:
            raise ApiError("Shopify said more orders follow but gave no cursor for them.")
    counted = data.get("ordersCount") or {}
    if counted.get("precision") == "EXACT" and isinstance(counted.get("count"), int):
        page.total = counted["count"]
    for node in orders["nodes"]:
        rest = rest_order(node)
        page.ids.append(str(rest.get("id")))
        try:
            page.orders.append(shopify.order_from_payload(rest))
        except ValueError as exc:
            page.unreadable.append(f"order {rest.get('id')}: {exc}")
    return page


# -- GraphQL order -> REST order ---------------------------------------------------------------


def _gid_tail(gid) -> str:
    """`gid://shopify/LineItem/123` -> `123` (the REST id)."""
    return str(gid or "").rsplit("/", 1)[-1]


def _money_set(value) -> dict | None:
    if not isinstance(value, dict):
        return None
    shop = value.get("shopMoney") or {}
    shown = value.get("presentmentMoney") or shop
    return {
        "shop_money": {"amount": shop.get("amount"), "currency_code": shop.get("currencyCode")},
        "presentment_money": {
            "amount": shown.get("amount"),
            "currency_code": shown.get("currencyCode"),
        },
    }


def _landing_with_utms(visit: dict) -> str:
    """The visit's landing page, with the UTM parameters Shopify read from it added to its query
    where the URL itself no longer carries them (the webhook's `landing_site` keeps them)."""
    landing = str(visit.get("landingPage") or "")
    utms = visit.get("utmParameters") or {}
    missing = {
        f"utm_{key}": str(value)
        for key, value in utms.items()
        if key in ("source", "medium", "campaign", "content", "term") and value
    }
    if not missing:
        return landing
    parts = urlsplit(landing)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _ in query}
    query += [(name, value) for name, value in missing.items() if name not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def rest_order(node: dict) -> dict:
    """A GraphQL `Order` in the REST shape `shopify.order_from_payload` reads: ids from
    `legacyResourceId`, `note_attributes` from the custom attributes (cart attributes, where
    the storefront snippet writes its UTMs and click id), `landing_site` / `referring_site` from
    the last visit of the customer's journey (the first when there is no last), money from the
    money sets, the customer's position in their order history as `orders_count`."""
    if not isinstance(node, dict):
        raise ApiError("Shopify listed an order that is not an object.")
    total = _money_set(node.get("totalPriceSet")) or {}
    journey = node.get("customerJourneySummary") or {}
    visit = journey.get("lastVisit") or journey.get("firstVisit") or {}
    customer = node.get("customer") or {}
    rest_customer = {}
    if customer:
        rest_customer = {
            "id": customer.get("legacyResourceId"),
            "tags": ", ".join(customer.get("tags") or []),
        }
        if journey.get("customerOrderIndex") is not None:
            rest_customer["orders_count"] = journey["customerOrderIndex"]
    currency = (total.get("shop_money") or {}).get("currency_code") or node.get("currencyCode")
    return {
        "id": node.get("legacyResourceId"),
        "name": node.get("name"),
        "order_number": node.get("number"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "currency": currency,
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower(),
        "taxes_included": node.get("taxesIncluded") is True,
        "email": node.get("email"),
        "total_price_set": _money_set(node.get("totalPriceSet")),
        "subtotal_price_set": _money_set(node.get("subtotalPriceSet")),
        "total_tax_set": _money_set(node.get("totalTaxSet")),
        "total_shipping_price_set": _money_set(node.get("totalShippingPriceSet")),
        "total_discounts_set": _money_set(node.get("totalDiscountsSet")),
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "note_attributes": [
            {"name": item.get("key"), "value": item.get("value")}
            for item in node.get("customAttributes") or []
            if isinstance(item, dict)
        ],
        "landing_site": _landing_with_utms(visit) if visit else "",
        "referring_site": str(visit.get("referrerUrl") or "") if visit else "",
        "customer": rest_customer,
        "line_items": [_rest_line(line) for line in _nodes(node.get("lineItems"))],
        "refunds": [_rest_refund(refund) for refund in node.get("refunds") or []],
    }


def _nodes(connection) -> list[dict]:
    if not isinstance(connection, dict):
        return []
    return [node for node in connection.get("nodes") or [] if isinstance(node, dict)]


def _rest_line(line: dict) -> dict:
    return {
        "id": _gid_tail(line.get("id")),
        "product_id": (line.get("product") or {}).get("legacyResourceId"),
        "variant_id": (line.get("variant") or {}).get("legacyResourceId"),
        "sku": line.get("sku"),
        "title": line.get("title"),
        "quantity": line.get("quantity"),
        "price_set": _money_set(line.get("originalUnitPriceSet")),
    }


def _status(value) -> str:
    """A transaction's status as REST names it; one not yet settled (AWAITING_RESPONSE,
    UNKNOWN) counts as pending: no money moved back yet."""
    status = str(value or "").lower()
    return status if status in ("success", "failure", "error", "pending") else "pending"


def _rest_refund(refund: dict) -> dict:
    transactions = []
    for transaction in _nodes(refund.get("transactions")):
        shop = (transaction.get("amountSet") or {}).get("shopMoney") or {}
        transactions.append(
            {
                "kind": str(transaction.get("kind") or "").lower(),
                "status": _status(transaction.get("status")),
                # The shop's money: no presentment conversion is needed on this path.
                "amount": shop.get("amount"),
                "currency": shop.get("currencyCode"),
            }
        )
    return {
        "id": refund.get("legacyResourceId"),
        "created_at": refund.get("createdAt"),
        "note": refund.get("note"),
        "transactions": transactions,
        "refund_line_items": [
            {
                "quantity": item.get("quantity"),
                "subtotal_set": _money_set(item.get("subtotalSet")),
                "total_tax_set": _money_set(item.get("totalTaxSet")),
            }
            for item in _nodes(refund.get("refundLineItems"))
        ],
    }
