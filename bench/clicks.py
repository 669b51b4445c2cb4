"""Click redirect throughput: `/r/<code>` under gunicorn against PostgreSQL, wrk on loopback.

Prints clicks/s, p50 and p99, rows stored against requests answered, and the same figures for a
bare Django view doing one INSERT and a 302 (bench/urls.py) and for the bare Django anchor
(../shared/anchors/bare_app.py, or ANCHOR_APP) served by gunicorn with the same workers, with the
ratios.
Knobs: BENCH_SECONDS (default 20), BENCH_CONNECTIONS (32), BENCH_WORKERS (4).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
PORT = 8061
BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Instagram 331.0.0.37.90"
)


def main() -> None:
    url = harness.fresh_database("omnisocial_bench_clicks")
    harness.setup_django(url)
    from django.db import connection

    from attribution.models import Click
    from attribution.services import domain_allow
    from omnisocial.services import post_save, workspace_create

    workspace = workspace_create(name="Bench", owner_email="bench@example.com")
    domain_allow(workspace=workspace, domain="shop.example")
    post = post_save(
        workspace=workspace, platform="instagram", link_url="https://shop.example/p/1?x=1"
    )
    code = post.links.get().code
    connection.close()

    headers = {"User-Agent": BROWSER, "Referer": "https://l.instagram.com/"}
    with harness.gunicorn(url, PORT, workers=WORKERS) as base:
        harness.wrk(f"{base}/r/{code}", seconds=2, connections=8, headers=headers)  # warm-up
        warm = Click.objects.count()
        clicks = harness.wrk(
            f"{base}/r/{code}", seconds=SECONDS, connections=CONNECTIONS, headers=headers
        )
        baseline = harness.wrk(
            f"{base}/bench/redirect", seconds=SECONDS, connections=CONNECTIONS, headers=headers
        )
    floor = None
    with harness.anchor(PORT + 1, WORKERS) as anchor_base:
        if anchor_base:
            harness.wrk(f"{anchor_base}/r/{code}", seconds=2, connections=8, headers=headers)
            floor = harness.wrk(
                f"{anchor_base}/r/{code}", seconds=SECONDS, connections=CONNECTIONS,
                headers=headers,
            )  # fmt: skip
    stored = Click.objects.count() - warm
    humans = Click.objects.filter(is_bot=False).count() - warm
    answered = clicks["requests"] - clicks["bad_status"]
    print(f"click redirect ({WORKERS} gunicorn sync workers, {CONNECTIONS} connections, "
          f"{SECONDS}s, PostgreSQL)")  # fmt: skip
    print(f"  clicks/s            {clicks['rate']:.0f}")
    print(f"  latency p50 / p99   {clicks['p50_ms']:.1f} ms / {clicks['p99_ms']:.1f} ms")
    print(f"  answered 302        {answered}  (errors: {clicks['socket_errors']} socket, "
          f"{clicks['bad_status']} bad status)")  # fmt: skip
    print(f"  rows stored         {stored} ({humans} as humans); lost: {max(0, answered - stored)}")
    print(f"  baseline (1 INSERT + 302)  {baseline['rate']:.0f}/s, "
          f"p50 {baseline['p50_ms']:.1f} ms, p99 {baseline['p99_ms']:.1f} ms")  # fmt: skip
    print(f"  ratio to baseline   {clicks['rate'] / baseline['rate']:.2f}")
    print(harness.ratio_line(f"anchor (bare_app.py, {WORKERS} workers)", clicks, floor))


if __name__ == "__main__":
    main()
