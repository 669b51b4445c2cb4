"""A worker killed with SIGKILL in the middle of a recalculation: what it leaves is consistent,
and the next run starts at once and leaves consistent rows and rollups."""

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from attribution import engine
from attribution.models import AttributionState, Click, RevenueAttribution
from commerce.models import CommerceOrder, OrderLine, Refund
from tests.factories import PostFactory, StoreConnectionFactory, WorkspaceFactory
from tests.reliability.conftest import attribution_consistency_problems, postgresql_only

ROOT = Path(__file__).resolve().parents[2]
ORDERS = int(os.environ.get("FAULTS_RECALC_ORDERS", "4000"))


def generate(orders: int):
    """A workspace with 40 posts, `orders` orders each led by one to three clicks of its buyer,
    one line each, and a refund on one order in twenty."""
    rng = random.Random(20261125)
    workspace = WorkspaceFactory(reporting_currency="USD", time_zone="UTC")
    store = StoreConnectionFactory(workspace=workspace, currency="USD")
    posts = [
        PostFactory(workspace=workspace, link_url=f"https://{store.shop_domain}/p/{n}")
        for n in range(40)
    ]
    links = [post.links.get() for post in posts]
    start = datetime(2026, 3, 1, tzinfo=UTC)
    clicks, order_rows = [], []
    for n in range(orders):
        at = start + timedelta(minutes=7 * n)
        visitor = f"v{n:08d}"
        click_id = ""
        for t in range(rng.randint(1, 3)):
            index = rng.randrange(len(posts))
            click_id = f"k{n:07d}{t}"
            clicks.append(
                Click(workspace=workspace, link=links[index], post=posts[index],
                      click_id=click_id, visitor_id=visitor,
                      clicked_at=at - timedelta(hours=rng.randint(1, 200)), is_unique=True)
            )  # fmt: skip
        total = Decimal(rng.randint(1500, 25000)) / 100
        order_rows.append(
            CommerceOrder(workspace=workspace, store=store, external_id=str(n),
                          created_at=at, updated_at_source=at, currency="USD",
                          total_price=total, subtotal=total, reporting_currency="USD",
                          exchange_rate=Decimal(1), reporting_total=total, is_converted=True,
                          osc_click=click_id, visitor_id=visitor,
                          refunded_amount=Decimal("5.00") if n % 20 == 0 else Decimal(0))
        )  # fmt: skip
    Click.objects.bulk_create(clicks, batch_size=5000)
    created = CommerceOrder.objects.bulk_create(order_rows, batch_size=5000)
    OrderLine.objects.bulk_create(
        [OrderLine(order=o, external_id="1", quantity=1, price=o.total_price) for o in created],
        batch_size=5000,
    )
    Refund.objects.bulk_create(
        [Refund(order=o, external_id="r", amount=Decimal("5.00"),
                created_at=o.created_at + timedelta(days=2))
         for o in created if o.refunded_amount]
    )  # fmt: skip
    return workspace


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def recalculate(workspace, *args) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "recalculate_attribution", "--workspace", workspace.slug,
         *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def kill_when(process: subprocess.Popen, reached, timeout: float = 120) -> tuple[int, int]:
    """SIGKILLs the process once its progress bar satisfies `reached(done, total)`."""
    seen = {"progress": (0, 0)}
    hit = threading.Event()

    def watch():
        buffer = ""
        while chunk := os.read(process.stderr.fileno(), 4096):
            buffer = (buffer + chunk.decode(errors="replace"))[-400:]
            found = re.findall(r"(\d+)/(\d+) \[", buffer)
            if found:
                done, total = map(int, found[-1])
                seen["progress"] = (done, total)
                if total and reached(done, total):
                    process.send_signal(signal.SIGKILL)
                    hit.set()
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert hit.wait(timeout), f"the run ended before the kill point: {seen['progress']}"
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return seen["progress"]


def wait_for_the_session_to_end(workspace, timeout: float = 15) -> float:
    """PostgreSQL ends a killed client's session (and its advisory lock) as soon as it notices
    the closed socket: at once when idle, at the end of the statement it was running otherwise."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                "AND objid = %s",
                [engine.ADVISORY_LOCK_NAMESPACE, workspace.pk],
            )
            if cursor.fetchone()[0] == 0:
                return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError("the killed run's lock outlived it")


@postgresql_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["full", "since"])
def test_a_recalculation_killed_mid_way_leaves_consistent_rows_and_the_next_run_completes(mode):
    workspace = generate(ORDERS)
    args = ["--since", "2026-01-01"] if mode == "since" else []
    call_command("recalculate_attribution", "--workspace", workspace.slug, *args, stderr=StringIO())
    assert attribution_consistency_problems(workspace) == []
    rows_before = RevenueAttribution.objects.count()

    # Kill it in the second pass, once a batch of rows was written.
    killed = recalculate(workspace, *args)
    done, total = kill_when(killed, lambda done, total: done > total // 2)
    assert total == ORDERS and done < total
    waited = wait_for_the_session_to_end(workspace)

    # What the killed run left: per order, complete rows (a full rebuild commits once, at the
    # end, so the previous figures are untouched; a partial run commits batch by batch).
    problems = attribution_consistency_problems(workspace)
    if mode == "full":
        assert problems == []
        assert RevenueAttribution.objects.count() == rows_before
    else:
        assert not [p for p in problems if "weights" in p or "duplicate" in p]
    assert AttributionState.objects.get(workspace=workspace).lease_until is None

    # The next run is not refused and leaves everything consistent.
    again = recalculate(workspace, *args)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    assert attribution_consistency_problems(workspace) == []
    assert RevenueAttribution.objects.count() == rows_before
    attributed = RevenueAttribution.objects.values("order_id").distinct().count()
    assert attributed == ORDERS
    print(f"killed at {done}/{total}; lock gone {waited:.2f} s after the kill")


@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="PostgreSQL uses the advisory lock, not the lease"
)
@pytest.mark.django_db
def test_a_lease_left_by_a_killed_run_says_how_to_clear_it_and_expires():
    workspace = WorkspaceFactory()
    AttributionState.objects.create(
        workspace=workspace, lease_until=timezone.now() + timedelta(minutes=20)
    )
    with pytest.raises(CommandError, match="--release-lease"):
        call_command("recalculate_attribution", workspace=workspace.slug)
    call_command("recalculate_attribution", workspace=workspace.slug, release_lease=True)
    call_command("recalculate_attribution", workspace=workspace.slug)

    # An expired lease is taken over without help.
    AttributionState.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    call_command("recalculate_attribution", workspace=workspace.slug)
    assert AttributionState.objects.get().lease_until is None


@pytest.mark.skipif(
    connection.vendor == "postgresql",
    reason="PostgreSQL defers to the writers lock (tests/reliability/test_live_during_rebuild.py)",
)
@pytest.mark.django_db
def test_while_a_rebuild_holds_the_lease_an_order_waits_for_it_and_is_then_attributed():
    from attribution import engine
    from attribution.models import AttributionTouch, DeferredOrder
    from tests.analytics.conftest import order_record
    from tests.factories import PostFactory, StoreConnectionFactory

    store = StoreConnectionFactory()
    workspace = store.workspace
    post = PostFactory(workspace=workspace, reference="post-9")
    AttributionState.objects.create(  # a rebuild of the workspace is running (SQLite's lease)
        workspace=workspace, lease_until=timezone.now() + timedelta(minutes=20)
    )
    order = order_record(store, 1, at=timezone.now(), total="30.00", utm_content=post.reference)
    assert DeferredOrder.objects.filter(order=order).exists()
    assert not AttributionTouch.objects.filter(order=order).exists()

    # The rebuild ends (its lease released) and attributes what waited for it.
    AttributionState.objects.update(lease_until=None)
    engine.workspace_recalculate(workspace=workspace)
    assert not DeferredOrder.objects.exists()
    assert set(AttributionTouch.objects.filter(order=order).values_list("post_id", flat=True)) == {
        post.pk
    }
