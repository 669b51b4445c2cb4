"""Benchmark: webhook acceptance under gunicorn, and order processing throughput.

Run: `.venv/bin/python bench/commerce_webhooks.py [DELIVERIES] [ORDERS]`
(or env BENCH_DELIVERIES, BENCH_ORDERS, BENCH_CONCURRENCY; defaults 3000, 20000, 16).

Against PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), in a database of its own
(`omnisocial_bench_commerce`, created and dropped here). Steps:
1. migrate, create a workspace and a Shopify store;
2. start gunicorn on 127.0.0.1:8071 (loopback only, 2 workers);
3. a load generator in a second process sends DELIVERIES signed orders/create deliveries with a
   bounded number of concurrent connections, then the same count to a baseline view that does one
   bare INSERT (the ceiling of a Django view on this machine);
4. prints deliveries/s, p50/p99 latency, rows stored vs sent, the baseline's rate and the ratio;
5. processes the stored deliveries in-process (the task body) and imports ORDERS orders in bulk,
   printing orders/s for each.
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

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "omnisocial_bench_commerce"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
HOST, PORT = "127.0.0.1", 8071
SECRET = "shpss_bench_secret"


def _arg(index: int, env: str, default: int) -> int:
    return int(sys.argv[index]) if len(sys.argv) > index else int(os.environ.get(env, default))


DELIVERIES = _arg(1, "BENCH_DELIVERIES", 3000)
ORDERS = _arg(2, "BENCH_ORDERS", 20000)
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))

# The baseline: a Django view doing one INSERT, served by the same gunicorn.
BASELINE_URLCONF = """
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from omnisocial.urls import urlpatterns as project


@csrf_exempt
def bare_insert(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_baseline (body) VALUES (%s)", [request.body])
    return HttpResponse("OK")


urlpatterns = [path("bench/insert", bare_insert), *project]
"""


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(sql)


def _env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "DJANGO_SETTINGS_MODULE": "bench_urls_settings",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'bench' / '.tmp'}",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
    }


def _write_settings() -> None:
    tmp = ROOT / "bench" / ".tmp"
    tmp.mkdir(exist_ok=True)
    (tmp / "bench_baseline_urls.py").write_text(BASELINE_URLCONF)
    (tmp / "bench_urls_settings.py").write_text(
        "from omnisocial.settings import *  # noqa\nROOT_URLCONF = 'bench_baseline_urls'\n"
    )


def _sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def _load(path: str, bodies: list[bytes], shop: str, out) -> None:
    """Second process: CONCURRENCY threads, each with one keep-alive connection."""
    latencies: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [bodies[i::CONCURRENCY] for i in range(CONCURRENCY)]

    def worker(chunk):
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        mine, mine_codes = [], {}
        for n, body in enumerate(chunk):
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Hmac-Sha256": _sign(body),
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": shop,
                "X-Shopify-Event-Id": hashlib.md5(body).hexdigest(),  # noqa: S324 - an id
            }
            start = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            mine_codes[response.status] = mine_codes.get(response.status, 0) + 1
            if n % 200 == 199:
                conn.close()
                conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        with lock:
            latencies.extend(mine)
            for code, count in mine_codes.items():
                codes[code] = codes.get(code, 0) + count

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    out.put(
        {
            "rate": len(latencies) / elapsed,
            "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "codes": codes,
        }
    )


def _run_load(path: str, bodies: list[bytes], shop: str) -> dict:
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_load, args=(path, bodies, shop, queue))
    process.start()
    result = queue.get(timeout=600)
    process.join(timeout=30)
    return result


def main() -> None:
    sys.path.insert(0, str(ROOT))
    _write_settings()
    sys.path.insert(0, str(ROOT / "bench" / ".tmp"))
    os.environ.update(_env())
    _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DB_NAME}")
    server = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, body bytea)")
        from commerce import services
        from omnisocial.services import workspace_create

        workspace = workspace_create(name="Bench", owner_email="bench@example.com")
        store = services.store_connect(
            workspace=workspace, platform="shopify", shop_domain="bench.myshopify.com",
            webhook_secret=SECRET,
        )  # fmt: skip
        template = json.loads((ROOT / "tests/fixtures/shopify_order_create.json").read_text())
        bodies = []
        for n in range(DELIVERIES):
            template["id"] = 10_000_000 + n
            template["order_number"] = 1000 + n
            bodies.append(json.dumps(template).encode())
        connection.close()

        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{PORT}", "--workers", "2",
             "--threads", "4", "--worker-class", "gthread", "--log-level", "warning",
             "omnisocial.wsgi:application"],
            cwd=ROOT, env=_env(),
        )  # fmt: skip
        for _ in range(100):
            try:
                http.client.HTTPConnection(HOST, PORT, timeout=1).request("GET", "/")
                break
            except OSError:
                time.sleep(0.1)
        # Warm both paths, then measure.
        _run_load(f"/commerce/stores/{store.pk}/webhooks/shopify", bodies[:50], store.shop_domain)
        _run_load("/bench/insert", bodies[:50], store.shop_domain)
        from commerce.models import WebhookDelivery

        WebhookDelivery.objects.all().delete()
        from django_q.models import OrmQ

        OrmQ.objects.all().delete()
        hook = _run_load(
            f"/commerce/stores/{store.pk}/webhooks/shopify", bodies, "bench.myshopify.com"
        )
        base = _run_load("/bench/insert", bodies, store.shop_domain)
        stored = WebhookDelivery.objects.count()
        print(
            f"webhook acceptance: {hook['rate']:.0f} deliveries/s, p50 {hook['p50']:.1f} ms, "
            f"p99 {hook['p99']:.1f} ms, answers {hook['codes']}, stored {stored}/{DELIVERIES}"
        )
        print(
            f"baseline bare INSERT view: {base['rate']:.0f} requests/s, p50 {base['p50']:.1f} ms, "
            f"p99 {base['p99']:.1f} ms; ratio {hook['rate'] / base['rate']:.2f}"
        )
        server.terminate()
        server.wait(timeout=30)
        server = None

        # Processing: the task body over every stored delivery, then a bulk import.
        started = time.perf_counter()
        for delivery in WebhookDelivery.objects.select_related("store__workspace").iterator():
            services.delivery_process(delivery=delivery)
        elapsed = time.perf_counter() - started
        print(
            f"delivery processing: {stored} deliveries in {elapsed:.1f} s "
            f"({stored / elapsed:.0f} orders/s, one worker)"
        )

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
        print(
            f"bulk import: {result.created} orders in {elapsed:.1f} s "
            f"({result.created / elapsed:.0f} orders/s; 100,000 would take "
            f"{100_000 / (result.created / elapsed):.0f} s)"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
