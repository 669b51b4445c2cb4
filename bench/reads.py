"""Read path at scale: every report a marketer opens, its page, its API answer and its CSVs.

Builds, with set-based SQL in a fresh PostgreSQL database, BENCH_READ_ORDERS orders (default
1,000,000), BENCH_READ_POSTS posts (10,000) and BENCH_READ_CLICKS clicks (5,000,000) over 120
days, credits every order to one post under two models, builds the rollups with the engine's own
rollup code, then times requests through Django's test client (server time, no network) and
prints p50/p95 and the number of queries each takes, beside the 2026-12-01 figures (taken at the
full size) where there are some and the p95 each must stay under (issue 30): the dashboard API,
the per-post API, the Revenue page, Post Analytics, segments (page and API, each `by`), coupons
(page and API), Compare and its API, Conversion paths and its API (`range=all` included),
receipts of the headline and of one platform, the posts creative view, the orders list's first
page (page and API) and one order's journey. Then the memory of the posts and orders CSV exports
(`range=all`): the peak of Python's allocations while one is built and read (tracemalloc), and
the process's peak RSS growth.

BENCH_READ_REQUESTS (default 40) requests are timed after 3 warm-up ones; a report whose
requests would take longer than BENCH_READ_BUDGET seconds (default 60) in all, at its warm-up's
pace, is timed over fewer (never under 5), and the table says how many.
"""

import os
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

ORDERS = int(os.environ.get("BENCH_READ_ORDERS", "1000000"))
POSTS = int(os.environ.get("BENCH_READ_POSTS", "10000"))
CLICKS = int(os.environ.get("BENCH_READ_CLICKS", "5000000"))
REQUESTS = int(os.environ.get("BENCH_READ_REQUESTS", "40"))
BUDGET = float(os.environ.get("BENCH_READ_BUDGET", "60"))
WARM_UP = 3
# BENCH_READ_ONLY=dashboard,post-api times only the reports whose label holds one of the words
# (and skips the CSVs unless one of them is "csv").
ONLY = [w for w in os.environ.get("BENCH_READ_ONLY", "").split(",") if w]
# BENCH_READ_REUSE=1 times the database a previous run built (building takes ~10 minutes).
REUSE = os.environ.get("BENCH_READ_REUSE") == "1"
DATABASE = "omnisocial_bench_reads"
MODELS = ["last-touch", "first-touch"]


def build(workspace, store) -> None:
    from django.db import connection

    from attribution import rollups
    from attribution.models import MODEL_COLUMNS, TOUCH_FIGURES, TrackedLink
    from omnisocial.models import Post

    platforms = ("instagram", "facebook", "tiktok")
    Post.objects.bulk_create(
        [
            Post(workspace=workspace, platform=platforms[n % 3], reference=f"p-{n}",
                 caption=f"Post {n}", content_type=("product", "lifestyle", "ugc")[n % 3],
                 boosted_spend=100 if n % 10 == 0 else 0)
            for n in range(POSTS)
        ],
        batch_size=5000,
    )  # fmt: skip
    posts = list(
        Post.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True)
    )
    TrackedLink.objects.bulk_create(
        [
            TrackedLink(workspace=workspace, post_id=pk, code=f"b{pk}",
                        destination_url="https://s.example/", utm_source="x", utm_medium="social",
                        tagged_url="https://s.example/?utm_source=x")
            for pk in posts
        ],
        batch_size=5000,
    )  # fmt: skip
    ws, st = workspace.pk, store.pk
    with connection.cursor() as c:
        c.execute(
            "CREATE TEMP TABLE bench_links AS SELECT row_number() OVER (ORDER BY id) - 1 AS n,"
            " id, post_id FROM attribution_trackedlink WHERE workspace_id = %s",
            [ws],
        )
        c.execute("CREATE INDEX ON bench_links (n)")
        c.execute(
            """INSERT INTO attribution_click (workspace_id, link_id, post_id, click_id, visitor_id,
                   clicked_at, referrer, user_agent, ip_prefix, is_bot, bot_reason, is_unique)
               SELECT %s, l.id, l.post_id, 'c' || g, 'v' || (g %% 2000000),
                      now() - (g %% 120) * interval '1 day' - (g %% 86400) * interval '1 second',
                      '', '', '', g %% 10 = 0, '', g %% 7 <> 0
               FROM generate_series(1, %s) g JOIN bench_links l ON l.n = g %% %s""",
            [ws, CLICKS, POSTS],
        )
        c.execute(
            """INSERT INTO commerce_commerceorder (workspace_id, store_id, external_id,
                   order_number, created_at, updated_at_source, recorded_at, updated_at, currency,
                   presentment_currency, total_price, subtotal, total_tax, total_shipping,
                   total_discounts, refunded_amount, financial_status, status, reporting_currency,
                   exchange_rate, reporting_total, is_converted, utm_source, utm_medium,
                   utm_campaign, utm_content, utm_term, referrer_url, landing_page, osc_click,
                   fbclid, gclid, ttclid, visitor_id, coupon_codes, customer_key,
                   is_returning_customer, customer_tags, taxes_included)
               SELECT %s, %s, g::text, '#' || g,
                      now() - (g %% 120) * interval '1 day' - (g %% 86400) * interval '1 second',
                      now(), now(), now(), 'USD', '', 20 + (g %% 200), 20 + (g %% 200), 0, 0, 0, 0,
                      'paid', 'open', 'USD', 1, 20 + (g %% 200), true, '', '', '', '', '', '', '',
                      'c' || g, '', '', '', '', '[]'::jsonb, 'k' || (g %% 300000), g %% 3 = 0,
                      '[]'::jsonb, true
               FROM generate_series(1, %s) g""",
            [ws, st, ORDERS],
        )
        # One touch per order, credited whole under every model (first touch and last touch
        # name different posts, so the two models' figures differ).
        columns, values = [], []
        for model in MODELS:
            suffix = MODEL_COLUMNS[model]
            columns += [f"{figure}_{suffix}" for figure in TOUCH_FIGURES]
            values += ["1", "o.total_price", "0", "o.total_price", "1"]
        c.execute(
            f"""INSERT INTO attribution_attributiontouch (workspace_id, order_id, position,
                   post_id, campaign_id, platform, click_id, touched_at, matched_field,
                   matched_value, currency, order_day, data_fallback, {", ".join(columns)})
               SELECT o.workspace_id, o.id, 0, l.post_id, NULL,
                      (ARRAY['instagram','facebook','tiktok'])[1 + (l.n %% 3)], NULL,
                      o.created_at, 'utmContent', 'p-' || l.n, 'USD',
                      (o.created_at AT TIME ZONE 'UTC')::date, false, {", ".join(values)}
               FROM commerce_commerceorder o
               JOIN bench_links l ON l.n = (o.id * 7) %% %s
               WHERE o.workspace_id = %s""",
            [POSTS, ws],
        )
        c.execute("ANALYZE")
    workspace.attribution_models = MODELS
    workspace.default_attribution_model = "last-touch"
    workspace.save(update_fields=["attribution_models", "default_attribution_model"])
    rollups.daily_revenue_build(workspace, MODELS)
    rollups.daily_totals_build(workspace, MODELS)
    rollups.post_revenue_rebuild(workspace, None)
    # As the every-minute schedule would: one run sees the clicks, the next takes them.
    rollups.clicks_roll_up(workspace=workspace)
    rollups.clicks_roll_up(workspace=workspace, settle=timedelta(0))


def timed(client, path, headers=None) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, queries, warm_up = [], 0, 0.0
    requests = REQUESTS
    n = 0
    while n < requests + WARM_UP:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, **(headers or {}))
            if response.streaming:
                b"".join(response.streaming_content)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code)
        if n < WARM_UP:
            warm_up += elapsed / 1000
            if n == WARM_UP - 1:
                requests = max(5, min(REQUESTS, int(BUDGET / (warm_up / WARM_UP))))
        else:
            timings.append(elapsed)
            queries = len(captured)
        n += 1
    return sorted(timings), queries


def p95_of(timings: list[float]) -> float:
    return timings[max(0, int(len(timings) * 0.95) - 1)]


def _rss_mb(field: str) -> float | None:
    """VmRSS (now) or VmHWM (the peak) of this process in MB, where /proc has them."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _rss_peak_reset() -> bool:
    """Resets this process's peak RSS (Linux 4.0+), so the next peak is the export's own."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def csv_memory(client, path) -> tuple[int, float, float, float]:
    """Rows, tracemalloc peak (MB), peak RSS growth (MB) and time (s) of one CSV export, its
    body read to the end as a download would."""
    import gc

    gc.collect()
    if _rss_peak_reset() and _rss_mb("VmRSS") is not None:
        rss_before, rss_peak = _rss_mb("VmRSS"), lambda: _rss_mb("VmHWM")
    else:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # noqa: E731
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    rows = 0
    chunks = response.streaming_content if response.streaming else [response.content]
    for chunk in chunks:
        rows += chunk.count(b"\n")
    del response, chunks
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows - 1, peak / 2**20, max(0.0, rss_peak() - rss_before), elapsed


# The 2026-12-01 figures (p50, p95 in ms, at 1,000,000 orders) and the p95 each report must stay
# under (issue 30); the reports added since have no 2026-12-01 figure.
THEN = {
    "dashboard-api": (101.7, 122.1),
    "revenue-page": (115.8, 135.2),
    "post-api": (16.7, 20.9),
}
TARGET_P95 = {"dashboard-api": 50, "revenue-page": 100, "post-api": 20}
OTHER_TARGET_P95 = 150
CSV_TARGET_MB = 200


def main() -> None:
    if REUSE:
        url = harness.database_url(DATABASE)
        harness.migrate(url)
        harness.setup_django(url)
    else:
        url = harness.fresh_database(DATABASE)
        harness.setup_django(url)
    from django.test import Client

    from commerce.models import CommerceOrder
    from commerce.services import store_connect
    from omnisocial.models import PostMetrics, Workspace
    from omnisocial.services import api_key_create, workspace_create

    started = time.perf_counter()
    if REUSE:
        workspace = Workspace.objects.get(name="Bench")
    else:
        workspace = workspace_create(name="Bench", owner_email="bench@example.com",
                                     owner_password="bench-password")  # fmt: skip
        store = store_connect(
            workspace=workspace, platform="shopify", shop_domain="bench.myshopify.com",
            webhook_secret="shpss_bench_secret",
        )  # fmt: skip
        build(workspace, store)
    post_id = workspace.posts.order_by("pk").values_list("pk", flat=True)[7]
    print(f"read path at {ORDERS:,} orders, {POSTS:,} posts, {CLICKS:,} clicks "
          f"({'reused' if REUSE else 'built'} in {time.perf_counter() - started:.0f} s; "
          f"{PostMetrics.objects.count()} metric rows)")  # fmt: skip
    _, raw_key = api_key_create(workspace=workspace, name="bench")
    api = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    browser = Client()
    browser.login(username="bench@example.com", password="bench-password")
    order_id = (
        CommerceOrder.objects.filter(workspace=workspace)
        .order_by("-created_at")
        .values_list("pk", flat=True)[0]
    )
    reports = [
        ("dashboard-api", "api", "/commerce/revenue/dashboard"),
        ("post-api", "api", f"/commerce/revenue/posts/{post_id}"),
        ("revenue-page", "page", "/analytics/revenue/"),
        ("post-page", "page", f"/analytics/posts/{post_id}/"),
        *[
            (f"segments-{kind} by={by}", kind, f"{base}?by={by}")
            for by in ("platform", "campaign", "contentType", "audience")
            for kind, base in (("api", "/commerce/segments"), ("page", "/analytics/segments/"))
        ],
        ("coupons-api", "api", "/commerce/coupons"),
        ("coupons-page", "page", "/analytics/coupons/"),
        ("compare-api", "api", "/commerce/revenue/model-comparison"),
        ("compare-page", "page", "/analytics/revenue/compare/"),
        ("paths-api", "api", "/commerce/revenue/paths"),
        ("paths-api range=all", "api", "/commerce/revenue/paths?range=all"),
        ("paths-page", "page", "/analytics/revenue/paths/"),
        ("paths-page range=all", "page", "/analytics/revenue/paths/?range=all"),
        ("receipts-page headline", "page", "/analytics/receipts/"),
        ("receipts-page platform", "page", "/analytics/receipts/?platform=instagram"),
        ("posts-page (creative view)", "page", "/posts/"),
        ("orders-api first page", "api", "/commerce/orders"),
        ("orders-page first page", "page", "/analytics/orders/"),
        ("order-page (journey)", "page", f"/analytics/orders/{order_id}/"),
    ]
    print(f"  {'report':32s} {'requests':>8s} {'p50 ms':>9s} {'p95 ms':>9s} {'queries':>7s}   "
          f"{'2026-12-01 p50 / p95':>21s}   {'p95 under':>9s}")  # fmt: skip
    if ONLY:
        reports = [r for r in reports if any(word in r[0] for word in ONLY)]
    for label, kind, path in reports:
        client, headers = (Client(), api) if kind == "api" else (browser, None)
        timings, queries = timed(client, path, headers)
        p50, p95 = statistics.median(timings), p95_of(timings)
        then = THEN.get(label)
        then_text = f"{then[0]:7.1f} / {then[1]:7.1f}" if then else "-"
        target = TARGET_P95.get(label, OTHER_TARGET_P95)
        verdict = "ok" if p95 < target else "OVER"
        print(f"  {label:32s} {len(timings):8d} {p50:9.1f} {p95:9.1f} {queries:7d}   "
              f"{then_text:>21s}   {target:6d} {verdict}")  # fmt: skip
    print(f"  {'CSV export (range=all)':32s} {'rows':>8s} {'traced MB':>9s} {'RSS+ MB':>9s} "
          f"{'s':>7s}   under {CSV_TARGET_MB} MB")  # fmt: skip
    for label, path in (
        []
        if ONLY and "csv" not in ONLY
        else [
            ("posts (Revenue page)", "/analytics/revenue/?export=posts&range=all"),
            ("posts (creative view)", "/posts/?export=posts&range=all"),
            ("orders", "/analytics/orders/?export=orders&range=all"),
        ]
    ):
        rows, traced, rss, elapsed = csv_memory(browser, path)
        verdict = "ok" if max(traced, rss) < CSV_TARGET_MB else "OVER"
        print(f"  {label:32s} {rows:8d} {traced:9.1f} {rss:9.1f} {elapsed:7.1f}   {verdict}")


if __name__ == "__main__":
    main()
