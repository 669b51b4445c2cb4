"""Attribution engine: full recalculation at scale, and incremental attribution of one order.

A deterministic generator writes BENCH_ORDERS orders (default 100,000; the target scale is
1,000,000) with about three touches each into a fresh PostgreSQL database with COPY: posts with
their links, clicks by visitors (one in five never buys), orders carrying the last click's id,
one line each, and a refund on one order in twenty. Then it times `workspace_recalculate` under
all six models (each phase as the engine logs it) and `order_attribute` on single orders, and
prints orders/s and the memory peak, beside the SQL floors of the anchors (the six models' rows
alone, set-based, in the per-model and the per-touch shape) run at the same order count.
"""

import logging
import os
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "100000"))
POSTS = int(os.environ.get("BENCH_POSTS", "600"))
INCREMENTAL_SAMPLES = 200
SEED = 20261125


def generate(workspace_id: int, store_id: int, post_ids: list[int], link_ids: list[int]) -> None:
    import psycopg
    from django.db import connection

    rng = random.Random(SEED)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clicks, orders, lines, refunds = [], [], [], []
    click_pk = order_pk = 0
    for n in range(ORDERS + ORDERS // 4):
        visitor = f"{rng.getrandbits(96):024x}"
        buys = n < ORDERS
        moment = start + timedelta(seconds=rng.randint(0, 300 * 86400))
        touches = rng.choice((2, 3, 3, 3, 4))
        last_click = None
        for t in range(touches):
            click_pk += 1
            index = rng.randrange(len(post_ids))
            at = moment - timedelta(hours=(touches - t) * rng.randint(1, 60))
            last_click = f"c{click_pk:011d}"
            clicks.append((click_pk, workspace_id, link_ids[index], post_ids[index], last_click,
                           visitor, at, "", "", "", False, "", True))  # fmt: skip
        if buys:
            order_pk += 1
            total = Decimal(rng.randint(1500, 25000)) / 100
            refunded = Decimal("10.00") if order_pk % 20 == 0 else Decimal("0.00")
            orders.append((order_pk, workspace_id, store_id, str(order_pk), f"#{order_pk}",
                           moment, moment, "USD", "", total, total, Decimal("0"), Decimal("0"),
                           Decimal("0"), refunded, "paid", None, "open", "USD", Decimal("1"),
                           total, True, "instagram", "social", "", "", "", "", "", last_click,
                           "", "", "", visitor, "[]", f"{store_id}:{order_pk}", False,
                           "[]", False))  # fmt: skip
            lines.append((order_pk, "", "p1", "v1", "SKU", "Item", rng.choice((1, 1, 2)), total))
            if refunded:
                refunds.append(
                    (
                        order_pk,
                        f"r{order_pk}",
                        refunded,
                        0,
                        None,
                        Decimal("0"),
                        moment + timedelta(days=3),
                        "",
                    )
                )
    conn = connection.connection
    assert isinstance(conn, psycopg.Connection)
    now = datetime.now(UTC)
    with conn.cursor() as cursor:
        with cursor.copy(
            "COPY attribution_click (id, workspace_id, link_id, post_id, click_id, visitor_id,"
            " clicked_at, referrer, user_agent, ip_prefix, is_bot, bot_reason, is_unique)"
            " FROM STDIN"
        ) as copy:
            for row in clicks:
                copy.write_row(row)
        with cursor.copy(
            "COPY commerce_commerceorder (id, workspace_id, store_id, external_id, order_number,"
            " created_at, updated_at_source, currency, presentment_currency, total_price, subtotal,"
            " total_tax, total_shipping, total_discounts, refunded_amount, financial_status,"
            " cancelled_at, status, reporting_currency, exchange_rate, reporting_total,"
            " is_converted, utm_source, utm_medium, utm_campaign, utm_content, utm_term,"
            " referrer_url, landing_page, osc_click, fbclid, gclid, ttclid, visitor_id,"
            " coupon_codes, customer_key, is_returning_customer, customer_tags, taxes_included,"
            " recorded_at, updated_at) FROM STDIN"
        ) as copy:
            for row in orders:
                copy.write_row((*row, now, now))
        with cursor.copy(
            "COPY commerce_orderline (order_id, external_id, product_id, variant_id, sku, title,"
            " quantity, price) FROM STDIN"
        ) as copy:
            for row in lines:
                copy.write_row(row)
        with cursor.copy(
            "COPY commerce_refund (order_id, external_id, amount, units, items_subtotal, items_tax,"
            " created_at, reason, recorded_at)"
            " FROM STDIN"
        ) as copy:
            for row in refunds:
                copy.write_row((*row, now))
        for table in ("attribution_click", "commerce_commerceorder"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    conn.commit()
    print(f"  generated {len(orders)} orders, {len(clicks)} clicks "
          f"({len(clicks) / max(1, len(orders) + len(orders) // 4):.1f} per visitor), "
          f"{len(refunds)} refunds")  # fmt: skip


def main() -> None:
    url = harness.fresh_database("omnisocial_bench_attribution")
    harness.setup_django(url)
    from django.db import connection

    from attribution import engine, rollups
    from attribution.models import RevenueAttribution
    from attribution.services import domain_allow
    from commerce.models import CommerceOrder
    from commerce.services import store_connect
    from omnisocial.services import post_save, workspace_create

    workspace = workspace_create(name="Bench", owner_email="bench@example.com")
    store = store_connect(
        workspace=workspace, platform="shopify", shop_domain="bench.myshopify.com",
        webhook_secret="shpss_bench_secret",
    )  # fmt: skip
    domain_allow(workspace=workspace, domain="bench.myshopify.com")
    posts = [
        post_save(workspace=workspace, platform=("instagram", "facebook", "tiktok")[n % 3],
                  link_url=f"https://bench.myshopify.com/p/{n}")
        for n in range(POSTS)
    ]  # fmt: skip
    link_ids = [post.links.get().pk for post in posts]
    connection.set_autocommit(False)
    t0 = time.perf_counter()
    generate(workspace.pk, store.pk, [p.pk for p in posts], link_ids)
    connection.set_autocommit(True)
    print(f"  data written in {time.perf_counter() - t0:.1f} s")

    print(f"full recalculation of {ORDERS} orders, 6 models, PostgreSQL")
    phases = logging.getLogger("attribution.engine")  # each phase's time, as the engine logs it
    phases.setLevel(logging.DEBUG)
    phases.addHandler(logging.StreamHandler(sys.stdout))
    t0 = time.perf_counter()
    result = engine.workspace_recalculate(workspace=workspace)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = RevenueAttribution.objects.filter(workspace=workspace).count()
    print(f"  {result['orders']} orders in {elapsed:.1f} s = {result['orders'] / elapsed:,.0f} "
          f"orders/s; {rows:,} attribution rows; memory peak {peak_mb:,.0f} MB")  # fmt: skip
    if ORDERS < 1_000_000:
        print(f"  linear extrapolation to 1,000,000 orders: {elapsed * 1_000_000 / ORDERS:.0f} s")
    # The floors, in this run: the six models' rows alone written set-based in SQL (3 touches an
    # order, no journeys, no rollups), in the per-model shape and in the per-touch shape.
    for shape in ("narrow", "wide"):
        floor = harness.sql_anchor(f"sql_attribution_{shape}.sql", ORDERS)
        if floor is not None:
            print(f"  anchor sql_attribution_{shape}.sql at {ORDERS} orders: {floor:.1f} s; "
                  f"the engine takes {elapsed / floor:.1f}x")  # fmt: skip

    # As the every-minute schedule does: the rebuild leaves the newest clicks to the next roll-up.
    rollups.clicks_roll_up(workspace=workspace)
    rollups.clicks_roll_up(workspace=workspace, settle=timedelta(0))
    sample = random.Random(SEED).sample(
        list(CommerceOrder.objects.values_list("pk", flat=True)[:20000]), INCREMENTAL_SAMPLES
    )
    timings = []
    for order_id in sample:
        t0 = time.perf_counter()
        engine.order_attribute(order_id=order_id)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    print(f"incremental attribution of one order ({INCREMENTAL_SAMPLES} orders): "
          f"median {statistics.median(timings):.1f} ms, "
          f"p95 {timings[int(len(timings) * 0.95)]:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
