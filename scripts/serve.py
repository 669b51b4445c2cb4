"""`make run`'s processes: the web server and the task worker, started together and stopped
together. Ctrl-C (SIGINT), SIGTERM, or the end of `make` itself stops both and exits 0; if one of
them dies, the other is stopped and its exit status is passed on.

Usage: python scripts/serve.py HOST:PORT
"""

import contextlib
import ctypes
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1
GRACE = 10  # seconds each process gets to stop before it is killed


def _die_with_parent() -> None:
    """Linux: SIGTERM this process when `make` (its parent) ends, however it ends."""
    # Elsewhere a killed make may leave these running, as any shell job would.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def main(address: str) -> int:
    _die_with_parent()
    manage = [sys.executable, str(ROOT / "manage.py")]
    children = [
        subprocess.Popen([*manage, "qcluster"]),
        subprocess.Popen([*manage, "runserver", "--noreload", address]),
    ]
    stopping = False

    def stop(signum=None, frame=None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    while not stopping:
        for child in children:
            code = child.poll()
            if code is not None:
                status, stopping = code, True
        if not stopping:
            time.sleep(0.2)
    for child in children:
        if child.poll() is None:  # Ctrl-C in a terminal has reached them already
            child.terminate()  # SIGTERM: both stop cleanly on it
    for child in children:
        try:
            child.wait(GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return status if status > 0 else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/serve.py HOST:PORT")
    sys.exit(main(sys.argv[1]))
