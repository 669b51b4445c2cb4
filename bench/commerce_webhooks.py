"""Webhook acceptance under gunicorn, then inbox processing and bulk import throughput.

Run: `.venv/bin/python bench/commerce_webhooks.py` (also part of `make bench`). Knobs:
BENCH_SECONDS (15 per run), BENCH_CONNECTIONS (32), BENCH_WORKERS (the gunicorn sync worker
counts to try, "2,3,4,6"), BENCH_BODIES (2000 distinct signed deliveries that wrk cycles through),
BENCH_PROCESS (20000 distinct orders for the processing run), BENCH_ORDERS (100000 for the
import), BENCH_SWEEPERS (2 processes sweeping the inbox, like the default Q_WORKERS),
BENCH_ROUNDS (3 alternating slices per side), BENCH_ACCEPTANCE_ONLY (1: steps 1-3 only).

Against PostgreSQL on loopback, in a database of its own (harness.fresh_database). Steps:
1. a workspace and a Shopify store; BENCH_BODIES orders/create bodies built from the published
   example, each signed as Shopify signs it, written to a file that wrk's Lua script reads;
2. for each worker count: gunicorn (sync workers) on 127.0.0.1 serving the project, and beside it
   the bare Django anchor (../shared/anchors/bare_app.py, ANCHOR_APP: no middleware, HMAC + one
   INSERT) with the same workers; wrk in its own process posts those deliveries to the webhook
   and the same bodies, signed with the anchor's secret, to the anchor, in BENCH_ROUNDS (3)
   alternating slices of BENCH_SECONDS / BENCH_ROUNDS each (webhook then anchor, then anchor then
   webhook, ...), so a load that comes and goes on the machine weighs on both alike; then the
   same bodies to the bare view (one INSERT of the body, bench/urls.py) on the project's server.
   Prints each side's rate over its slices, p50 (the slices' mean) and p99 (the worst slice's),
   answers and rows stored, and the ratio to the anchor;
3. the best worker count, its baseline and the ratio; lost = answered 2xx minus rows stored;
4. the inbox left by the load drained by BENCH_SWEEPERS processes running the sweep task's body;
5. BENCH_PROCESS distinct orders stored as received deliveries and swept the same way: orders/s;
6. BENCH_ORDERS orders through the bulk import: orders/s and seconds.
"""

import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WORKER_COUNTS = [int(n) for n in os.environ.get("BENCH_WORKERS", "2,3,4,6").split(",")]
BODIES = int(os.environ.get("BENCH_BODIES", "2000"))
PROCESS = int(os.environ.get("BENCH_PROCESS", "20000"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "100000"))
SWEEPERS = int(os.environ.get("BENCH_SWEEPERS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ACCEPTANCE_ONLY = os.environ.get("BENCH_ACCEPTANCE_ONLY", "") not in ("", "0")
PORT = 8071
SECRET = "shpss_bench_secret"
SHOP = "bench.myshopify.com"
UNLIMITED = {"COMMERCE_WEBHOOK_RATE": "100000000/min"}
TMP = harness.ROOT / "bench" / ".tmp"

# wrk runs one Lua state per thread: each reads the signed deliveries and starts at its own offset.
LUA = """
local path, datafile = %(path)s, %(datafile)s
local items, n = {}, 0
local counter = 0
setup = function(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end
init = function(args)
  for line in io.lines(datafile) do
    local sig, event, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
    items[#items + 1] = {sig = sig, event = event, body = body}
  end
  n = offset or 0
end
request = function()
  n = n + 1
  local item = items[n %% #items + 1]
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-Shopify-Hmac-Sha256"] = item.sig,
    ["X-Shopify-Topic"] = "orders/create",
    ["X-Shopify-Shop-Domain"] = "%(shop)s",
    ["X-Shopify-Event-Id"] = item.event,
    ["X-Shopify-Webhook-Id"] = "wh-" .. item.event,
    ["X-Shopify-Api-Version"] = "2025-10",
  }, item.body)
end
"""


def _sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def _bodies(count: int, first_id: int) -> list[tuple[str, bytes]]:
    template = json.loads((harness.ROOT / "tests/fixtures/shopify_order_create.json").read_text())
    found = []
    for n in range(count):
        template["id"] = first_id + n
        template["order_number"] = 1000 + n
        template["name"] = f"#{1000 + n}"
        found.append((f"evt-{first_id + n}", json.dumps(template).encode()))
    return found


def _write_script(name: str, path: str, datafile: Path) -> Path:
    script = TMP / name
    script.write_text(
        LUA % {"path": json.dumps(path), "datafile": json.dumps(str(datafile)), "shop": SHOP}
    )
    return script


def _alternating(targets: list[tuple[str, Path]]) -> list[dict | None]:
    """wrk against each (base URL, script) of `targets` in ROUNDS alternating slices (the order
    reversed every other round), each side's slices merged into one result: requests and errors
    summed, the rate over its slices' time, p50 their mean, p99 the worst slice's."""
    seconds = max(1, round(SECONDS / ROUNDS))
    slices: list[list[dict]] = [[] for _ in targets]
    for n in range(ROUNDS):
        order = list(enumerate(targets))
        for index, (base, script) in order if n % 2 == 0 else reversed(order):
            slices[index].append(
                harness.wrk(base, seconds=seconds, connections=CONNECTIONS, script=script)
            )
    merged = []
    for results in slices:
        requests = sum(r["requests"] for r in results)
        merged.append({
            "requests": requests,
            "rate": requests / sum(r["requests"] / r["rate"] for r in results),
            "p50_ms": sum(r["p50_ms"] for r in results) / len(results),
            "p99_ms": max(r["p99_ms"] for r in results),
            "socket_errors": sum(r["socket_errors"] for r in results),
            "bad_status": sum(r["bad_status"] for r in results),
        })  # fmt: skip
    return merged + [None] * (2 - len(merged))


def _sweep_worker(_: int) -> int:
    from django.db import connections

    from commerce import services

    connections.close_all()  # the forked copy of the parent's connection is not ours
    return services.deliveries_sweep(time_budget=None)


def _drain() -> tuple[int, float]:
    """Runs the sweep in SWEEPERS processes until no delivery is left `received`."""
    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(SWEEPERS) as pool:
        done = sum(pool.map(_sweep_worker, range(SWEEPERS)))
    return done, time.perf_counter() - started


def main() -> None:
    harness.ensure_wrk()
    TMP.mkdir(exist_ok=True)
    url = harness.fresh_database("omnisocial_bench_commerce")
    harness.setup_django(url)
    from django.db import connection

    from commerce import services
    from commerce.models import CommerceOrder, WebhookDelivery
    from omnisocial.services import workspace_create

    workspace = workspace_create(name="Bench", owner_email="bench@example.com")
    store = services.store_connect(
        workspace=workspace, platform="shopify", shop_domain=SHOP, webhook_secret=SECRET
    )
    datafile = TMP / "webhook_deliveries.tsv"
    with datafile.open("w") as out:
        for event, body in _bodies(BODIES, 10_000_000):
            out.write(f"{_sign(body)}\t{event}\t{body.decode()}\n")
    hook_script = _write_script(
        "webhook.lua", f"/commerce/stores/{store.pk}/webhooks/shopify", datafile
    )
    base_script = _write_script("baseline.lua", "/bench/ok", datafile)
    # The anchor checks its own secret: the same bodies, signed with it.
    anchor_file = TMP / "anchor_deliveries.tsv"
    with anchor_file.open("w") as out:
        for event, body in _bodies(BODIES, 10_000_000):
            signature = base64.b64encode(
                hmac.new(harness.ANCHOR_SECRET.encode(), body, hashlib.sha256).digest()
            ).decode()
            out.write(f"{signature}\t{event}\t{body.decode()}\n")
    anchor_script = _write_script("anchor.lua", "/wh", anchor_file)
    connection.close()

    def stored() -> int:
        return WebhookDelivery.objects.count()

    runs = []
    for workers in WORKER_COUNTS:
        # Capacity, not the per-store limit: with the shared cache 6000/min holds across workers.
        with (
            harness.gunicorn(url, PORT, workers=workers, extra_env=UNLIMITED) as base,
            harness.anchor(PORT + 1, workers) as anchor_base,
        ):
            targets = [(base, hook_script)] + (
                [(anchor_base, anchor_script)] if anchor_base else []
            )
            for target, script in [*targets, (base, base_script)]:  # warm-up
                harness.wrk(target, seconds=2, connections=8, script=script)
            before = stored()
            connection.close()
            hook, floor = _alternating(targets)
            rows = stored() - before
            connection.close()
            bare = harness.wrk(base, seconds=SECONDS, connections=CONNECTIONS, script=base_script)
        answered = hook["requests"] - hook["bad_status"]
        runs.append((workers, hook, bare, rows, answered, floor))
        print(
            f"  {workers} workers: webhook {hook['rate']:.0f}/s p50 {hook['p50_ms']:.1f} ms "
            f"p99 {hook['p99_ms']:.1f} ms, {answered} answered 2xx, {hook['bad_status']} other, "
            f"{hook['socket_errors']} socket errors, {rows} stored; "
            f"bare INSERT {bare['rate']:.0f}/s p99 {bare['p99_ms']:.1f} ms"
            + (
                f"; anchor {floor['rate']:.0f}/s p99 {floor['p99_ms']:.1f} ms; "
                f"ratio {hook['rate'] / floor['rate']:.2f}x"
                if floor
                else ""
            ),
            flush=True,
        )
    workers, hook, _, rows, answered, floor = max(runs, key=lambda run: run[1]["rate"])
    bare = max((run[2] for run in runs), key=lambda result: result["rate"])
    print(f"webhook acceptance (best: {workers} gunicorn sync workers, {CONNECTIONS} connections, "
          f"{SECONDS}s, PostgreSQL)")  # fmt: skip
    print(f"  deliveries/s        {hook['rate']:.0f}")
    print(f"  latency p50 / p99   {hook['p50_ms']:.1f} ms / {hook['p99_ms']:.1f} ms")
    print(f"  answered 2xx        {answered}  (errors: {hook['socket_errors']} socket, "
          f"{hook['bad_status']} bad status)")  # fmt: skip
    print(f"  rows stored         {rows}; lost: {max(0, answered - rows)}")
    print(f"  baseline (best bare INSERT view)  {bare['rate']:.0f}/s, "
          f"p50 {bare['p50_ms']:.1f} ms, p99 {bare['p99_ms']:.1f} ms")  # fmt: skip
    print(f"  ratio to baseline   {hook['rate'] / bare['rate']:.2f}", flush=True)
    print(harness.ratio_line(f"anchor (bare_app.py, {workers} workers)", hook, floor), flush=True)
    if ACCEPTANCE_ONLY:
        return

    # The inbox the load left: mostly re-deliveries of BODIES events, as at-least-once senders do.
    waiting = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RECEIVED).count()
    done, elapsed = _drain()
    orders = CommerceOrder.objects.count()
    print(f"inbox drain ({SWEEPERS} sweepers): {done}/{waiting} deliveries in {elapsed:.1f} s "
          f"({done / elapsed:.0f}/s), {orders} distinct orders")  # fmt: skip

    # Distinct orders, stored as the endpoint stores them, then swept.
    rows = [
        WebhookDelivery(
            store=store,
            raw_body=body,
            verified=True,
            topic="orders/create",
            delivery_id=event,
            event_key=f"event:{event}",
            headers={
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-Event-Id": event,
            },
        )  # fmt: skip
        for event, body in _bodies(PROCESS, 20_000_000)
    ]
    WebhookDelivery.objects.bulk_create(rows, batch_size=2000)
    done, elapsed = _drain()
    made = CommerceOrder.objects.count() - orders
    print(f"delivery processing ({SWEEPERS} sweepers): {made} new orders from {done} deliveries "
          f"in {elapsed:.1f} s ({made / elapsed:.0f} orders/s; 100,000 would take "
          f"{100_000 / (made / elapsed):.0f} s)", flush=True)  # fmt: skip

    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from commerce.attribution_values import Attribution, LineData, OrderData

    start_day = datetime(2026, 10, 1, tzinfo=UTC)
    orders = (
        OrderData(
            external_id=f"imp-{n}",
            order_number=str(n),
            created_at=start_day + timedelta(seconds=n * 20),
            updated_at=start_day + timedelta(seconds=n * 20),
            currency="USD",
            total_price=Decimal("59.90"),
            subtotal=Decimal("50.00"),
            total_tax=Decimal("4.90"),
            total_shipping=Decimal("5.00"),
            attribution=Attribution(utm_source="instagram", utm_content=f"post-{n % 300}"),
            coupon_codes=["summer20"] if n % 7 == 0 else [],
            customer_id=str(n % 5000),
            lines=[
                LineData(
                    product_id="p1",
                    sku="SKU-1",
                    title="Linen Shirt",
                    quantity=1,
                    price=Decimal("50.00"),
                )
            ],
        )  # fmt: skip
        for n in range(ORDERS)
    )
    started = time.perf_counter()
    result = services.order_import(store=store, orders=orders)
    elapsed = time.perf_counter() - started
    print(f"bulk import: {result.created} orders in {elapsed:.1f} s "
          f"({result.created / elapsed:.0f} orders/s)")  # fmt: skip


if __name__ == "__main__":
    main()
