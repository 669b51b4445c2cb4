"""More than one machine: two django-q2 clusters on the Redis broker share one burst of webhooks.

Run: `.venv/bin/python bench/multi_worker.py` (knobs: BENCH_DELIVERIES, default 1000;
BENCH_REDIS_URL, default redis://127.0.0.1:6379/11; BENCH_TIMEOUT seconds, default 240).

Everything on loopback, in a PostgreSQL database of its own (`omnisocial_bench_workers`, dropped
and created here) and a Redis database number of its own (emptied here):
1. a workspace, a Shopify store and the post the fixture order names (so every order has a
   journey and attribution rows);
2. gunicorn on 127.0.0.1:8073 enqueueing to Redis, and two `manage.py qcluster` processes (two
   workers each), as two worker hosts would run them;
3. BENCH_DELIVERIES signed `orders/create` deliveries, built from
   tests/fixtures/shopify_order_create.json with distinct order and event ids, sent over 16
   connections;
4. waits (bounded) until every delivery is processed, every order attributed and the queue empty;
5. prints counts and timings and exits non-zero unless every order and every attribution row
   exists exactly once and both clusters did part of the work.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "1000"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "240"))
DB_NAME = os.environ.get("BENCH_DB_NAME", "omnisocial_bench_workers")
PORT = int(os.environ.get("BENCH_PORT", "8073"))
SECRET = "shpss_bench_workers_secret"
SHOP = "bench-workers.myshopify.com"
CONNECTIONS = 16


def signed(order_id: int, template: dict) -> tuple[bytes, dict]:
    payload = {**template, "id": order_id, "order_number": order_id % 1_000_000}
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    return body, {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": signature.decode(),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Event-Id": f"evt-{order_id}",
        "X-Shopify-Webhook-Id": f"wh-{order_id}",
    }


def send(path: str, requests: list[tuple[bytes, dict]]) -> dict[int, int]:
    """Sends every request once over CONNECTIONS keep-alive connections; returns status counts."""
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def worker(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        for body, headers in chunk:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            with lock:
                codes[response.status] = codes.get(response.status, 0) + 1
        conn.close()

    threads = [
        threading.Thread(target=worker, args=(requests[i::CONNECTIONS],))
        for i in range(CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def main() -> int:
    import redis

    url = harness.fresh_database(DB_NAME)
    harness.setup_django(url)
    os.environ["Q_BROKER_URL"] = REDIS_URL
    redis.Redis.from_url(REDIS_URL).flushdb()

    from django.db import connection
    from django.db.models import Count

    from attribution.models import RevenueAttribution
    from bench.checks import attribution_consistency_problems
    from commerce import services
    from commerce.models import CommerceOrder, WebhookDelivery
    from omnisocial.services import post_save, workspace_create

    workspace = workspace_create(name="Workers", owner_email="workers@example.com")
    store = services.store_connect(
        workspace=workspace, platform="shopify", shop_domain=SHOP, webhook_secret=SECRET
    )
    post_save(workspace=workspace, platform="instagram", reference="post-17",
              link_url=f"https://{SHOP}/products/linen-shirt")  # fmt: skip
    models = workspace.attribution_models
    template = json.loads((harness.ROOT / "tests/fixtures/shopify_order_create.json").read_text())
    requests = [signed(50_000_000 + n, template) for n in range(DELIVERIES)]
    connection.close()

    env = {**harness.server_env(url), "Q_BROKER_URL": REDIS_URL, "Q_WORKERS": "2",
           "LOG_LEVEL": "INFO"}  # fmt: skip
    (harness.ROOT / "bench" / ".tmp").mkdir(exist_ok=True)
    logs = [harness.ROOT / "bench" / ".tmp" / f"{DB_NAME}-cluster-{n}.log" for n in (1, 2)]
    clusters = [
        subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=harness.ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        for log in logs
    ]
    os.environ["Q_BROKER_URL"] = REDIS_URL
    queue = redis.Redis.from_url(REDIS_URL)
    try:
        with harness.gunicorn(url, PORT, workers=2, extra_env={"Q_BROKER_URL": REDIS_URL}):
            started = time.perf_counter()
            codes = send(f"/commerce/stores/{store.pk}/webhooks/shopify", requests)
            sent_in = time.perf_counter() - started
        print(f"sent {DELIVERIES} deliveries in {sent_in:.1f} s "
              f"({DELIVERIES / sent_in:.0f}/s), answers {codes}", flush=True)  # fmt: skip

        deadline = time.monotonic() + TIMEOUT
        while True:
            pending = WebhookDelivery.objects.filter(status="received").count()
            attributed = RevenueAttribution.objects.values("order_id").distinct().count()
            queued = sum(queue.llen(key) for key in queue.keys("django_q:*:q"))
            if not pending and not queued and attributed >= DELIVERIES:
                break
            if time.monotonic() > deadline:
                print(f"TIMEOUT: {pending} deliveries pending, {queued} tasks queued, "
                      f"{attributed} orders attributed")  # fmt: skip
                break
            time.sleep(0.5)
        drained_in = time.perf_counter() - started
    finally:
        for process in clusters:
            process.terminate()  # the cluster stops its own workers
        for process in clusters:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    orders = CommerceOrder.objects.count()
    distinct_orders = CommerceOrder.objects.values("external_id").distinct().count()
    statuses = dict(
        WebhookDelivery.objects.values_list("status").annotate(n=Count("pk")).order_by()
    )
    rows = RevenueAttribution.objects.count()
    per_order_model = (
        RevenueAttribution.objects.values("order_id", "attribution_model")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    problems = attribution_consistency_problems(workspace)
    processed_by = [
        len(re.findall(r"Processed '\w+\.tasks\.\w+'", log.read_text())) for log in logs
    ]
    for log in logs:
        log.unlink()
    ok = (
        codes == {200: DELIVERIES}
        and orders == distinct_orders == DELIVERIES
        and statuses == {"processed": DELIVERIES}
        and rows == DELIVERIES * len(models)
        and per_order_model == 0
        and not problems
        and all(processed_by)
    )
    print(f"two clusters on Redis ({REDIS_URL}), PostgreSQL {DB_NAME}")
    print(f"  deliveries stored     {sum(statuses.values())}  {statuses}")
    print(f"  orders                {orders} ({distinct_orders} distinct) of {DELIVERIES} sent")
    print(f"  attribution rows      {rows} (expected {DELIVERIES * len(models)}: "
          f"{len(models)} models, one touch each); doubled: {per_order_model}")  # fmt: skip
    print(f"  consistency problems  {len(problems)} {problems[:3]}")
    print(f"  tasks per cluster     {processed_by}")
    print(f"  accepted + processed + attributed in {drained_in:.1f} s "
          f"({DELIVERIES / drained_in:.0f} orders/s end to end)")  # fmt: skip
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
