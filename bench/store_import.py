"""A store's order history imported from the (fake) Shopify Admin API, then attributed.

Run: `.venv/bin/python bench/store_import.py` (also part of `make bench`). Knobs: BENCH_ORDERS
(100000), BENCH_POSTS (60). Target on this machine: the 100,000 orders in under 3 minutes,
memory under 500 MB.

Against PostgreSQL on loopback, in a database of its own (harness.fresh_database). Steps:
1. the fake Admin API (tests/fakes/shopify.py) serves BENCH_ORDERS orders in its own process, so
   neither its CPU nor its memory is counted here; orders are built on demand from their number
   (one or two lines, the last visit's UTMs naming a post for three in five, a refund for one
   in twenty, repeat customers), in pages of 250 as Shopify's `orders` query gives them;
2. `history.import_request` and `history.import_run`, as the worker runs them: every page
   fetched over HTTP, read, written by `order_import` with the import's progress;
3. the imported range attributed by `workspace_recalculate(since=...)`, what the recalculation
   queued by `store_orders_imported` runs;
4. the wall time, orders/s and the memory peak (this process), and the figures checked: order
   count, revenue and refunds as the fake built them.
"""

import multiprocessing
import os
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "100000"))
POSTS = int(os.environ.get("BENCH_POSTS", "60"))
SHOP = "bench.myshopify.com"
# Orders spread over the last 50 days (the import asks for 60), oldest first.
SPAN = timedelta(days=50)


def _node(n: int, start: datetime, references: list[str]) -> dict:
    from tests.fakes import shopify as fake

    created = start + SPAN * n / ORDERS
    lines = [("TEE", 1, "40.00")] if n % 2 else [("TEE", 1, "40.00"), ("CAP", 2, "12.50")]
    total = "40.00" if n % 2 else "65.00"
    utm = None
    if n % 5 < 3:
        utm = {
            "source": "instagram",
            "medium": "social",
            "content": references[n % len(references)],
        }
    return fake.order(
        n, created_at=created, total=total, lines=lines, utm=utm,
        landing="https://bench.myshopify.com/products/tee" if utm else "",
        refunds=[(10_000_000 + n, "10.00")] if n % 20 == 0 else None,
        customer=1 + n % (ORDERS // 3 + 1),
    )  # fmt: skip


def expected() -> tuple[Decimal, Decimal]:
    """The revenue and refunds the fake serves, summed from the numbers alone."""
    odd = (ORDERS + 1) // 2  # n = 1..ORDERS
    revenue = Decimal("40.00") * odd + Decimal("65.00") * (ORDERS - odd)
    return revenue, Decimal("10.00") * (ORDERS // 20)


def serve(start: datetime, references: list[str], ready) -> None:
    """The fake Admin API, in its own process: orders built on demand from their number."""
    from tests.fakes import shopify as fake

    class Keys:
        def __len__(self):
            return ORDERS

        def __getitem__(self, i):
            node_time = start + SPAN * (i + 1) / ORDERS
            return (node_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), 1001 + i)

    class Nodes:
        def __len__(self):
            return ORDERS

        def __getitem__(self, window: slice):
            return [_node(n + 1, start, references) for n in range(*window.indices(ORDERS))]

    class BenchShopify(fake.FakeShopifyAdmin):
        def _matching(self, query, sort_key):
            return Keys(), Nodes()  # every order is inside the 60 days asked for

    with BenchShopify() as server:
        ready.send(server.admin_url)
        ready.recv()  # until the benchmark is done


def main() -> None:
    start = datetime.now(UTC).replace(microsecond=0) - SPAN - timedelta(days=1)
    references = [f"post-bench-{n}" for n in range(POSTS)]
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    fake = multiprocessing.get_context("fork").Process(
        target=serve, args=(start, references, theirs), daemon=True
    )
    fake.start()
    admin_url = ours.recv()

    url = harness.fresh_database("omnisocial_bench_store_import")
    harness.setup_django(url)
    from django.conf import settings
    from django.db.models import Sum

    from attribution import engine
    from attribution.models import RevenueAttribution
    from commerce.models import CommerceOrder
    from commerce.services import history, store_connect
    from omnisocial.services import post_save, workspace_create
    from tests.fakes import shopify as fake_shopify

    settings.SHOPIFY_ADMIN_URL = admin_url
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the fake listens on loopback
    workspace = workspace_create(name="Bench", owner_email="bench@example.com")
    store = store_connect(
        workspace=workspace, platform="shopify", shop_domain=SHOP,
        webhook_secret="shpss_bench_secret",
    )  # fmt: skip
    store.api_key = fake_shopify.TOKEN
    store.save(update_fields=["api_key"])
    for n, reference in enumerate(references):
        post_save(workspace=workspace, platform=("instagram", "facebook", "tiktok")[n % 3],
                  reference=reference, link_url=f"https://{SHOP}/p/{n}")  # fmt: skip

    print(f"history import of {ORDERS:,} orders from the fake Shopify Admin API, pages of 250")
    t0 = time.perf_counter()
    store_import = history.import_request(store=store, days=60)
    done = history.import_run(store_import=store_import)
    imported_s = time.perf_counter() - t0
    peak_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {done.status}: {done.pages} pages, {done.imported:,} read, {done.created:,} "
          f"created in {imported_s:.1f} s = {done.imported / imported_s:,.0f} orders/s; "
          f"memory peak {peak_import:,.0f} MB")  # fmt: skip
    if done.error:
        print(f"  error: {done.error}")

    t0 = time.perf_counter()
    result = engine.workspace_recalculate(workspace=workspace, since=done.since)
    attributed_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    credited = RevenueAttribution.objects.filter(
        workspace=workspace, attribution_model="last-touch", post__isnull=False
    ).count()
    print(f"  imported range attributed: {result['orders']:,} orders in {attributed_s:.1f} s, "
          f"{credited:,} orders credited to a post (last touch)")  # fmt: skip
    total_s = imported_s + attributed_s
    print(f"  wall time {total_s:.1f} s = {ORDERS / total_s:,.0f} orders/s end to end; "
          f"memory peak {peak:,.0f} MB (target: under 180 s and 500 MB at 100,000)")  # fmt: skip

    held = CommerceOrder.objects.filter(store=store).aggregate(
        revenue=Sum("total_price"), refunded=Sum("refunded_amount")
    )
    count = CommerceOrder.objects.filter(store=store).count()
    revenue, refunded = expected()
    ok = (count, held["revenue"], held["refunded"]) == (ORDERS, revenue, refunded)
    print(f"  check: {count:,} orders, revenue {held['revenue']}, refunded {held['refunded']}: "
          f"{'as served' if ok else f'EXPECTED {ORDERS:,}, {revenue}, {refunded}'}")  # fmt: skip
    ours.send("done")
    fake.join(timeout=10)
    if not ok or done.status != "done":
        sys.exit(1)


if __name__ == "__main__":
    main()
