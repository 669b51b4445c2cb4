"""The first visit of the chart pages (Analytics › Revenue, Post Analytics) in a headless
Chromium with an empty cache, over an emulated network, with the full plotly.js bundle and with
the partial one the pages now load: the time until the charts are drawn, median of runs.

Run: `.venv/bin/python bench/first_visit.py` (BENCH_RUNS=5, BENCH_DOWN_MBPS=10, BENCH_RTT_MS=40).
It seeds the demo into a scratch SQLite database and serves it with gunicorn on loopback.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
DOWN_MBPS = float(os.environ.get("BENCH_DOWN_MBPS", "10"))
RTT_MS = float(os.environ.get("BENCH_RTT_MS", "40"))
PORT = int(os.environ.get("BENCH_PORT", "8131"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def env(database: Path, partial: bool) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "PLOTLY_PARTIAL": "true" if partial else "false",
        "LOG_LEVEL": "WARNING",
    }


def serve(database: Path, partial: bool) -> subprocess.Popen:
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "omnisocial.wsgi:application", "--bind",
         f"127.0.0.1:{PORT}", "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env=env(database, partial),
    )  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/accounts/login/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def first_visits(post_path: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{PORT}"
    timings: dict[str, list[float]] = {"revenue": [], "post": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(RUNS):
            for name, path in (("revenue", "/analytics/revenue/"), ("post", post_path)):
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                page = context.new_page()
                page.goto(f"{base}/accounts/login/")
                page.fill("input[name=username]", "demo@example.com")
                page.fill("input[name=password]", "demo")
                page.click("button[type=submit]")
                page.wait_for_url("**/analytics/revenue/")
                page.goto(f"{base}/accounts/login/")  # leave the charts before timing
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
                cdp.send("Network.emulateNetworkConditions", {
                    "offline": False, "latency": RTT_MS,
                    "downloadThroughput": DOWN_MBPS * 1_000_000 / 8,
                    "uploadThroughput": DOWN_MBPS * 1_000_000 / 8,
                })  # fmt: skip
                started = time.perf_counter()
                page.goto(f"{base}{path}", wait_until="commit")
                page.wait_for_selector(".plotly svg.main-svg", timeout=60_000)
                timings[name].append(time.perf_counter() - started)
                context.close()
        browser.close()
    return timings


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "first_visit.sqlite3"
        for command in (["migrate", "-v0"], ["seed_demo"]):
            subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, check=True,
                           env=env(database, True), stdout=subprocess.DEVNULL)  # fmt: skip
        post_id = subprocess.run(
            [PYTHON, "manage.py", "shell", "--no-imports", "-v", "0", "-c",
             "from omnisocial.models import Post; print(Post.objects.order_by('pk').first().pk)"],
            cwd=ROOT, env=env(database, True), check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        print(f"first visit, empty cache, {DOWN_MBPS:g} Mbit/s and {RTT_MS:g} ms round trip, "
              f"median of {RUNS} (seconds until the charts are drawn):")  # fmt: skip
        results = {}
        for partial in (False, True):
            server = serve(database, partial)
            try:
                results[partial] = first_visits(f"/analytics/posts/{post_id}/")
            finally:
                server.terminate()
                server.wait()
        for name in ("revenue", "post"):
            before = statistics.median(results[False][name])
            after = statistics.median(results[True][name])
            print(f"  {name:8} full bundle {before:6.2f} s   partial bundle {after:6.2f} s   "
                  f"({before / after:.1f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
