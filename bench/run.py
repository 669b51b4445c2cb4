"""`make bench`: runs every benchmark in turn and prints its figures."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "clicks.py", "commerce_webhooks.py", "attribution.py", "reads.py", "credit_micro.py",
    "store_import.py", "first_visit.py",
    "platform_backfill.py",
]  # fmt: skip


def main() -> int:
    failed = 0
    for name in BENCHMARKS:
        print(f"\n=== {name}", flush=True)
        failed += (
            subprocess.run([sys.executable, str(HERE / name)], cwd=HERE.parent).returncode != 0
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
