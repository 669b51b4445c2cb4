"""Shared pieces of the fault tests: PostgreSQL-only marks, an unreachable database, signed
Shopify deliveries, draining the inbox, and the attribution invariants."""

import json
import socket
from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q, Sum

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


def attribution_consistency_problems(workspace) -> list[str]:
    """Every invariant a reader relies on, checked from the raw rows:
    - per order and model, weights sum to exactly 1 and credited revenue to the order's revenue;
    - DailyRevenue cells equal the sums of RevenueAttribution minus RefundAttribution;
    - PostRevenue rows equal the sums of RevenueAttribution per post and model."""
    from attribution.models import DailyRevenue, PostRevenue, RefundAttribution, RevenueAttribution
    from commerce.models import CommerceOrder

    problems = []
    rows = (
        RevenueAttribution.objects.filter(workspace=workspace)
        .values("order_id", "attribution_model")
        .annotate(weight=Sum("attribution_weight"), revenue=Sum("gross_revenue"), n=Count("pk"))
    )
    orders = {o.pk: o for o in CommerceOrder.objects.filter(workspace=workspace)}
    for row in rows:
        if row["weight"] != 1:
            problems.append(
                f"order {row['order_id']} {row['attribution_model']}: weights {row['weight']}"
            )
        order = orders[row["order_id"]]
        gross = order.attributable_revenue(workspace.revenue_basis, net_of_refunds=False)
        if row["revenue"] != gross:
            problems.append(
                f"order {order.pk} {row['attribution_model']}: {row['revenue']} != {gross}"
            )
    positions = (
        RevenueAttribution.objects.filter(workspace=workspace)
        .values("order_id", "attribution_model", "position")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    problems += [f"duplicate row {p}" for p in positions]

    expected = defaultdict(Decimal)
    for r in (
        RevenueAttribution.objects.filter(workspace=workspace)
        .values("order_day", "post_id", "platform", "attribution_model")
        .annotate(s=Sum("gross_revenue"))
    ):
        expected[(r["order_day"], r["post_id"], r["platform"], r["attribution_model"])] += r["s"]
    for r in (
        RefundAttribution.objects.filter(workspace=workspace)
        .values("day", "post_id", "platform", "attribution_model")
        .annotate(s=Sum("amount"))
    ):
        expected[(r["day"], r["post_id"], r["platform"], r["attribution_model"])] -= r["s"]
    actual = defaultdict(Decimal)
    for r in (
        DailyRevenue.objects.filter(workspace=workspace)
        .values("day", "post_id", "platform", "attribution_model")
        .annotate(s=Sum("revenue"))
    ):
        actual[(r["day"], r["post_id"], r["platform"], r["attribution_model"])] += r["s"]
    if {k: v for k, v in expected.items() if v} != {k: v for k, v in actual.items() if v}:
        problems.append("DailyRevenue differs from the raw rows")

    per_post = {
        (r["post_id"], r["attribution_model"]): (r["s"], r["orders"])
        for r in RevenueAttribution.objects.filter(workspace=workspace, post__isnull=False)
        .values("post_id", "attribution_model")
        .annotate(
            s=Sum("revenue"),
            orders=Count("order_id", distinct=True, filter=Q(attribution_weight__gt=0)),
        )
    }
    for rollup in PostRevenue.objects.filter(workspace=workspace):
        raw = per_post.get((rollup.post_id, rollup.attribution_model), (Decimal(0), 0))
        if (rollup.total_revenue, rollup.total_orders) != (raw[0] or Decimal(0), raw[1]):
            problems.append(f"PostRevenue {rollup.post_id} {rollup.attribution_model} differs")
    missing = set(per_post) - set(
        PostRevenue.objects.filter(workspace=workspace).values_list("post_id", "attribution_model")
    )
    problems += [f"PostRevenue missing for {key}" for key in sorted(missing)]
    return problems
