"""A Meta backfill: 90 days of 5,000 ads (450,000 daily insight rows) from the (fake) Marketing
API, joined to posts and written into PostMetrics.

Run: `.venv/bin/python bench/platform_backfill.py` (also part of `make bench`). Knobs:
BENCH_ADS (5000), BENCH_DAYS (90). Target on this machine: under 2 minutes and 400 MB.

Against PostgreSQL on loopback, in a database of its own (harness.fresh_database). Steps:
1. the fake Graph API (tests/fakes/meta.py) serves the insights in its own process, so neither
   its CPU nor its memory is counted here; rows are built on demand, 500 a page as Meta gives
   them, each ad promoting its own Instagram post (the write-heaviest case: one PostMetrics row
   per ad and day), spend in EUR converted to the workspace's USD at each day's rate;
2. a backfill sync run as the worker runs it (analytics.platform_sync.platform_sync_run): every
   page fetched over HTTP, the ads' creatives looked up 50 at a time, each day upserted;
3. the wall time, rows/s and the memory peak (this process), and the figures checked: the rows
   and the spend as the fake built them.
"""

import multiprocessing
import os
import resource
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

ADS = int(os.environ.get("BENCH_ADS", "5000"))
DAYS = int(os.environ.get("BENCH_DAYS", "90"))


def serve(ready) -> None:
    from tests.fakes.meta import FakeMeta

    fake = FakeMeta()
    fake.account_ads["111"] = [f"ad{n}" for n in range(ADS)]
    fake.creatives = {f"ad{n}": {"effective_instagram_media_id": f"media{n}"} for n in range(ADS)}
    fake.figures = lambda ad, day: {
        "spend": "1.25", "impressions": "900", "reach": "700", "clicks": "12",
        "inline_link_clicks": "9",
    }  # fmt: skip
    with fake:
        ready.send(fake.url)
        ready.recv()  # until the benchmark is done


def main() -> None:
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(theirs,), daemon=True)
    server.start()
    fake_url = ours.recv()

    url = harness.fresh_database("omnisocial_bench_platform_backfill")
    harness.setup_django(url)
    from django.conf import settings
    from django.db.models import Count, Sum

    from analytics.platform_sync import platform_sync_run
    from commerce.models import ExchangeRate
    from omnisocial import connections
    from omnisocial.models import PlatformSync, Post, PostMetrics
    from omnisocial.services import workspace_create
    from tests.fakes import meta as fake_meta

    settings.OUTBOUND_ALLOW_PRIVATE = True  # the fake listens on loopback
    settings.META_APP_ID, settings.META_APP_SECRET = fake_meta.APP_ID, fake_meta.APP_SECRET
    settings.META_GRAPH_URL = f"{fake_url}/v24.0"
    workspace = workspace_create(name="Bench", owner_email="bench@example.com")
    Post.objects.bulk_create(
        [Post(workspace=workspace, platform="instagram", external_id=f"media{n}",
              reference=f"post-bench-{n}") for n in range(ADS)],
        batch_size=2000,
    )  # fmt: skip
    today = connections.workspace_today(workspace)
    ExchangeRate.objects.bulk_create(
        [ExchangeRate(day=today - timedelta(days=n), from_currency="EUR", to_currency="USD",
                      rate=Decimal("1.0800000000")) for n in range(DAYS)]
    )  # fmt: skip
    connection = connections.connection_save(
        workspace=workspace, platform="meta", token=fake_meta.LONG_TOKEN, expires_in=5183944,
        user=None, external_user="Bench",
        accounts=[{"kind": "ad_account", "external_id": "111", "currency": "EUR"}],
    )  # fmt: skip
    connection.accounts.update(selected=True)
    sync = PlatformSync.objects.create(
        connection=connection, kind=PlatformSync.Kind.BACKFILL,
        since=today - timedelta(days=DAYS - 1), until=today,
    )  # fmt: skip

    rows = ADS * DAYS
    print(f"Meta backfill of {DAYS} days x {ADS:,} ads = {rows:,} daily rows, pages of 500")
    t0 = time.perf_counter()
    platform_sync_run(sync.pk)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sync.refresh_from_db()
    print(f"  {sync.status}: {sync.message}")
    print(f"  wall time {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s; memory peak "
          f"{peak:,.0f} MB (target: under 120 s and 400 MB at 450,000)")  # fmt: skip

    held = PostMetrics.objects.filter(post__workspace=workspace).aggregate(
        n=Count("id"), spend=Sum("spend"), original=Sum("spend_original")
    )
    want = (rows, Decimal("1.35") * rows, Decimal("1.25") * rows)
    ok = (held["n"], held["spend"], held["original"]) == want and sync.status == "done"
    print(f"  check: {held['n']:,} rows, spend {held['spend']} USD ({held['original']} EUR): "
          f"{'as served' if ok else f'EXPECTED {want}'}")  # fmt: skip
    ours.send("done")
    server.join(timeout=10)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
