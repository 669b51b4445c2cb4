"""Shared pieces of the fault tests: PostgreSQL-only marks, an unreachable database, signed
Shopify deliveries, draining the inbox; the attribution invariants live in bench/checks.py."""

import json
import socket
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from bench.checks import attribution_consistency_problems  # noqa: F401 - used by the tests
from tests.commerce.signing import fixture_bytes, hmac_b64

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
postgresql_only = pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): the scenario uses a server that can "
    "go away, concurrent sessions or advisory locks; CI runs the suite on PostgreSQL too",
)


def closed_port() -> int:
    """A loopback port nothing listens on (connecting to it is refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def database_unreachable():
    """The database server goes away: the open connection is closed and every new connection
    is refused by the operating system (the settings point at a closed port), exactly what a
    web process sees while PostgreSQL restarts or its host is down. Restored on exit."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = closed_port()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def shopify_body(order_id: int, **changes) -> bytes:
    payload = json.loads(fixture_bytes("shopify_order_create.json"))
    payload["id"] = order_id
    payload["order_number"] = order_id % 100_000
    payload.update(changes)
    return json.dumps(payload).encode()


def shopify_http_headers(store, body: bytes, event_id: str) -> dict:
    """The headers Shopify sends, as HTTP header names."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": hmac_b64(store.webhook_secret, body),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": store.shop_domain,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": f"wh-{event_id}",
        "X-Shopify-Api-Version": "2025-10",
    }


def shopify_meta(store, body: bytes, event_id: str) -> dict:
    """The same headers as WSGI environ keys, for django.test.Client."""
    return {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in shopify_http_headers(store, body, event_id).items()
        if name != "Content-Type"
    }


def deliveries_drain() -> None:
    """Processes whatever the inbox still holds unprocessed, through the operators' own command
    (tests run tasks synchronously, so this is usually a no-op)."""
    call_command("replay_deliveries", status=["received", "waiting"], stdout=_Null())


class _Null:
    def write(self, *_):
        pass

    def flush(self):
        pass
