"""`make run`'s supervisor (scripts/serve.py) starts the web server and the task worker and stops
both, and itself with status 0, on SIGTERM (Ctrl-C sends SIGINT, handled the same way)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}").exists() else ""
    return " Z " not in stat  # a zombie has exited


def test_the_web_server_and_the_worker_stop_together(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DEBUG": "true",
           "CACHE_URL": "", "DJANGO_SETTINGS_MODULE": "omnisocial.settings"}  # fmt: skip
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT, timeout=120)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve.py"),
                              f"127.0.0.1:{port}"], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as page:
                    assert page.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the web server did not start"
                time.sleep(0.5)
        children = _children(serve.pid)
        assert len(children) == 2  # runserver and qcluster
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(30) == 0
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if serve.poll() is None:
            serve.kill()
