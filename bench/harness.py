"""Shared benchmark plumbing: a fresh PostgreSQL database, gunicorn on loopback, wrk as the load.

Everything stays on 127.0.0.1 and every load run is bounded in time.
"""

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
PYTHON = sys.executable


def database_url(name: str) -> str:
    return f"{PG_ADMIN_URL}/{name}"


def empty_database(name: str) -> str:
    """Drops and creates `name`; returns its URL."""
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def fresh_database(name: str) -> str:
    """Drops and creates `name`, migrates it, adds the baseline table; returns its URL."""
    import psycopg

    url = empty_database(name)
    cache_empty()
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, at timestamptz, body text)"
        )
    return url


def cache_empty() -> None:
    """Empties the benchmark's Redis database: links cached by an earlier run name rows a fresh
    database does not have."""
    url = server_env("")["CACHE_URL"]
    if url:
        import redis

        redis.Redis.from_url(url).flushdb()


def migrate(url: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=server_env(url), check=True
    )


def server_env(url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
        # As deployed (docs/operations.md): the rate limits and the link cache in Redis, shared
        # by the workers. BENCH_CACHE_URL= (empty) measures each worker's own memory instead.
        "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/14"),
    }


def setup_django(url: str) -> None:
    os.environ.update(server_env(url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextmanager
def _served(app: str, port: int, workers: int, *, env: dict, probe: str, cwd=ROOT):
    """gunicorn serving `app` on 127.0.0.1:port with sync workers (one request per process at a
    time), ready once `probe` answers anything (redirects are not followed); stopped after."""
    process = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"), app, "--chdir", str(cwd),
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            "--worker-class", "sync", "--backlog", "2048", "--log-level", "warning",
        ],
        cwd=cwd, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", probe)
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"gunicorn serving {app} did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def gunicorn(url: str, port: int, workers: int = 4, extra_env: dict | None = None):
    """The project under gunicorn on 127.0.0.1:port, against the database at `url`."""
    env = {**server_env(url), **(extra_env or {})}
    with _served("omnisocial.wsgi:application", port, workers, env=env,
                 probe="/accounts/login/") as base:  # fmt: skip
        yield base


# The bare Django anchor (no middleware, no ORM: one INSERT and a 302 or a 200), from the
# workplace's anchors beside the project unless ANCHOR_APP names another copy.
ANCHOR_APP = Path(os.environ.get("ANCHOR_APP", ROOT.parent / "shared" / "anchors" / "bare_app.py"))
ANCHOR_SECRET = "anchor-secret"


@contextmanager
def anchor(port: int, workers: int):
    """The anchor app under gunicorn with the project's workers, against its own fresh database
    (tables `click` and `delivery`); yields its base URL, or None when the anchor is missing."""
    import psycopg

    if not ANCHOR_APP.exists():
        print(f"  (no anchor at {ANCHOR_APP}: set ANCHOR_APP to compare against it)")
        yield None
        return
    name = "omnisocial_bench_anchor"
    with psycopg.connect(empty_database(name), autocommit=True) as conn:
        conn.execute("CREATE TABLE click (id bigserial, code text, ua text, at timestamptz)")
        conn.execute("CREATE TABLE delivery (id bigserial, body text, at timestamptz)")
    env = {**os.environ, "ANCHOR_DB": name}
    with _served(f"{ANCHOR_APP.stem}:application", port, workers, env=env, probe="/r/warm",
                 cwd=ANCHOR_APP.parent) as base:  # fmt: skip
        yield base


SQL_ANCHORS = ANCHOR_APP.parent  # sql_attribution_narrow.sql, sql_attribution_wide.sql


def sql_anchor(name: str, orders: int) -> float | None:
    """Seconds the anchor script `name` spends in its timed statements (the sum of psql's
    `\\timing` lines) at `orders` orders, in its own fresh database; None when it is missing."""
    script = SQL_ANCHORS / name
    if not script.exists() or shutil.which("psql") is None:
        print(f"  (no anchor {script} or no psql: set ANCHOR_APP beside the SQL anchors)")
        return None
    url = empty_database("omnisocial_bench_anchor_sql")
    text = re.sub(r"^\\set n \d+$", f"\\\\set n {orders}", script.read_text(), flags=re.M)
    done = subprocess.run(["psql", "-X", "-q", url], input=text, capture_output=True, text=True,
                          check=True)  # fmt: skip
    return sum(float(ms) for ms in re.findall(r"^Time: ([\d.]+) ms", done.stdout, re.M)) / 1000


def ratio_line(label: str, ours: dict, floor: dict | None) -> str:
    if floor is None:
        return f"  {label}: no anchor in this run"
    return (f"  {label}: {floor['rate']:.0f}/s, p50 {floor['p50_ms']:.1f} ms, "
            f"p99 {floor['p99_ms']:.1f} ms; ratio {ours['rate'] / floor['rate']:.2f}x")  # fmt: skip


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is needed for the HTTP benchmarks: apt-get install wrk")
    return wrk


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *, seconds: int, connections: int = 32, threads: int = 2, script=None,
        headers: dict | None = None) -> dict:  # fmt: skip
    """Runs wrk and returns requests, rate, p50/p99 (ms), errors and non-2xx/3xx answers."""
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": requests,
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "bad_status": int(bad.group(1)) if bad else 0,
        "raw": out,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * _UNITS[unit]
