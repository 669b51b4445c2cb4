"""Read path at scale: the dashboard, per-post and Analytics › Revenue render times.

Builds, with set-based SQL in a fresh PostgreSQL database, BENCH_READ_ORDERS orders (default
1,000,000), BENCH_READ_POSTS posts (10,000) and BENCH_READ_CLICKS clicks (5,000,000) over 120
days, credits every order to one post under two models, builds the rollups with the engine's own
rollup code, then times requests through Django's test client (server time, no network):
GET /commerce/revenue/dashboard, GET /commerce/revenue/posts/<id> and GET /analytics/revenue/,
and prints p50/p95 and the number of queries each takes.
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

ORDERS = int(os.environ.get("BENCH_READ_ORDERS", "1000000"))
POSTS = int(os.environ.get("BENCH_READ_POSTS", "10000"))
CLICKS = int(os.environ.get("BENCH_READ_CLICKS", "5000000"))
REQUESTS = int(os.environ.get("BENCH_READ_REQUESTS", "40"))
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

    timings, queries = [], 0
    for n in range(REQUESTS + 3):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, **(headers or {}))
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code)
        if n >= 3:  # warm-up
            timings.append(elapsed)
            queries = len(captured)
    return sorted(timings), queries


def main() -> None:
    if REUSE:
        url = harness.database_url(DATABASE)
        harness.migrate(url)
        harness.setup_django(url)
    else:
        url = harness.fresh_database(DATABASE)
        harness.setup_django(url)
    from django.test import Client

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
    for label, client, path, headers in [
        ("GET /commerce/revenue/dashboard", Client(), "/commerce/revenue/dashboard", api),
        ("GET /commerce/revenue/posts/<id>", Client(), f"/commerce/revenue/posts/{post_id}", api),
        ("GET /analytics/revenue/", browser, "/analytics/revenue/", None),
    ]:
        timings, queries = timed(client, path, headers)
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"  {label:34s} p50 {statistics.median(timings):7.1f} ms   p95 {p95:7.1f} ms   "
              f"{queries} queries")  # fmt: skip


if __name__ == "__main__":
    main()
