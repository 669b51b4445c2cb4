from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import F, Q
from django.utils import timezone

from analytics.seed import seed_demo
from attribution.models import Click
from commerce.models import CommerceOrder, Coupon, Refund
from omnisocial.models import PostMetrics, Workspace

pytestmark = pytest.mark.django_db


def test_the_demo_store_is_seeded_once_through_the_ingestion_service():
    seed_demo(log=lambda _: None)
    seed_demo(log=lambda _: None)
    orders = CommerceOrder.objects.filter(store__shop_domain="demo-boutique.myshopify.com")
    assert orders.count() == 300
    assert orders.filter(currency="EUR", is_converted=True).count() == 1
    assert orders.filter(currency="CHF", is_converted=False).count() == 1
    assert orders.filter(refunded_amount__gt=0).count() == 13
    assert orders.exclude(coupon_codes=[]).count() == 15
    # An order from a post carries the id of a real demo click on it made before the order,
    # whenever the post has one (how many do depends on the clock the demo is seeded at).
    from attribution.models import Click

    carried = orders.exclude(osc_click="")
    assert carried.count() > 100
    for order in carried:
        click = Click.objects.get(click_id=order.osc_click)
        assert (click.post.reference, click.clicked_at <= order.created_at) == (
            order.utm_content, True,
        )  # fmt: skip
    for order in orders.filter(osc_click="").exclude(utm_content=""):
        assert not Click.objects.filter(
            post__reference=order.utm_content, clicked_at__lte=order.created_at, is_bot=False,
            workspace=order.workspace,
        ).exists(), order  # fmt: skip
    assert Coupon.objects.get().posts.count() == 9


@pytest.mark.parametrize(
    "local_clock",
    [
        datetime(2026, 3, 10, 12, 0),  # midday in the demo workspace's zone
        datetime(2026, 3, 10, 23, 30),  # late evening there: already tomorrow in UTC
    ],
)
def test_the_demo_never_dates_anything_after_the_moment_it_is_seeded(local_clock):
    zone = ZoneInfo("America/New_York")  # the demo workspace's time zone
    with time_machine.travel(local_clock.replace(tzinfo=zone), tick=False):
        seed_demo(log=lambda _: None)
        now = timezone.now()
    workspace = Workspace.objects.get(slug="demo")
    today = timezone.localdate(now, timezone=workspace.zone)
    orders = CommerceOrder.objects.filter(workspace=workspace)
    assert orders.count() == 300
    late = orders.filter(Q(created_at__gt=now) | Q(updated_at_source__gt=now))
    assert list(late.values_list("external_id", flat=True)) == []
    refunds = Refund.objects.filter(order__workspace=workspace)
    assert refunds.count() == 13
    assert list(refunds.filter(created_at__gt=now).values_list("external_id", flat=True)) == []
    assert refunds.filter(created_at__lt=F("order__created_at")).count() == 0
    clicks = Click.objects.filter(workspace=workspace)
    assert clicks.exists()
    assert clicks.filter(clicked_at__gt=now).count() == 0
    posts = workspace.posts.all()
    assert posts.count() == 36
    assert posts.filter(published_at__gt=now).count() == 0
    metrics = PostMetrics.objects.filter(post__workspace=workspace)
    assert metrics.exists()
    assert metrics.filter(day__gt=today).count() == 0


@pytest.mark.django_db(transaction=True)  # real commits: the orders' on_commit hooks run
def test_seed_demo_prints_one_line_and_leaves_no_task_per_order(capsys):
    from django.core.management import call_command
    from django_q.conf import Conf
    from django_q.models import OrmQ

    Conf.SYNC = False  # as under `make run`: tasks go to the broker for the worker
    try:
        call_command("seed_demo")
    finally:
        Conf.SYNC = True
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("Demo ready:"), out
    # The seeding re-attributed the whole workspace itself: no attribute_order task is queued.
    assert not [task for task in OrmQ.objects.all() if "attribute_order" in str(task.func())]
