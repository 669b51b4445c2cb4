"""A fake WooCommerce REST API v3 on loopback, answering `GET /wp-json/wc/v3/orders` as
WooCommerce documents it: HTTP Basic authentication with the consumer key and secret (401 with
WordPress's `{"code", "message", "data": {"status"}}` body otherwise), `page` / `per_page` (at
most 100), `after` / `modified_after` (GMT with `dates_are_gmt`), `orderby` (date, modified, id)
and `order`, and the `X-WP-Total` / `X-WP-TotalPages` headers; a page past the last is the
documented 400 `rest_post_invalid_page_number`.

Faults are scripted by request number, as for the Shopify fake (`fake.faults[2] = answer`).
`order(n, ...)` builds one order as the REST API (and its webhooks) send it.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime

from tests.fakes.server import Answer, FakePlatform, Seen

KEY = "ck_0123456789abcdef0123456789abcdef01234567"
SECRET = "cs_0123456789abcdef0123456789abcdef01234567"


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def order(
    n: int,
    *,
    created_at: datetime,
    modified_at: datetime | None = None,
    total: str = "10.00",
    status: str = "processing",
    refunds: list[tuple[int, str]] | None = None,  # (refund id, amount)
    source: str = "",
    content: str = "",
) -> dict:
    """One order with id `2000 + n`."""
    meta = []
    if source:
        meta.append({"id": 1, "key": "_wc_order_attribution_utm_source", "value": source})
    if content:
        meta.append({"id": 2, "key": "_wc_order_attribution_utm_content", "value": content})
    return {
        "id": 2000 + n,
        "number": str(2000 + n),
        "status": status,
        "currency": "USD",
        "date_created_gmt": _gmt(created_at),
        "date_modified_gmt": _gmt(modified_at or created_at),
        "total": total,
        "total_tax": "0.00",
        "shipping_total": "0.00",
        "discount_total": "0.00",
        "customer_id": 0,
        "billing": {"email": f"buyer{n}@example.com"},
        "meta_data": meta,
        "line_items": [
            {
                "id": n * 10,
                "name": "Mug",
                "product_id": 31,
                "variation_id": 0,
                "quantity": 1,
                "sku": "MUG",
                "price": total,
                "subtotal": total,
                "total": total,
            }
        ],  # fmt: skip
        "coupon_lines": [],
        "refunds": [
            {"id": refund_id, "reason": "", "total": f"-{amount}"}
            for refund_id, amount in refunds or []
        ],
    }


def unauthorized() -> Answer:
    return Answer(
        401,
        {
            "code": "woocommerce_rest_authentication_error",
            "message": "Consumer key is invalid.",
            "data": {"status": 401},
        },
    )


class FakeWooCommerce(FakePlatform):
    """`with FakeWooCommerce(orders) as fake:` serves the site on `fake.url` (the store URL)."""

    def __init__(self, orders=(), *, key: str = KEY, secret: str = SECRET):
        super().__init__()
        self.orders: list[dict] = list(orders)
        self.key, self.secret = key, secret

    def put(self, payload: dict) -> None:
        self.orders = [o for o in self.orders if o["id"] != payload["id"]] + [payload]

    def respond(self, seen: Seen) -> Answer:
        answer = self.scripted(seen)
        if answer is not None:
            return answer
        if seen.path != "/wp-json/wc/v3/orders" or seen.method != "GET":
            return Answer(404, {"code": "rest_no_route", "message": "No route was found "
                                "matching the URL and request method.", "data": {"status": 404}})  # fmt: skip
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if seen.headers.get("Authorization") != expected:
            return unauthorized()
        query = {name: values[-1] for name, values in seen.query.items()}
        per_page = int(query.get("per_page", "10"))
        page = int(query.get("page", "1"))
        if not 1 <= per_page <= 100:
            return Answer(400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): "
                                "per_page", "data": {"status": 400}})  # fmt: skip
        chosen = self.orders
        if "after" in query:
            chosen = [o for o in chosen if o["date_created_gmt"] > query["after"]]
        if "modified_after" in query:
            chosen = [o for o in chosen if o["date_modified_gmt"] > query["modified_after"]]
        field = {"date": "date_created_gmt", "modified": "date_modified_gmt", "id": "id"}[
            query.get("orderby", "date")
        ]
        chosen = sorted(chosen, key=lambda o: (o[field], o["id"]),
                        reverse=query.get("order", "desc") == "desc")  # fmt: skip
        pages = max(1, math.ceil(len(chosen) / per_page))
        if page > pages:
            return Answer(400, {"code": "rest_post_invalid_page_number", "message": "The page "
                                "number requested is larger than the number of pages "
                                "available.", "data": {"status": 400}})  # fmt: skip
        listed = chosen[(page - 1) * per_page : page * per_page]
        return Answer(200, listed, {"X-WP-Total": str(len(chosen)), "X-WP-TotalPages": str(pages)})
