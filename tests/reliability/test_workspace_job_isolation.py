"""Scheduled jobs over every workspace: one workspace's bad row fails that workspace only. The
job logs the exception with the workspace, goes on with the next one and reports which failed.

The bad rows are written around validation (`.update()`), as rows stored before it existed."""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client

from analytics.kpis import services as analytics_services
from analytics.models import Alert
from attribution import tasks
from attribution.models import AttributionTouch, DailyClicks, RevenueAttribution
from commerce.models import CommerceOrder
from omnisocial.models import Workspace
from tests.analytics.conftest import order_record
from tests.attribution.test_clicks import HUMAN_UA
from tests.attribution.test_engine import click
from tests.factories import (
    DailyRevenueFactory,
    PostFactory,
    StoreConnectionFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

NOV_10 = datetime(2026, 11, 10, 12, tzinfo=UTC)
YEAR_ONE = datetime(1, 1, 1, tzinfo=UTC)
NO_SUCH_ZONE = (
    "zoneinfo._common.ZoneInfoNotFoundError: 'No time zone found with key Mars/Olympus_Mons'"
)


def shop_with_an_order(name: str, n: int):
    """A workspace (named so that it sorts by name as by id) with one attributed order."""
    workspace = WorkspaceFactory(name=name, slug=name.lower().replace(" ", "-"))
    store = StoreConnectionFactory(workspace=workspace, shop_domain=f"{workspace.slug}.example")
    post = PostFactory(workspace=workspace, reference=f"post-{n}")
    order = order_record(store, n, at=NOV_10, total="40.00", utm_content=post.reference)
    return workspace, order


def test_the_nightly_recalculation_goes_on_past_a_failing_workspace(caplog):
    bad, _ = shop_with_an_order("A broken shop", 1)
    good, order = shop_with_an_order("B good shop", 2)
    Workspace.objects.filter(pk=bad.pk).update(time_zone="Mars/Olympus_Mons")
    # An order dated in year one is attributed like any other (its lookback has no start).
    CommerceOrder.objects.filter(pk=order.pk).update(created_at=YEAR_ONE)
    AttributionTouch.objects.filter(order=order).delete()  # the rebuild must bring it back

    with caplog.at_level(logging.ERROR, logger="omnisocial.jobs"):
        report = tasks.recalculate_all_workspaces()

    assert report["failed"] == {"a-broken-shop": NO_SUCH_ZONE}
    assert set(report["done"]) == {"b-good-shop"}
    assert report["done"]["b-good-shop"]["orders"] == 1
    days = RevenueAttribution.objects.filter(order=order).values_list("order_day", flat=True)
    assert set(days) == {YEAR_ONE.date()}
    [record] = caplog.records
    assert record.getMessage() == (
        f"nightly recalculation failed for workspace a-broken-shop (id {bad.pk})"
    )
    assert record.exc_info[0].__name__ == "ZoneInfoNotFoundError"


def test_the_incremental_pass_goes_on_past_a_failing_workspace():
    bad, _ = shop_with_an_order("A broken shop", 1)
    _, order = shop_with_an_order("B good shop", 2)
    Workspace.objects.filter(pk=bad.pk).update(time_zone="Mars/Olympus_Mons")
    # Changes whose tasks were lost: the pass must re-attribute both shops' orders.
    CommerceOrder.objects.update(attributed_at=None)
    AttributionTouch.objects.filter(order=order).delete()

    report = tasks.attribute_changed_orders()

    assert report == {"done": 1, "failed": {"a-broken-shop": NO_SUCH_ZONE}}
    assert RevenueAttribution.objects.filter(order=order).exists()


def test_the_recalculation_command_rebuilds_the_others_and_ends_in_an_error_naming_the_failed():
    bad, _ = shop_with_an_order("A broken shop", 1)
    shop_with_an_order("B good shop", 2)
    Workspace.objects.filter(pk=bad.pk).update(time_zone="Mars/Olympus_Mons")
    out = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("recalculate_attribution", stdout=out, stderr=StringIO())

    assert str(raised.value) == f"a-broken-shop: failed: {NO_SUCH_ZONE}"
    assert out.getvalue() == "b-good-shop: 1 orders, 6 attribution rows.\n"  # one per model


def test_the_click_roll_up_goes_on_past_a_failing_workspace():
    workspaces = []
    for name in ("A broken shop", "B good shop"):
        workspace = WorkspaceFactory(name=name, slug=name.lower().replace(" ", "-"))
        shop = StoreConnectionFactory(workspace=workspace, shop_domain=f"{workspace.slug}.example")
        post = PostFactory(workspace=workspace, link_url=f"https://{shop.shop_domain}/p")
        click(Client(HTTP_USER_AGENT=HUMAN_UA), post, NOV_10)
        workspaces.append(workspace)
    # A time zone that no longer exists, stored around the model's validator.
    Workspace.objects.filter(pk=workspaces[0].pk).update(time_zone="Mars/Olympus_Mons")
    clock = datetime.now(UTC)

    with time_machine.travel(clock, tick=False):
        tasks.clicks_roll_up_all()  # notes both workspaces' clicks, takes them once settled
    with time_machine.travel(clock + timedelta(minutes=1), tick=False):
        report = tasks.clicks_roll_up_all()  # takes them

    assert report == {"done": 1, "failed": {"a-broken-shop": NO_SUCH_ZONE}}
    assert list(DailyClicks.objects.values_list("workspace__slug", "clicks")) == [
        ("b-good-shop", 1)
    ]


def test_check_kpis_checks_the_other_workspaces_and_ends_in_an_error_naming_the_failed(capsys):
    bad = WorkspaceFactory(name="A broken shop", slug="a-broken-shop")
    good = WorkspaceFactory(name="B good shop", slug="b-good-shop")
    for workspace in (bad, good):
        for day in range(1, 10):
            DailyRevenueFactory(
                workspace=workspace, day=NOV_10.date().replace(day=day), revenue=Decimal("50")
            )
        analytics_services.kpi_create(
            workspace=workspace, name="November", target=Decimal("3000.00")
        )
    Workspace.objects.filter(pk=bad.pk).update(time_zone="Mars/Olympus_Mons")

    with time_machine.travel(NOV_10, tick=False), pytest.raises(CommandError) as raised:
        call_command("check_kpis")

    out, err = capsys.readouterr()
    assert out == "b-good-shop: [critical] November is falling behind its target\n1 alert raised.\n"
    assert err == f"a-broken-shop: failed: {NO_SUCH_ZONE}\n"
    assert str(raised.value) == "The check failed for 1 workspace: a-broken-shop."
    assert list(Alert.objects.values_list("workspace__slug", flat=True)) == ["b-good-shop"]
