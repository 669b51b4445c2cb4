"""Two worker clusters in separate processes on the Redis broker share a burst of deliveries:
every order and every attribution row exists exactly once (bench/multi_worker.py, smaller)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.conftest import ON_POSTGRESQL

ROOT = Path(__file__).resolve().parents[2]


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.multi_worker
@pytest.mark.skipif(not ON_POSTGRESQL, reason="needs PostgreSQL: workers on several hosts share it")
@pytest.mark.skipif(not redis_up(), reason="needs Redis on 127.0.0.1:6379 (CI starts one)")
def test_two_clusters_on_redis_process_a_burst_exactly_once():
    env = {
        **os.environ,
        "BENCH_DELIVERIES": os.environ.get("FAULTS_WORKER_DELIVERIES", "200"),
        "BENCH_DB_NAME": "omnisocial_test_workers",
        "BENCH_REDIS_URL": "redis://127.0.0.1:6379/12",
        "BENCH_PORT": "8074",
        "BENCH_TIMEOUT": "150",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "bench/multi_worker.py"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    summary = "\n".join(line for line in done.stdout.splitlines() if "[Q]" not in line)
    assert done.returncode == 0, summary + done.stderr[-3000:]
    assert summary.rstrip().endswith("OK")
