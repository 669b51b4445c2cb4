"""A fake Shopify Admin GraphQL API on loopback, answering the `orders` query as Shopify
documents it: `X-Shopify-Access-Token` checked (401 with Shopify's `{"errors": "..."}` body
otherwise), the pinned version in the path, `first` / `after` cursor pagination over a
`created_at:>=` / `updated_at:>=` search filter with `sortKey`, `pageInfo { hasNextPage
endCursor }`, `ordersCount`, and `extensions.cost.throttleStatus` on every answer.

Faults are scripted by request number (`fake.faults[3] = answer`, or a function of the request
returning an answer or None to answer normally), with helpers for Shopify's own shapes:
`throttled()`, `unauthorized()`, `truncated()`.

`order(n, ...)` builds one GraphQL order node as the query above asks for it.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

from tests.fakes.server import Answer, FakePlatform, Seen

TOKEN = "shpat_0123456789abcdef0123456789abcdef"
VERSION = "2025-10"
_FILTER = re.compile(r"(created_at|updated_at):>=\s*'?([0-9T:\-.Z+]+)'?")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def money(amount, currency: str = "USD") -> dict:
    shown = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": shown, "presentmentMoney": dict(shown)}


def order(
    n: int,
    *,
    created_at: datetime,
    updated_at: datetime | None = None,
    total: str = "10.00",
    currency: str = "USD",
    tax: str = "0.00",
    shipping: str = "0.00",
    lines: list[tuple[str, int, str]] | None = None,  # (sku, quantity, unit price)
    refunds: list[tuple[int, str]] | None = None,  # (refund id, amount)
    utm: dict | None = None,  # the last visit's UTM parameters
    landing: str = "",
    referrer: str = "",
    attributes: dict | None = None,  # custom (cart) attributes
    codes: list[str] | None = None,
    customer: int | None = None,
    cancelled_at: datetime | None = None,
    status: str = "PAID",
) -> dict:
    """One Order node with legacyResourceId `1000 + n` and name `#n`."""
    lines = lines if lines is not None else [("SKU-1", 1, total)]
    journey = None
    if utm is not None or landing or referrer:
        visit = {
            "landingPage": landing or None,
            "referrerUrl": referrer or None,
            "utmParameters": {key: (utm or {}).get(key) for key in
                              ("source", "medium", "campaign", "content", "term")},
        }  # fmt: skip
        journey = {"customerOrderIndex": 1, "firstVisit": visit, "lastVisit": visit}
    return {
        "legacyResourceId": str(1000 + n),
        "name": f"#{n}",
        "number": n,
        "createdAt": _iso(created_at),
        "updatedAt": _iso(updated_at or created_at),
        "cancelledAt": _iso(cancelled_at) if cancelled_at else None,
        "currencyCode": currency,
        "presentmentCurrencyCode": currency,
        "displayFinancialStatus": status,
        "taxesIncluded": False,
        "email": f"buyer{customer}@example.com" if customer else None,
        "totalPriceSet": money(total, currency),
        "subtotalPriceSet": money(
            sum((Decimal(price) * qty for _, qty, price in lines), Decimal("0.00")), currency
        ),
        "totalTaxSet": money(tax, currency),
        "totalShippingPriceSet": money(shipping, currency),
        "totalDiscountsSet": money("0.00", currency),
        "discountCodes": list(codes or []),
        "customAttributes": [{"key": k, "value": v} for k, v in (attributes or {}).items()],
        "customer": {"legacyResourceId": str(customer), "tags": []} if customer else None,
        "customerJourneySummary": journey,
        "lineItems": {
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{n * 100 + i}",
                    "sku": sku,
                    "title": f"Item {sku}",
                    "quantity": qty,
                    "variant": {"legacyResourceId": str(5000 + i)},
                    "product": {"legacyResourceId": str(7000 + i)},
                    "originalUnitPriceSet": money(price, currency),
                }
                for i, (sku, qty, price) in enumerate(lines)
            ]
        },
        "refunds": [
            {
                "legacyResourceId": str(refund_id),
                "createdAt": _iso(updated_at or created_at),
                "note": "",
                "transactions": {
                    "nodes": [
                        {
                            "kind": "REFUND",
                            "status": "SUCCESS",
                            "amountSet": money(amount, currency),
                        }
                    ]
                },  # fmt: skip
                "refundLineItems": {"nodes": []},
            }
            for refund_id, amount in refunds or []
        ],
    }


def throttled(*, requested: int = 752, available: int = 100, restore: float = 50.0) -> Answer:
    """Shopify's answer to a query the bucket cannot pay for (HTTP 200, no data)."""
    return Answer(
        200,
        {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }
            ],
            "extensions": {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": None,
                    "throttleStatus": {
                        "maximumAvailable": 2000.0,
                        "currentlyAvailable": available,
                        "restoreRate": restore,
                    },
                }
            },
        },
    )


def unauthorized() -> Answer:
    return Answer(
        401,
        {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
    )


def truncated() -> Answer:
    return Answer(200, '{"data": {"orders": {"pageInfo": {"hasNextPage": true, "endCur',
                  {"Content-Type": "application/json"})  # fmt: skip


class FakeShopifyAdmin(FakePlatform):
    """`with FakeShopifyAdmin(orders) as fake:` serves the Admin API on `fake.url`; set
    SHOPIFY_ADMIN_URL to `fake.admin_url`. `fake.orders` may be changed between requests
    (`fake.put(node)` adds or replaces an order)."""

    def __init__(self, orders=(), *, token: str = TOKEN, cost_per_order: int = 4,
                 max_cost: int | None = None, bucket: float = 20000.0,
                 restore_rate: float = 1000.0):  # fmt: skip
        super().__init__()
        self.orders: list[dict] = list(orders)
        self.token = token
        self.cost_per_order = cost_per_order
        # The bucket reported after each query: full before it, less its actual cost (an
        # enterprise shop's by default, so a test's pages are not paced unless it asks).
        self.bucket, self.restore_rate = bucket, restore_rate
        self.max_cost = max_cost  # Shopify's single-query ceiling is 1000; None: not enforced
        self._sorted: dict = {}

    @property
    def admin_url(self) -> str:
        return self.server.url + "/admin/api/{version}/graphql.json"

    def put(self, node: dict) -> None:
        self.orders = [o for o in self.orders if o["legacyResourceId"] != node["legacyResourceId"]]
        self.orders.append(node)
        self._sorted.clear()

    # -- answering -------------------------------------------------------------------------

    def respond(self, seen: Seen) -> Answer:
        return self.scripted(seen) or self.answer(seen)

    def answer(self, seen: Seen) -> Answer:
        """The documented answer to a request, without scripted faults."""
        if seen.path != f"/admin/api/{VERSION}/graphql.json":
            return Answer(404, {"errors": "Not Found"})
        if seen.method != "POST":
            return Answer(405, {"errors": "Method Not Allowed"})
        if seen.headers.get("X-Shopify-Access-Token") != self.token:
            return unauthorized()
        request = seen.json()
        variables = request.get("variables") or {}
        first = int(variables.get("first") or 0)
        requested = 2 + first * self.cost_per_order + 1
        if not 1 <= first <= 250:
            return Answer(200, {"errors": [{"message": "The first argument must be between 1 "
                                            "and 250.", "extensions": {"code": "BAD_REQUEST"}}]})  # fmt: skip
        if self.max_cost is not None and requested > self.max_cost:
            return Answer(200, {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost "
                           f"limit ({self.max_cost}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                               "maxCost": self.max_cost}}]})  # fmt: skip
        keys, nodes = self._matching(variables.get("query") or "", variables.get("sortKey"))
        start = 0
        if variables.get("after"):
            position = json.loads(base64.b64decode(variables["after"]))
            start = bisect.bisect_right(keys, (position["last_value"], position["last_id"]))
        chosen = nodes[start : start + first]
        has_next = start + first < len(nodes)
        end_cursor = None
        if chosen:
            last = keys[start + len(chosen) - 1]
            end_cursor = base64.b64encode(
                json.dumps({"last_value": last[0], "last_id": last[1]}).encode()
            ).decode()
        data = {
            "orders": {
                "pageInfo": {"hasNextPage": has_next, "endCursor": end_cursor},
                "nodes": chosen,
            }
        }
        if "ordersCount" in request.get("query", "") and variables.get("count"):
            data["ordersCount"] = {"count": len(nodes), "precision": "EXACT"}
        actual = 2 + len(chosen) * self.cost_per_order + 1
        return Answer(200, {"data": data, "extensions": {"cost": {
            "requestedQueryCost": requested, "actualQueryCost": actual,
            "throttleStatus": {"maximumAvailable": self.bucket,
                               "currentlyAvailable": self.bucket - actual,
                               "restoreRate": self.restore_rate}}}})  # fmt: skip

    def _matching(self, query: str, sort_key: str | None):
        """The orders the search filter matches, ordered by the sort key then id, with their
        (value, id) keys; cached until the orders change."""
        cache_key = (query, sort_key, len(self.orders))
        if cache_key not in self._sorted:
            field = "updatedAt" if sort_key == "UPDATED_AT" else "createdAt"
            found = _FILTER.search(query)
            since = _parse(found.group(2)) if found else None
            since_field = "updatedAt" if found and found.group(1) == "updated_at" else "createdAt"
            chosen = [
                node for node in self.orders if since is None or _parse(node[since_field]) >= since
            ]
            chosen.sort(key=lambda node: (node[field], int(node["legacyResourceId"])))
            keys = [(node[field], int(node["legacyResourceId"])) for node in chosen]
            self._sorted[cache_key] = (keys, chosen)
        return self._sorted[cache_key]
