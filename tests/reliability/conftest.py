"""Shared pieces of the fault tests: PostgreSQL-only and Redis-only marks, an unreachable
database, gunicorn on loopback against the test database, signed Shopify deliveries, draining the
inbox; the attribution invariants live in bench/checks.py."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

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
ROOT = Path(__file__).resolve().parents[2]


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


redis_only = pytest.mark.skipif(
    not redis_up(), reason="needs Redis on 127.0.0.1:6379 (CI starts one for the PostgreSQL run)"
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


def test_database_url() -> str:
    """The URL of the database this test run uses (pytest-django's test database)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@contextmanager
def gunicorn_server(env: dict, *, workers: int = 3, log: Path):
    """gunicorn with `workers` sync workers on a free loopback port, the project's own settings
    and `env` on top (DATABASE_URL, CACHE_URL, rates...), as production runs it; yields
    (host, port). Its output goes to `log`; stopped (its process group) on exit."""
    port = closed_port()
    server_env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "omnisocial.settings",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "false",
        "SECRET_KEY": "fault-tests-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"), "omnisocial.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                "--worker-class", "sync", "--log-level", "warning",
            ],
            cwd=ROOT, env=server_env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {log.read_text()[-3000:]}")
            try:
                if http_request(("127.0.0.1", port), "GET", "/accounts/login/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield ("127.0.0.1", port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def http_request(server, method, path, *, body=None, headers=None):
    """One request on a connection of its own; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection(*server, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


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
