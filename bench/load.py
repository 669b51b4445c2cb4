"""`make bench-load`: mixed load against gunicorn and PostgreSQL on loopback, then exact checks.

For BENCH_SECONDS (default 60) four kinds of traffic run at once, each from its own process so
its latency is measured on its own:
  - click redirects `GET /r/<code>` over the workspace's links (BENCH_CLICK_CONNECTIONS, 6);
  - signed Shopify `orders/create` deliveries, every one a distinct order naming one of the posts
    in its UTMs (BENCH_WEBHOOK_CONNECTIONS, 2);
  - `GET /commerce/revenue/dashboard` with an API key (1 connection);
  - `GET /analytics/revenue/` with a logged-in session (1 connection).
One django-q2 cluster (ORM broker) processes deliveries and attribution meanwhile, as in
production. Every request is a real HTTP request on a keep-alive connection, timed by the client
that sent it, so the checks afterwards are exact:
  - every click id a redirect handed out is stored exactly once, and nothing else;
  - every delivery answered 200 is stored exactly once and made exactly one order;
  - after the queue drains and `recalculate_attribution` runs to completion, the attribution total
    of every model equals the orders' revenue, and the rollups equal the raw rows.
Prints requests, throughput, p50/p99 and errors per route, and exits non-zero when a check fails.
Everything stays on 127.0.0.1 and every phase is bounded in time.
"""

import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
PORT = int(os.environ.get("BENCH_PORT", "8075"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
CLICK_CONNECTIONS = int(os.environ.get("BENCH_CLICK_CONNECTIONS", "6"))
WEBHOOK_CONNECTIONS = int(os.environ.get("BENCH_WEBHOOK_CONNECTIONS", "2"))
DRAIN_TIMEOUT = float(os.environ.get("BENCH_DRAIN_TIMEOUT", "600"))
DB_NAME = "omnisocial_bench_load"
SECRET = "shpss_bench_load_secret"
SHOP = "bench-load.myshopify.com"
POSTS = 30
BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Instagram 331.0.0.37.90"
)


# --- load generators (each route in its own process) ---------------------------------------------


def _run_route(name: str, connections: int, make_request, on_response, out) -> None:
    """`connections` threads, each on one keep-alive connection, until the deadline."""
    deadline = time.monotonic() + SECONDS
    results = []
    lock = threading.Lock()

    def worker(index: int):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine = {"latencies": [], "codes": {}, "errors": 0, "kept": []}
        n = 0
        while time.monotonic() < deadline:
            method, path, body, headers = make_request(index, n)
            n += 1
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                mine["errors"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                continue
            mine["latencies"].append(time.perf_counter() - started)
            mine["codes"][response.status] = mine["codes"].get(response.status, 0) + 1
            kept = on_response(index, n - 1, response)
            if kept is not None:
                mine["kept"].append(kept)
        conn.close()
        with lock:
            results.append(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies = sorted(x for r in results for x in r["latencies"])
    codes: dict[int, int] = {}
    for r in results:
        for code, count in r["codes"].items():
            codes[code] = codes.get(code, 0) + count
    out.put(
        {
            "name": name,
            "requests": len(latencies),
            "rate": len(latencies) / elapsed,
            "p50": latencies[len(latencies) // 2] * 1000 if latencies else 0,
            "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0,
            "codes": codes,
            "errors": sum(r["errors"] for r in results),
            "kept": [k for r in results for k in r["kept"]],
        }
    )


def clicks(codes: list[str], out) -> None:
    headers = {"User-Agent": BROWSER, "Referer": "https://l.instagram.com/"}

    def make(index, n):
        return "GET", f"/r/{codes[(index + n) % len(codes)]}", None, headers

    def keep(index, n, response):
        if response.status != 302:
            return None
        return parse_qs(urlsplit(response.getheader("Location")).query)["osc_click"][0]

    _run_route("GET /r/<code>", CLICK_CONNECTIONS, make, keep, out)


def webhooks(store_id: int, references: list[str], template: str, out) -> None:
    path = f"/commerce/stores/{store_id}/webhooks/shopify"

    def make(index, n):
        order_id = 70_000_000 + index * 1_000_000 + n
        text = template.replace("post-17", references[order_id % len(references)])
        payload = json.loads(text)
        payload["id"], payload["order_number"] = order_id, order_id % 1_000_000
        body = json.dumps(payload).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        return (
            "POST",
            path,
            body,
            {
                "Content-Type": "application/json",
                "X-Shopify-Hmac-Sha256": signature.decode(),
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-Event-Id": f"evt-{order_id}",
                "X-Shopify-Webhook-Id": f"wh-{order_id}",
            },
        )

    def keep(index, n, response):
        return (str(70_000_000 + index * 1_000_000 + n), response.status)

    _run_route("POST webhook", WEBHOOK_CONNECTIONS, make, keep, out)


def reads(name: str, path: str, headers: dict, out) -> None:
    _run_route(name, 1, lambda index, n: ("GET", path, None, headers), lambda *a: None, out)


# --- the scenario --------------------------------------------------------------------------------


def main() -> int:
    url = harness.fresh_database(DB_NAME)
    harness.setup_django(url)
    from django.db import connection
    from django.db.models import Count, Sum
    from django.test import Client
    from django_q.models import OrmQ

    from attribution import engine
    from attribution.models import Click, RevenueAttribution
    from attribution.services import click_spool_flush
    from bench.checks import attribution_consistency_problems
    from commerce import services as commerce
    from commerce.models import CommerceOrder, WebhookDelivery
    from omnisocial.models import Membership
    from omnisocial.services import api_key_create, post_save, workspace_create

    workspace = workspace_create(name="Load", owner_email="load@example.com")
    store = commerce.store_connect(workspace=workspace, platform="shopify", shop_domain=SHOP,
                                   webhook_secret=SECRET)  # fmt: skip
    posts = [
        post_save(
            workspace=workspace,
            platform="instagram",
            reference=f"load-{n}",
            link_url=f"https://{SHOP}/products/p{n}",
        )  # fmt: skip
        for n in range(POSTS)
    ]
    codes = [post.links.get().code for post in posts]
    _, api_key = api_key_create(workspace=workspace, name="load")
    browser = Client()
    browser.force_login(Membership.objects.get(workspace=workspace).user)
    session = browser.cookies["sessionid"].value
    template = (harness.ROOT / "tests/fixtures/shopify_order_create.json").read_text()
    template = template.replace("Post-17", "post-17")
    connection.close()

    env = {"API_RATE_LIMIT": "1000000/min"}
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=harness.ROOT,
        env={**harness.server_env(url), "Q_WORKERS": "1"}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    queue = multiprocessing.Queue()
    routes = [
        multiprocessing.Process(target=clicks, args=(codes, queue)),
        multiprocessing.Process(
            target=webhooks, args=(store.pk, [p.reference for p in posts], template, queue)
        ),  # fmt: skip
        multiprocessing.Process(
            target=reads,
            args=(
                "GET /commerce/revenue/dashboard",
                "/commerce/revenue/dashboard",
                {"Authorization": f"Bearer {api_key}"},
                queue,
            ),
        ),  # fmt: skip
        multiprocessing.Process(
            target=reads,
            args=(
                "GET /analytics/revenue/",
                "/analytics/revenue/",
                {"Cookie": f"sessionid={session}"},
                queue,
            ),
        ),  # fmt: skip
    ]
    try:
        with harness.gunicorn(url, PORT, workers=WORKERS, extra_env=env):
            print(f"load: {SECONDS} s, gunicorn {WORKERS} sync workers, PostgreSQL, "
                  "one worker cluster", flush=True)  # fmt: skip
            for process in routes:
                process.start()
            results = [queue.get(timeout=SECONDS + 120) for _ in routes]
            for process in routes:
                process.join(timeout=30)

        # Drain: every delivery processed and every task done (bounded).
        started = time.monotonic()
        while time.monotonic() - started < DRAIN_TIMEOUT:
            if not WebhookDelivery.objects.filter(status="received").exists() and (
                not OrmQ.objects.exists()
            ):
                break
            time.sleep(1)
        drained = time.monotonic() - started
    finally:
        cluster.terminate()
        try:
            cluster.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, 9)

    spooled = click_spool_flush()
    recalc_started = time.monotonic()
    engine.workspace_recalculate(workspace=workspace)
    recalc = time.monotonic() - recalc_started

    by_name = {r["name"]: r for r in results}
    total = sum(r["requests"] for r in results)
    print(
        f"\n{'route':34} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  answers / errors"
    )
    for r in results:
        print(f"{r['name']:34} {r['requests']:9d} {r['rate']:8.1f} {r['p50']:8.1f} "
              f"{r['p99']:8.1f}  {r['codes']} / {r['errors']} socket errors")  # fmt: skip
    print(f"{'all routes':34} {total:9d} {total / SECONDS:8.1f}")

    failures = []
    expected = {"GET /r/<code>": 302, "POST webhook": 200}
    for r in results:
        bad = sum(n for code, n in r["codes"].items() if code != expected.get(r["name"], 200))
        if bad or r["errors"]:
            failures.append(f"{r['name']}: {bad} unexpected answers, {r['errors']} errors")

    answered_clicks = by_name["GET /r/<code>"]["kept"]
    stored_clicks = list(Click.objects.values_list("click_id", flat=True))
    if len(stored_clicks) != len(set(stored_clicks)) or set(stored_clicks) != set(answered_clicks):
        failures.append(
            f"clicks: {len(answered_clicks)} answered, {len(stored_clicks)} stored "
            f"({len(set(answered_clicks) - set(stored_clicks))} missing)"
        )
    print(f"\nclicks answered 302      {len(answered_clicks)}; stored {len(stored_clicks)} "
          f"(via the spool: {spooled}); missing "
          f"{len(set(answered_clicks) - set(stored_clicks))}, extra "
          f"{len(set(stored_clicks) - set(answered_clicks))}")  # fmt: skip

    accepted = [order for order, status in by_name["POST webhook"]["kept"] if status == 200]
    deliveries = WebhookDelivery.objects.count()
    orders = list(CommerceOrder.objects.values_list("external_id", flat=True))
    if deliveries != len(accepted) or sorted(orders) != sorted(accepted):
        failures.append(f"deliveries: {len(accepted)} accepted, {deliveries} stored, "
                        f"{len(orders)} orders")  # fmt: skip
    statuses = dict(
        WebhookDelivery.objects.order_by().values_list("status").annotate(n=Count("pk"))
    )
    print(f"deliveries accepted 200  {len(accepted)}; stored {deliveries} {statuses}; "
          f"orders {len(orders)} ({len(set(orders))} distinct)")  # fmt: skip
    print(f"queue drained            {drained:.1f} s after the load; full recalculation "
          f"{recalc:.1f} s")  # fmt: skip

    revenue = sum(
        order.attributable_revenue(workspace.revenue_basis, net_of_refunds=False)
        for order in CommerceOrder.objects.all()
    )
    for model in workspace.attribution_models:
        credited = RevenueAttribution.objects.filter(attribution_model=model).aggregate(
            s=Sum("gross_revenue")
        )["s"]
        mark = "ok" if credited == revenue else "DIFFERS"
        if credited != revenue:
            failures.append(f"{model}: credited {credited} != orders' revenue {revenue}")
        print(f"attribution {model:14} {credited} of {revenue} {mark}")
    problems = attribution_consistency_problems(workspace)
    if problems:
        failures.append(f"rollups: {problems[:3]}")
    print(f"rollups equal raw rows   {'yes' if not problems else problems[:3]}")
    print("\nOK" if not failures else "\nFAILED:\n  " + "\n  ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
