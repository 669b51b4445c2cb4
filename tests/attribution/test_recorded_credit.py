"""Every order's weights and cents, under every model, equal what was recorded before the
attribution rows changed shape (one row per order touch, each model in columns).

`tests/fixtures/recorded_credit.json` holds, per order, a digest of its attribution and refund
rows as the engine wrote them before the change: on the demo data (seeded at a fixed instant)
and on the reconciliation shop (multi-touch journeys across platforms, EUR and GBP orders
converted at day rates, partial and full refunds, a cancelled order, coupons, platform-only
revenue). Rows are keyed by what does not depend on the database (store and order ids as the
store sent them, posts by platform, link and publication time, clicks by post and time, default references by name), so the
digests are the same on SQLite and PostgreSQL.

To record again after a deliberate change of the rules: `RECORD_CREDIT=1 make test` (then read
the diff of the fixture).
"""

import hashlib
import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine

from analytics.seed import seed_demo
from attribution.models import RefundAttribution, RevenueAttribution
from omnisocial.models import Workspace
from tests.analytics.test_reconciliation import shop, today  # noqa: F401 - fixtures

RECORDED = Path(__file__).resolve().parent.parent / "fixtures" / "recorded_credit.json"
RECORDING = os.environ.get("RECORD_CREDIT") == "1"
DEMO_AT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


def _post(post) -> str:
    if post is None:
        return "-"
    return f"{post.platform}|{post.link_url}|{post.published_at:%Y-%m-%dT%H:%M:%S}"


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def _six(value) -> str:
    return f"{Decimal(value):.6f}"


def digests(workspace: Workspace) -> dict[str, str]:
    """{store domain/order id: sha256 of its attribution and refund rows, every model}."""
    lines: dict[str, list[str]] = {}
    rows = RevenueAttribution.objects.filter(workspace=workspace).select_related(
        "order__store", "post", "campaign", "click__post"
    )
    for row in rows:
        if row.click is not None:
            value = f"click:{_post(row.click.post)}@{row.click.clicked_at.isoformat()}"
        elif row.post is not None and row.matched_value == row.post.reference:
            value = "reference"  # post-<id> unless the post has its own
        else:
            value = row.matched_value
        key = f"{row.order.store.shop_domain}/{row.order.external_id}"
        lines.setdefault(key, []).append(
            "|".join([
                "sale", row.attribution_model, str(row.position), _post(row.post),
                row.campaign.slug if row.campaign else "-", row.platform, row.matched_field,
                value, row.touched_at.isoformat(), _six(row.attribution_weight),
                _money(row.gross_revenue), _money(row.refunded), _money(row.revenue),
                _six(row.units), row.order_day.isoformat(), str(row.is_fallback), row.currency,
            ])
        )  # fmt: skip
    refunds = RefundAttribution.objects.filter(workspace=workspace).select_related(
        "order__store", "refund", "post"
    )
    for row in refunds:
        key = f"{row.order.store.shop_domain}/{row.order.external_id}"
        lines.setdefault(key, []).append(
            "|".join([
                "refund", row.refund.external_id, row.attribution_model, str(row.position),
                _post(row.post), row.platform, row.day.isoformat(), _money(row.amount),
            ])
        )  # fmt: skip
    return {
        key: hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()[:20]
        for key, found in sorted(lines.items())
    }


def _compare(name: str, found: dict[str, str]) -> None:
    recorded = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
    if RECORDING:
        recorded[name] = found
        RECORDED.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"recorded {len(found)} orders of {name}")
    expected = recorded[name]
    changed = sorted(key for key in expected.keys() | found.keys()
                     if expected.get(key) != found.get(key))  # fmt: skip
    assert not changed, f"{len(changed)} orders' credit changed, e.g. {changed[:5]}"
    assert len(found) == len(expected)


@pytest.mark.django_db
def test_demo_orders_keep_their_recorded_credit():
    with time_machine.travel(DEMO_AT, tick=False):
        seed_demo(log=lambda _: None)
    workspace = Workspace.objects.get(slug="demo")
    found = digests(workspace)
    assert len(found) > 200  # most of the demo's 300 orders have a social touch
    _compare("demo", found)


def test_generated_shop_keeps_its_recorded_credit(shop):  # noqa: F811 - the fixture
    found = digests(shop["workspace"])
    assert len(found) > 40
    _compare("shop", found)
