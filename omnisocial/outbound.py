"""The one way the product calls out over HTTP (store APIs, ad platforms, the test delivery).

Every call has a timeout, never follows a redirect (a redirect is answered to the caller, who
decides), retries what the platforms ask to be retried (429 and 5xx, honouring `Retry-After`,
else backing off exponentially) and refuses private, loopback and link-local addresses unless
`OUTBOUND_ALLOW_PRIVATE` is on (local tests and fake platform servers): a URL a user typed
must not reach into the network the app runs in.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone

DEFAULT_TIMEOUT = 10.0  # seconds, per attempt
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_WAIT = 60.0  # never sleep longer than this between attempts, whatever Retry-After says
USER_AGENT = "OmniSocial/1.0"


class OutboundError(Exception):
    """A call that got no usable answer: refused address, timeout, connection failure. The
    message says which, in the product's words (never the far end's body)."""


def _private(host: str) -> bool:
    """Whether `host` is, or resolves to, an address inside a private network."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise OutboundError(f"{host} does not resolve ({exc.strerror}).") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return True
    return False


def address_check(url: str, *, allow_private: bool | None = None) -> None:
    """Raises OutboundError unless `url` is http(s) to a public address (or private addresses
    are allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError(f"{url!r} is not an http(s) URL.")
    allowed = settings.OUTBOUND_ALLOW_PRIVATE if allow_private is None else allow_private
    if not allowed and _private(parts.hostname):
        raise OutboundError(
            f"{parts.hostname} is a private or local address; it is refused "
            "(OUTBOUND_ALLOW_PRIVATE=true allows it, for local tests only)."
        )


def retry_after(response: httpx.Response, attempt: int) -> float:
    """Seconds to wait before the next attempt: the answer's Retry-After (seconds or an HTTP
    date) when it gives one, else 0.5, 1, 2, 4... seconds."""
    value = response.headers.get("Retry-After", "").strip()
    wait = None
    if value.isascii() and value.isdigit():
        wait = float(value)
    elif value:
        try:
            wait = (parsedate_to_datetime(value) - timezone.now()).total_seconds()
        except (TypeError, ValueError):
            wait = None
    if wait is None:
        wait = 0.5 * 2**attempt
    return max(0.0, min(wait, MAX_WAIT))


_client: httpx.Client | None = None


def _shared_client() -> httpx.Client:
    """One client per process: its connection pool and its CA certificates (about 60 ms to load)
    are reused by every call. httpx clients are thread-safe; timeouts are given per request."""
    global _client
    if _client is None:
        _client = httpx.Client(follow_redirects=False, trust_env=False)
    return _client


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, object] | None = None,
    json: object = None,
    content: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = 3,
    allow_private: bool | None = None,
    sleep=time.sleep,
) -> httpx.Response:
    """One HTTP call with the rules above; returns the last answer (whatever its status, a 3xx
    included) or raises OutboundError when no answer came."""
    address_check(url, allow_private=allow_private)
    sent = {"User-Agent": USER_AGENT} | dict(headers or {})
    attempt = 0
    while True:
        try:
            response = _shared_client().request(
                method, url, headers=sent, params=params, json=json, content=content,
                timeout=timeout, follow_redirects=False,
            )  # fmt: skip
        except httpx.TimeoutException as exc:
            error = OutboundError(f"no answer within {timeout:g} s")
            error.__cause__ = exc
        except httpx.HTTPError as exc:
            error = OutboundError(_reason(exc))
            error.__cause__ = exc
        else:
            if response.status_code not in RETRY_STATUSES or attempt >= retries:
                return response
            sleep(retry_after(response, attempt))
            attempt += 1
            continue
        if attempt >= retries:
            raise error
        sleep(0.5 * 2**attempt)
        attempt += 1


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "refused" in text.lower():
        return "the connection was refused"
    return text[:200]
