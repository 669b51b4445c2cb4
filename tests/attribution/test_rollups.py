"""The count rollups (DailyTotals, DailyClicks) always equal what the raw rows say."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.test import Client

from attribution import engine, rollups
from attribution.models import (
    Click,
    DailyClicks,
    DailyRevenue,
    DailyTotals,
    RefundAttribution,
    RevenueAttribution,
)
from commerce import services as commerce_services
from commerce.attribution_values import RefundData
from omnisocial.models import Post
from tests.attribution import test_engine
from tests.attribution.test_clicks import HUMAN_UA
from tests.attribution.test_engine import click, order_data
from tests.factories import PostFactory, StoreConnectionFactory, UserFactory, WorkspaceFactory

# The engine tests' workspace (New York time), store and two posts (one in a campaign).
workspace, store, posts = test_engine.workspace, test_engine.store, test_engine.posts


def raw_cells(workspace) -> dict[tuple, tuple[Decimal, Decimal]]:
    """DailyTotals as sums over the raw attribution and refund rows give it: credited orders are
    the touches' weights, none for an order fully refunded under the model:
    {(model, day, grouping, platform, campaign): (orders, revenue)}."""
    orders, revenue = defaultdict(Decimal), defaultdict(Decimal)
    sold, back = defaultdict(Decimal), defaultdict(Decimal)
    for model, order, refunded, net in RevenueAttribution.objects.filter(
        workspace=workspace
    ).values_list("attribution_model", "order_id", "refunded", "revenue"):
        back[(order, model)] += refunded
        sold[(order, model)] += net
    gone = {key for key in back if back[key] > 0 and sold[key] <= 0}

    def cells(model, day, platform, campaign):
        yield (model, day, DailyTotals.ALL, "", 0)
        yield (model, day, DailyTotals.PLATFORM, platform, 0)
        if campaign:
            yield (model, day, DailyTotals.CAMPAIGN, "", campaign)
            yield (model, day, DailyTotals.PLATFORM | DailyTotals.CAMPAIGN, platform, campaign)

    for model, day, platform, campaign, order, weight, gross in RevenueAttribution.objects.filter(
        workspace=workspace
    ).values_list("attribution_model", "order_day", "platform", "campaign_id", "order_id",
                  "attribution_weight", "gross_revenue"):  # fmt: skip
        for cell in cells(model, day, platform, campaign):
            revenue[cell] += gross
            if (order, model) not in gone:
                orders[cell] += weight
    for model, day, platform, campaign, amount in RefundAttribution.objects.filter(
        workspace=workspace
    ).values_list("attribution_model", "day", "platform", "campaign_id", "amount"):
        for cell in cells(model, day, platform, campaign):
            revenue[cell] -= amount
    return {
        cell: (orders[cell], revenue[cell])
        for cell in set(orders) | set(revenue)
        if orders[cell] or revenue[cell]
    }


def stored_cells(workspace) -> dict[tuple, tuple[int, Decimal]]:
    return {
        cell[:5]: cell[5:]
        for cell in DailyTotals.objects.filter(workspace=workspace).values_list(
            "attribution_model", "day", "grouping", "platform", "campaign_key", "orders", "revenue"
        )
        if cell[5] or cell[6]
    }


def test_daily_totals_equal_the_raw_credited_orders_after_each_change_and_a_rebuild(store, posts):
    a, b = posts
    workspace = store.workspace
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    base = datetime(2026, 11, 10, 12, tzinfo=UTC)
    saved = []
    for n in range(6):
        at = base + timedelta(hours=7 * n)
        # Orders 0, 2, 4 come from a visitor who clicked both posts (two platforms, a campaign);
        # the others from one click on the campaign-less post.
        first = click(visitor if n % 2 == 0 else Client(HTTP_USER_AGENT=HUMAN_UA), b,
                      at - timedelta(hours=2))  # fmt: skip
        last = click(visitor, a, at - timedelta(hours=1)) if n % 2 == 0 else first
        refunds = [RefundData(f"r{n}", Decimal("5.00"), at + timedelta(days=2))] if n < 2 else []
        data = order_data(n, at=at, total=f"{40 + n}.00", osc_click=last, refunds=refunds)
        saved.append((data, commerce_services.order_save(store=store, data=data)))
        engine.order_attribute(order_id=saved[-1][1].pk)
        assert stored_cells(workspace) == raw_cells(workspace)
    assert stored_cells(workspace)[("multi-touch", date(2026, 11, 10), 0, "", 0)] == (
        3,
        Decimal("123.00"),
    )
    # Both refunds on the 12th, a day with no order: revenue moves, the order counts do not.
    assert stored_cells(workspace)[("multi-touch", date(2026, 11, 12), 0, "", 0)] == (
        0,
        Decimal("-10.00"),
    )

    # A cancelled order leaves every count it was in; re-attributing changes nothing more.
    data, order = saved[0]
    data.cancelled_at = data.updated_at = base + timedelta(days=1)
    commerce_services.order_save(store=store, data=data)
    for _ in range(2):
        engine.order_attribute(order_id=order.pk)
        assert stored_cells(workspace) == raw_cells(workspace)

    # A fully refunded order no longer counts as an order (its sale and refund still book).
    data, order = saved[3]
    day = order.created_at.astimezone(workspace.zone).date()
    counted = stored_cells(workspace)[("last-touch", day, 0, "", 0)][0]
    data.refunds = [RefundData("r3", Decimal("43.00"), data.created_at + timedelta(days=1))]
    data.updated_at += timedelta(days=1)
    commerce_services.order_save(store=store, data=data)
    engine.order_attribute(order_id=order.pk)
    assert stored_cells(workspace) == raw_cells(workspace)
    assert stored_cells(workspace)[("last-touch", day, 0, "", 0)][0] == counted - 1

    before = stored_cells(workspace)
    engine.workspace_recalculate(workspace=workspace)
    assert stored_cells(workspace) == raw_cells(workspace)
    assert {k: v for k, v in before.items() if k[0] != "data-driven"} == {
        k: v for k, v in stored_cells(workspace).items() if k[0] != "data-driven"
    }


def test_totals_read_the_cell_of_their_filters(store, posts):
    a, b = posts
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    at = datetime(2026, 11, 10, 12, tzinfo=UTC)
    click(visitor, b, at - timedelta(hours=2))
    last = click(visitor, a, at - timedelta(hours=1))
    order = commerce_services.order_save(store=store, data=order_data(1, at=at, osc_click=last))
    engine.order_attribute(order_id=order.pk)
    day = date(2026, 11, 10)

    def count(**filters):
        found = rollups.totals(store.workspace, model="multi-touch", start=day, end=day,
                               **filters)  # fmt: skip
        if filters.get("by"):
            return {platform: cell["orders"] for platform, cell in found.items() if cell["orders"]}
        return found["orders"]

    # One order touching two platforms counts once overall and half in each platform (its
    # multi-touch weights), so the platforms add up to the total.
    assert count() == 1
    assert count(by=("platform",)) == {"instagram": Decimal("0.5"), "tiktok": Decimal("0.5")}
    assert count(platform="tiktok") == Decimal("0.5")
    assert count(campaign_id=a.campaign_id) == Decimal("0.5")
    assert count(platform="tiktok", campaign_id=a.campaign_id) == 0
    assert count(platform="instagram", campaign_id=a.campaign_id, by=("platform",)) == {
        "instagram": Decimal("0.5")
    }
    assert rollups.totals(store.workspace, model="last-touch", start=day, end=day,
                          platform="tiktok")["orders"] == 0  # fmt: skip


def raw_unique_clicks(workspace, start, end, **post):
    zone = workspace.zone
    return Click.objects.filter(
        workspace=workspace, is_bot=False, is_unique=True,
        clicked_at__gte=datetime.combine(start, datetime.min.time(), tzinfo=zone),
        clicked_at__lt=datetime.combine(end + timedelta(1), datetime.min.time(), tzinfo=zone),
        **{f"post__{k}": v for k, v in post.items()},
    ).count()  # fmt: skip


@pytest.mark.parametrize("rebuild", [False, True])
def test_unique_clicks_are_exact_before_during_and_after_each_roll_up(store, posts, rebuild):
    a, b = posts
    workspace = store.workspace  # America/New_York
    other = WorkspaceFactory()
    shop = StoreConnectionFactory(workspace=other).shop_domain
    stranger = PostFactory(workspace=other, link_url=f"https://{shop}/x")
    days = (date(2026, 11, 9), date(2026, 11, 10))

    def some_clicks(hour):
        visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
        # 03:30 UTC is the evening before in New York: the day is cut in the workspace's zone.
        at = datetime(2026, 11, 10, hour, 30, tzinfo=UTC)
        click(visitor, a, at)
        click(visitor, a, at + timedelta(minutes=1))  # a repeat: not unique
        click(Client(HTTP_USER_AGENT=HUMAN_UA), b, at)
        Client(HTTP_USER_AGENT="facebookexternalhit/1.1").get(f"/r/{a.links.get().code}")
        click(Client(HTTP_USER_AGENT=HUMAN_UA), stranger, at)  # another workspace's

    def assert_exact():
        for start, end in ((days[0], days[0]), (days[1], days[1]), days):
            assert rollups.unique_clicks(workspace, start=start, end=end) == raw_unique_clicks(
                workspace, start, end
            )
            assert rollups.unique_clicks(
                workspace, start=start, end=end, posts={"platform": "instagram"}
            ) == raw_unique_clicks(workspace, start, end, platform="instagram")
        assert rollups.unique_clicks(workspace, start=days[0], end=days[1], by="pk") == {
            a.pk: raw_unique_clicks(workspace, *days, pk=a.pk),
            b.pk: raw_unique_clicks(workspace, *days, pk=b.pk),
        }
        # Every day, in one statement (PostRevenue's reader); another workspace's post has none.
        every_day = {
            a.pk: raw_unique_clicks(workspace, *days, pk=a.pk),
            b.pk: raw_unique_clicks(workspace, *days, pk=b.pk),
        }
        assert rollups.post_unique_clicks(workspace, [a.pk, b.pk, stranger.pk]) == every_day
        # A mark read before a roll-up moved it (as the live path reads it, with its rows) is
        # read again rather than counting the rolled-up clicks twice.
        assert rollups.post_unique_clicks(workspace, [a.pk, b.pk], mark=0) == every_day

    clock = datetime.now(UTC)

    def at_minute(minute, action):
        with time_machine.travel(clock + timedelta(minutes=minute), tick=False):
            return action(workspace=workspace)

    some_clicks(3)
    assert_exact()
    assert rollups.unique_clicks(workspace, start=days[0], end=days[0]) == 2
    at_minute(1, rollups.clicks_roll_up)  # sees them; takes them once that sighting has settled
    assert not DailyClicks.objects.filter(workspace=workspace).exists()
    assert_exact()
    some_clicks(15)
    assert_exact()
    # Ten seconds later the sighting is too fresh: a click given a lower id may be in flight.
    with time_machine.travel(clock + timedelta(minutes=1, seconds=10), tick=False):
        assert rollups.clicks_roll_up(workspace=workspace) == 0
    at_minute(2, rollups.clicks_rebuild if rebuild else rollups.clicks_roll_up)
    assert_exact()
    assert DailyClicks.objects.filter(workspace=workspace).count() == 2  # one day, two posts
    at_minute(3, rollups.clicks_roll_up)
    at_minute(4, rollups.clicks_roll_up)
    assert_exact()
    assert sorted(
        DailyClicks.objects.filter(workspace=workspace).values_list("day", "post_id", "clicks")
    ) == sorted([(days[0], a.pk, 1), (days[0], b.pk, 1), (days[1], a.pk, 1), (days[1], b.pk, 1)])
    assert not DailyClicks.objects.filter(workspace=other).exists()
    assert rollups.unique_clicks(other, start=days[0], end=days[1]) == 2


def test_the_dashboard_counts_equal_raw_counts_under_filters(store, posts, api_client):
    a, b = posts
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    now = datetime.now(UTC).replace(microsecond=0)
    click(visitor, b, now - timedelta(hours=3))
    last = click(visitor, a, now - timedelta(hours=2))
    order = commerce_services.order_save(
        store=store, data=order_data(1, at=now - timedelta(hours=1), osc_click=last)
    )
    engine.order_attribute(order_id=order.pk)
    rollups.clicks_roll_up(workspace=store.workspace)  # sees the clicks
    rollups.clicks_roll_up(workspace=store.workspace, settle=timedelta(0))  # takes them
    click(Client(HTTP_USER_AGENT=HUMAN_UA), b, now - timedelta(minutes=30))  # past the mark
    # Multi-touch gives each platform half the order: credited orders sum to the one order.
    for query, orders, clicks in (("", "1.000000", 3), ("&platform=tiktok", "0.500000", 2),
                                  ("&platform=instagram", "0.500000", 1)):  # fmt: skip
        body = api_client.get(f"/commerce/revenue/dashboard?model=multi-touch{query}").json()
        assert body["conversionFunnel"]["purchases"] == orders, query
        assert body["conversionFunnel"]["clicks"] == clicks, query
        assert body["orders"]["value"] == orders, query
        platforms = {row["platform"]: row["orders"] for row in body["revenueByPlatform"]}
        assert platforms[query.rpartition("=")[2] or "tiktok"] == "0.500000", query
    assert Decimal(body["totalSocialRevenue"]["value"]) > 0


def test_a_roll_up_committing_mid_count_does_not_count_its_clicks_twice(store, posts, monkeypatch):
    a, b = posts
    workspace = store.workspace
    at = datetime(2026, 11, 10, 15, tzinfo=UTC)
    for post in (a, b, a):
        click(Client(HTTP_USER_AGENT=HUMAN_UA), post, at)
    rollups.clicks_roll_up(workspace=workspace)  # sees the three clicks
    day = date(2026, 11, 10)
    assert rollups.unique_clicks(workspace, start=day, end=day) == 3

    read_mark, interleaved = rollups.clicks._mark, []

    def mark_then_roll_up(workspace):
        mark = read_mark(workspace)
        if not interleaved:  # another worker's roll-up commits right after the mark is read
            interleaved.append(rollups.clicks_roll_up(workspace=workspace, settle=timedelta(0)))
        return mark

    monkeypatch.setattr(rollups.clicks, "_mark", mark_then_roll_up)
    assert rollups.unique_clicks(workspace, start=day, end=day) == 3
    assert interleaved == [3]  # the roll-up did take them in between


def test_deleting_a_post_or_an_order_in_the_admin_brings_every_rollup_level(
    store, posts, django_capture_on_commit_callbacks
):
    a, b = posts
    workspace = store.workspace
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    at = datetime(2026, 11, 10, 15, tzinfo=UTC)
    orders = []
    for n in range(3):
        click(visitor, b, at - timedelta(hours=2))
        last = click(visitor, a, at - timedelta(hours=1))
        order = commerce_services.order_save(
            store=store, data=order_data(n, at=at + timedelta(minutes=n), osc_click=last)
        )
        engine.order_attribute(order_id=order.pk)
        orders.append(order)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    def assert_level():
        assert stored_cells(workspace) == raw_cells(workspace)
        daily = DailyRevenue.objects.filter(workspace=workspace).aggregate(s=Sum("revenue"))["s"]
        raw = RevenueAttribution.objects.filter(workspace=workspace).aggregate(s=Sum("revenue"))
        assert daily == raw["s"]
        for post in Post.objects.filter(workspace=workspace):
            assert rollups.unique_clicks(workspace, start=date(2026, 11, 10),
                                         end=date(2026, 11, 10), posts={"pk": post.pk}) == (
                Click.objects.filter(post=post, is_bot=False, is_unique=True).count()
            )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/omnisocial/post/{a.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not RevenueAttribution.objects.filter(post_id=a.pk).exists()
    # Last touch credited the deleted post: nothing credited remains on that day.
    assert ("last-touch", date(2026, 11, 10), 0, "", 0) not in stored_cells(workspace)
    assert ("first-touch", date(2026, 11, 10), 0, "", 0) in stored_cells(workspace)
    assert_level()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/commerce/commerceorder/",
            {"action": "delete_selected", "_selected_action": [orders[0].pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert_level()


def test_deleting_a_campaign_through_the_api_rebuilds_the_rollups_as_the_admin_does(
    store, posts, django_capture_on_commit_callbacks
):
    """The campaign's figures move to "No campaign" on every level at once (the API's delete
    used to skip the rebuild that only the admin ran)."""
    from tests.analytics.conftest import key_client

    a, _ = posts
    workspace = store.workspace
    last = click(Client(HTTP_USER_AGENT=HUMAN_UA), a, datetime(2026, 11, 10, 14, tzinfo=UTC))
    order = commerce_services.order_save(
        store=store, data=order_data(1, at=datetime(2026, 11, 10, 15, tzinfo=UTC), osc_click=last)
    )
    engine.order_attribute(order_id=order.pk)
    campaign_id = a.campaign_id
    day = order.created_at.astimezone(workspace.zone).date()
    assert ("last-touch", day, DailyTotals.CAMPAIGN, "", campaign_id) in stored_cells(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = key_client(workspace).delete(f"/api/campaigns/{campaign_id}")
    assert response.status_code == 204
    assert not any(cell[4] == campaign_id for cell in stored_cells(workspace))
    assert stored_cells(workspace) == raw_cells(workspace)
    segments = (
        key_client(workspace)
        .get(f"/commerce/segments?by=campaign&from={day}&to={day}&model=last-touch")
        .json()["results"]
    )
    assert [(row["segment"], row["label"]) for row in segments] == [("", "No campaign")]
