"""Per-order cost of crediting a 3-touch order: weights and money split, for each model.

Run: .venv/bin/python bench/credit_micro.py
"""

import sys
import timeit
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from attribution.credit import MODELS, Touch, credit_for, credits_for  # noqa: E402


def main() -> None:
    order_at = datetime(2025, 3, 10, 12, tzinfo=UTC)
    touches = [
        Touch(key=101, post_id=101, touched_at=order_at - timedelta(days=9, hours=3), position=1),
        Touch(key=102, post_id=102, touched_at=order_at - timedelta(days=2), position=2),
        Touch(key=101, post_id=101, touched_at=order_at - timedelta(minutes=20), position=3),
    ]
    effects = {101: 0.42, 102: 0.17}
    amount = Decimal("129.99")
    number = 100_000

    def one(model):
        return lambda: credit_for(model, touches, order_at=order_at, removal_effects=effects).split(
            amount, "USD"
        )

    total = 0.0
    for model in MODELS:
        seconds = min(timeit.repeat(one(model), number=number, repeat=3)) / number
        total += seconds
        print(f"{model:>15}: {seconds * 1e6:6.2f} µs per order (weights + split)")
    print(f"{'sum of six':>15}: {total * 1e6:6.2f} µs per order")

    def all_six():
        for credit in credits_for(touches, order_at=order_at, removal_effects=effects).values():
            credit.split(amount, "USD")

    seconds = min(timeit.repeat(all_six, number=number // 6, repeat=3)) / (number // 6)
    print(f"{'credits_for x6':>15}: {seconds * 1e6:6.2f} µs per order, all six models")
    print(f"1,000,000 orders x 6 models: {seconds * 1e6:.1f} s of one core")


if __name__ == "__main__":
    main()
