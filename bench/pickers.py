"""Post pickers at scale: the Coupons and KPI pages of a workspace with BENCH_PICKER_POSTS posts
(default 10,000), and the post search their pickers call.

Builds the posts with bulk_create in a fresh PostgreSQL database (bench/harness.py), then times
each request through Django's test client (server time, no network) and prints p50/p95, the
number of queries and how many posts each picker lists (its <option>s), or the search's matches.
"""

import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

POSTS = int(os.environ.get("BENCH_PICKER_POSTS", "10000"))
REQUESTS = int(os.environ.get("BENCH_PICKER_REQUESTS", "20"))
WARM_UP = 2
DATABASE = "omnisocial_bench_pickers"
# A post's option: its value is the post's id (the picker's blank option has none).
OPTION = re.compile(r'<option value="\d+"')


def build(workspace) -> None:
    from omnisocial.models import Post

    platforms = ("instagram", "facebook", "tiktok")
    first = datetime(2026, 1, 1, 12, tzinfo=UTC)
    Post.objects.bulk_create(
        [
            Post(workspace=workspace, platform=platforms[n % 3], reference=f"p-{n}",
                 external_id=f"ext-{n}", caption=f"Post {n}: meet the linen shirt, made to last",
                 content_type="product", published_at=first + timedelta(hours=n))
            for n in range(POSTS)
        ],
        batch_size=5000,
    )  # fmt: skip


def timed(client, path) -> tuple[list[float], int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, queries, body = [], 0, ""
    for n in range(REQUESTS + WARM_UP):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code)
        if n >= WARM_UP:
            timings.append(elapsed)
            queries, body = len(captured.captured_queries), response.content.decode()
    return timings, queries, body


def main() -> None:
    url = harness.fresh_database(DATABASE)
    harness.setup_django(url)
    from django.test import Client

    from omnisocial.services import workspace_create

    workspace = workspace_create(name="Bench", owner_email="bench@example.com",
                                 owner_password="bench-password")  # fmt: skip
    build(workspace)
    client = Client()
    client.login(username="bench@example.com", password="bench-password")
    print(f"post pickers at {POSTS:,} posts ({REQUESTS} requests each after {WARM_UP} warm-up)")
    print(f"{'request':<44} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'listed':>8}")
    reports = [
        ("coupons page", "/analytics/coupons/", "select"),
        ("KPI page", "/analytics/kpis/", "select"),
        ("search ?q=p-17 (a reference)", "/analytics/posts/search/?q=p-17", "json"),
        ("search ?q=linen shirt (every caption)", "/analytics/posts/search/?q=linen+shirt", "json"),
    ]
    for label, path, kind in reports:
        try:
            timings, queries, body = timed(client, path)
        except AssertionError as exc:
            print(f"{label:<44} not served: {exc}")
            continue
        if kind == "select":
            listed = len(OPTION.findall(body))
        else:
            import json

            listed = len(json.loads(body)["results"])
        p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else timings[0]
        print(f"{label:<44} {statistics.median(timings):>8.1f} {p95:>8.1f} "
              f"{queries:>8} {listed:>8}")  # fmt: skip


if __name__ == "__main__":
    main()
