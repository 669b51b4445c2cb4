"""WooCommerce's REST API v3: a site's orders, a page at a time (history import and the
missed-webhook sync, `commerce.services.history`).

`GET {store_url}/wp-json/wc/v3/orders` with HTTP Basic authentication (consumer key and
secret, over https), `per_page=100` (its maximum) and `page`; the answer's `X-WP-Total` and
`X-WP-TotalPages` headers say how many orders and pages the filter matches. The filter is
`after` (created after, for the history) or `modified_after` (WooCommerce 5.8+, for the sync),
read as GMT (`dates_are_gmt`). Pages are ordered by id, ascending: an order changed while the
import runs keeps its place, where ordering by date modified would move it to the end and shift
every later order one place back, so that one order would fall between two pages unread. The
orders are the REST shape webhooks send, read by `woocommerce.order_from_payload`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from commerce.attribution_values import OrderData
from commerce.platforms import woocommerce
from omnisocial import outbound

PER_PAGE = 100  # the most WooCommerce lists at once
TIMEOUT = 30.0
CUT_OFF_TRIES = 2


class ApiError(Exception):
    """The site's API gave no usable page. `refused`: it refused the consumer key or secret
    (or their permissions); the message then says what to do."""

    def __init__(self, message: str, *, refused: bool = False):
        super().__init__(message)
        self.refused = refused


@dataclass
class Page:
    orders: list[OrderData]
    ids: list[str]  # every order id on the page, read or not, in the API's order
    unreadable: list[str] = field(default_factory=list)  # "order <id>: <reason>"
    cursor: str = ""  # the next page's number; "" when this was the last
    total: int | None = None  # X-WP-Total


def endpoint(store) -> str:
    return store.store_url.rstrip("/") + "/wp-json/wc/v3/orders"


def orders_page(
    *,
    store,
    since: datetime,
    by: str = "created",
    cursor: str = "",
    count: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Page:
    """One page of the site's orders created (`by="created"`) or modified (`by="updated"`)
    after `since`; `cursor` is the page number ("" for the first). Raises ApiError when no page
    came."""
    page_number = int(cursor or 1)
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    params = {
        "page": page_number,
        "per_page": PER_PAGE,
        "orderby": "id",
        "order": "asc",
        "dates_are_gmt": "true",
        ("after" if by == "created" else "modified_after"): stamp,
    }
    for attempt in range(CUT_OFF_TRIES):
        response = _get(store, params, sleep=sleep)
        if response.status_code == 400 and _code(response) == "rest_post_invalid_page_number":
            # Orders were deleted since the last page: there is no page this far any more.
            return Page(orders=[], ids=[])
        _refusal_check(response)
        if response.status_code != 200:
            raise ApiError(f"WooCommerce answered {response.status_code} ({_message(response)}).")
        try:
            listed = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            if attempt + 1 < CUT_OFF_TRIES:
                sleep(1.0)
                continue
            raise ApiError(
                "WooCommerce's answer was cut off (not complete JSON) twice in a row; the "
                "import stopped at this page and can be asked for again."
            ) from None
        break
    if not isinstance(listed, list):
        raise ApiError("WooCommerce answered with JSON that is not a list of orders.")
    page = Page(orders=[], ids=[], total=_header_int(response, "X-WP-Total"))
    pages = _header_int(response, "X-WP-TotalPages")
    if listed and (pages is None and len(listed) == PER_PAGE or (pages or 0) > page_number):
        page.cursor = str(page_number + 1)
    for payload in listed:
        order_id = payload.get("id") if isinstance(payload, dict) else None
        page.ids.append(str(order_id))
        try:
            page.orders.append(woocommerce.order_from_payload(payload))
        except ValueError as exc:
            page.unreadable.append(f"order {order_id}: {exc}")
    return page


def basic_auth(key: str, secret: str) -> str:
    credentials = f"{key}:{secret}".encode()
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def _get(store, params: dict, *, sleep) -> httpx.Response:
    try:
        return outbound.request(
            "GET",
            endpoint(store),
            headers={
                "Authorization": basic_auth(store.api_key, store.api_secret),
                "Accept": "application/json",
            },
            params=params,
            timeout=TIMEOUT,
            sleep=sleep,
        )
    except outbound.OutboundError as exc:
        raise ApiError(f"WooCommerce could not be reached: {exc}.") from exc


def _refusal_check(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        raise ApiError(
            f"WooCommerce refused the consumer key ({response.status_code}: "
            f"{_message(response)}). The key was revoked, or it lacks Read permission: create a "
            "key with Read access (WooCommerce > Settings > Advanced > REST API), paste its key "
            "and secret on the store page, then import again.",
            refused=True,
        )


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code") or "")
    except (ValueError, AttributeError):
        return ""


def _message(response: httpx.Response) -> str:
    """WordPress's own words from an error answer (`{"code", "message", "data"}`)."""
    try:
        body = response.json()
        return str(body.get("message") or body.get("code"))[:300]
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


def _header_int(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else None
