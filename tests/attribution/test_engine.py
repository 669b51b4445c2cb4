"""The attribution engine through the real path: redirect clicks, signed webhooks, rollups."""

import json
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from attribution import engine
from attribution.models import (
    AttributionTouch,
    DailyRevenue,
    PostRevenue,
    RefundAttribution,
    RevenueAttribution,
    VisitorIdentity,
)
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData, RefundData
from commerce.models import CommerceOrder
from tests.attribution.test_clicks import HUMAN_UA
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import CampaignFactory, PostFactory, StoreConnectionFactory, WorkspaceFactory

ORDER_AT = datetime(2026, 11, 20, 15, 15, 42, tzinfo=UTC)  # the fixture's 10:15:42-05:00


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(time_zone="America/New_York", reporting_currency="USD")


@pytest.fixture
def store(workspace):
    return StoreConnectionFactory(workspace=workspace)


@pytest.fixture
def posts(workspace, store):
    campaign = CampaignFactory(workspace=workspace, slug="summer-sale")
    shop = f"https://{store.shop_domain}"
    a = PostFactory(workspace=workspace, platform="instagram", campaign=campaign,
                    reference="post-17", link_url=f"{shop}/products/linen-shirt")  # fmt: skip
    b = PostFactory(workspace=workspace, platform="tiktok", link_url=f"{shop}/products/tote")
    return a, b


def click(visitor: Client, post, at: datetime) -> str:
    with time_machine.travel(at, tick=False):
        response = visitor.get(f"/r/{post.links.get().code}")
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["osc_click"][0]


def shopify_order(click_id: str, **changes) -> bytes:
    payload = json.loads(fixture_bytes("shopify_order_create.json"))
    for attribute in payload["note_attributes"]:
        if attribute["name"] == "osc_click":
            attribute["value"] = click_id
    payload["landing_site"] = payload["landing_site"].replace("c_8f2a61d0", click_id)
    payload.update(changes)
    return json.dumps(payload).encode()


def deliver(store, body, capture, **headers):
    with capture(execute=True):
        response = Client().post(
            url(store), body, content_type="application/json",
            **shopify_headers(store, body, **headers),
        )  # fmt: skip
    assert response.status_code == 200


def rows(order, model):
    return [
        (r.post_id, r.matched_field, str(r.attribution_weight), str(r.revenue), r.is_fallback)
        for r in RevenueAttribution.objects.filter(order=order, attribution_model=model)
    ]


def test_a_webhook_order_after_real_clicks_is_credited_under_every_model(
    store, posts, django_capture_on_commit_callbacks
):
    a, b = posts
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    click(visitor, b, ORDER_AT - timedelta(days=7))
    click_a = click(visitor, a, ORDER_AT)
    Client(HTTP_USER_AGENT="facebookexternalhit/1.1").get(f"/r/{a.links.get().code}")  # a bot
    click(Client(HTTP_USER_AGENT=HUMAN_UA), b, ORDER_AT - timedelta(days=1))  # someone else

    deliver(store, shopify_order(click_a), django_capture_on_commit_callbacks)
    order = CommerceOrder.objects.get()
    assert order.attributable_revenue() == Decimal("117.50")

    assert rows(order, "first-touch") == [
        (b.pk, "clickId", "1.000000", "117.50", False),
        (a.pk, "clickId", "0.000000", "0.00", False),
    ]
    assert rows(order, "last-touch") == [
        (b.pk, "clickId", "0.000000", "0.00", False),
        (a.pk, "clickId", "1.000000", "117.50", False),
    ]
    assert rows(order, "multi-touch") == [
        (b.pk, "clickId", "0.500000", "58.75", False),
        (a.pk, "clickId", "0.500000", "58.75", False),
    ]
    assert rows(order, "position-based") == rows(order, "multi-touch")
    # Ages 7 days and 0: weights 2^-1 : 2^0 = 1/3 : 2/3; the earlier touch takes the odd cent.
    assert rows(order, "time-decay") == [
        (b.pk, "clickId", "0.333333", "39.17", False),
        (a.pk, "clickId", "0.666667", "78.33", False),
    ]
    # No removal effects yet: data-driven falls back to multi-touch and says so.
    assert rows(order, "data-driven") == [
        (b.pk, "clickId", "0.500000", "58.75", True),
        (a.pk, "clickId", "0.500000", "58.75", True),
    ]
    last = RevenueAttribution.objects.get(order=order, attribution_model="last-touch", post=a)
    assert (last.matched_value, last.click.click_id, last.campaign.slug, last.platform) == (
        click_a, click_a, "summer-sale", "instagram",
    )  # fmt: skip
    assert last.order_day == date(2026, 11, 20)
    assert list(VisitorIdentity.objects.values_list("customer_key", flat=True)) == [
        order.customer_key
    ]

    revenue = PostRevenue.objects.get(post=a, attribution_model="last-touch")
    assert (revenue.total_revenue, revenue.total_orders, revenue.unique_clicks) == (
        Decimal("117.50"), 1, 1,
    )  # fmt: skip
    assert (revenue.total_units, revenue.avg_order_value, revenue.conversion_rate) == (
        Decimal("3.00"), Decimal("117.50"), Decimal("1.000000"),
    )  # fmt: skip
    assert PostRevenue.objects.get(post=b, attribution_model="last-touch").conversion_rate == 0


def test_the_safety_net_skips_orders_the_signal_path_attributed_since_they_changed(
    store, posts, django_capture_on_commit_callbacks
):
    a, _ = posts
    click_a = click(Client(HTTP_USER_AGENT=HUMAN_UA), a, ORDER_AT)
    deliver(store, shopify_order(click_a), django_capture_on_commit_callbacks)
    order = CommerceOrder.objects.get()
    assert order.attributed_at >= order.updated_at  # the webhook's task attributed it

    assert engine.orders_attribute_changed(workspace=store.workspace) == 0
    assert RevenueAttribution.objects.filter(order=order).count() == 6  # one touch, six models

    # A change the signal path missed (a lost task): the next pass takes it, once.
    CommerceOrder.objects.filter(pk=order.pk).update(updated_at=timezone.now())
    AttributionTouch.objects.filter(order=order).delete()
    assert engine.orders_attribute_changed(workspace=store.workspace) == 1
    assert RevenueAttribution.objects.filter(order=order).count() == 6  # one touch, six models
    assert engine.orders_attribute_changed(workspace=store.workspace) == 0


def test_a_customer_link_is_dated_by_the_earliest_order_that_showed_it_whatever_ran_first(
    store, posts
):
    from tests.analytics.conftest import order_record

    a, _ = posts
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    early_click = click(visitor, a, ORDER_AT - timedelta(days=3))
    late_click = click(visitor, a, ORDER_AT)
    # The later order arrives (and is attributed) first; then the earlier one.
    order_record(store, 2, at=ORDER_AT + timedelta(hours=1), total="20.00", customer="ann",
                 osc_click=late_click)  # fmt: skip
    early = order_record(store, 1, at=ORDER_AT - timedelta(days=2), total="10.00",
                         customer="ann", osc_click=early_click)  # fmt: skip
    [link] = VisitorIdentity.objects.filter(workspace=store.workspace)
    assert link.first_seen_at == early.created_at

    engine.workspace_recalculate(workspace=store.workspace)
    [link] = VisitorIdentity.objects.filter(workspace=store.workspace)
    assert link.first_seen_at == early.created_at
    # Attributing the later order again never moves the link to its time.
    engine.order_attribute(order_id=CommerceOrder.objects.get(external_id="2").pk)
    assert VisitorIdentity.objects.get().first_seen_at == early.created_at


def test_a_refund_webhook_lowers_the_credit_on_the_refund_day_only(
    store, posts, django_capture_on_commit_callbacks
):
    a, _ = posts
    click_a = click(Client(HTTP_USER_AGENT=HUMAN_UA), a, ORDER_AT - timedelta(hours=2))
    deliver(store, shopify_order(click_a), django_capture_on_commit_callbacks)
    deliver(store, fixture_bytes("shopify_refund_create.json"),
            django_capture_on_commit_callbacks, topic="refunds/create", event_id="evt-r")  # fmt: skip

    credited = RevenueAttribution.objects.get(attribution_model="last-touch")
    assert (credited.gross_revenue, credited.refunded, credited.revenue) == (
        Decimal("117.50"), Decimal("30.00"), Decimal("87.50"),
    )  # fmt: skip
    daily = DailyRevenue.objects.filter(attribution_model="last-touch", post=a)
    assert sorted(daily.values_list("day", "revenue", "orders")) == [
        (date(2026, 11, 20), Decimal("117.50"), 1),
        (date(2026, 11, 23), Decimal("-30.00"), 0),
    ]
    assert PostRevenue.objects.get(post=a, attribution_model="last-touch").total_revenue == (
        Decimal("87.50")
    )


def test_a_cancelled_order_credits_nothing(store, posts, django_capture_on_commit_callbacks):
    a, _ = posts
    click_a = click(Client(HTTP_USER_AGENT=HUMAN_UA), a, ORDER_AT - timedelta(hours=2))
    deliver(store, shopify_order(click_a), django_capture_on_commit_callbacks)
    assert RevenueAttribution.objects.exists()
    cancelled = shopify_order(click_a, updated_at="2026-11-24T08:00:00-05:00",
                              cancelled_at="2026-11-24T08:00:00-05:00")  # fmt: skip
    deliver(store, cancelled, django_capture_on_commit_callbacks,
            topic="orders/cancelled", event_id="evt-c")  # fmt: skip
    assert not RevenueAttribution.objects.exists()
    assert not DailyRevenue.objects.exists()
    assert PostRevenue.objects.get(post=a, attribution_model="last-touch").total_revenue == 0


def order_data(n, *, at, total="100.00", refunds=(), customer_id=None, **attribution):
    return OrderData(
        external_id=str(n), order_number=f"#{n}", created_at=at, updated_at=at, currency="USD",
        total_price=Decimal(total), attribution=Attribution(**attribution),
        customer_id=customer_id or f"c{n}", lines=[LineData(title="Hat", quantity=1, price=Decimal(total))],
        refunds=list(refunds),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("at", "day"),
    [
        (datetime(2026, 11, 1, 3, 59, tzinfo=UTC), date(2026, 10, 31)),  # 23:59 EDT
        (datetime(2026, 11, 1, 4, 0, tzinfo=UTC), date(2026, 11, 1)),  # 00:00 EDT
        (
            datetime(2026, 11, 2, 4, 59, tzinfo=UTC),
            date(2026, 11, 1),
        ),  # 23:59 EST, after the change
        (datetime(2026, 11, 2, 5, 0, tzinfo=UTC), date(2026, 11, 2)),  # 00:00 EST
    ],
)
def test_days_are_cut_in_the_workspace_time_zone_across_daylight_saving(store, posts, at, day):
    order = commerce_services.order_save(
        store=store, data=order_data(1, at=at, utm_content="post-17", utm_source="instagram")
    )
    engine.order_attribute(order_id=order.pk)
    assert set(DailyRevenue.objects.values_list("day", flat=True)) == {day}


def test_matching_precedence_and_platform_only_revenue(store, posts):
    a, b = posts
    CampaignFactory(workspace=store.workspace, slug="fall-drop")
    coupon = commerce_services.coupon_save(workspace=store.workspace, code="TIKTOK10", posts=[b])
    at = datetime(2026, 11, 10, 12, tzinfo=UTC)
    cases = [
        ({"utm_content": "post-17", "utm_campaign": "fall-drop", "utm_source": "instagram"},
         [], [(a.pk, "utmContent", "post-17", "instagram")]),
        ({"utm_content": "link_in_bio", "utm_campaign": "fall-drop", "utm_source": "ig"},
         [], [(None, "utmCampaign", "fall-drop", "instagram")]),
        ({"utm_campaign": "fall-drop", "utm_source": "newsletter"}, [], []),
        ({}, [coupon.code], [(b.pk, "couponCode", "TIKTOK10", "tiktok")]),
        ({"utm_source": "instagram"}, [], [(None, "utmSource", "instagram", "instagram")]),
        ({"referrer_url": "https://lm.facebook.com/l.php?u=x"}, [],
         [(None, "referrerUrl", "https://lm.facebook.com/l.php?u=x", "facebook")]),
        ({"referrer_url": "https://www.google.com/"}, [], []),
    ]  # fmt: skip
    for n, (attribution, coupons, expected) in enumerate(cases):
        data = order_data(100 + n, at=at, **attribution)
        data.coupon_codes = coupons
        order = commerce_services.order_save(store=store, data=data)
        engine.order_attribute(order_id=order.pk)
        found = RevenueAttribution.objects.filter(order=order, attribution_model="last-touch")
        assert [
            (r.post_id, r.matched_field, r.matched_value, r.platform) for r in found
        ] == expected, attribution


def test_rollups_equal_the_raw_rows_after_incremental_updates_and_a_full_rebuild(store, posts):
    a, b = posts
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    base = datetime(2026, 11, 10, 12, tzinfo=UTC)
    for n in range(12):
        at = base + timedelta(hours=9 * n)  # clicks and orders arrive in time order, as live
        click_id = click(visitor if n % 2 else Client(HTTP_USER_AGENT=HUMAN_UA), (a, b)[n % 2],
                         at - timedelta(hours=3))  # fmt: skip
        refunds = (
            [RefundData(f"r{n}", Decimal("10.00"), at + timedelta(days=2))] if n % 4 == 0 else []
        )
        order = commerce_services.order_save(
            store=store,
            data=order_data(n, at=at, total=f"{50 + n}.99", refunds=refunds, osc_click=click_id,
                            customer_id="same" if n % 3 == 0 else "", utm_source="tiktok"),
        )  # fmt: skip
        engine.order_attribute(order_id=order.pk)

    def assert_rollups_match():
        for model in store.workspace.attribution_models:
            raw = RevenueAttribution.objects.filter(attribution_model=model)
            daily = DailyRevenue.objects.filter(attribution_model=model)
            assert daily.aggregate(s=Sum("revenue"))["s"] == raw.aggregate(s=Sum("revenue"))["s"]
            for post in (a, b):
                rollup = PostRevenue.objects.get(post=post, attribution_model=model)
                assert rollup.total_revenue == (
                    raw.filter(post=post).aggregate(s=Sum("revenue"))["s"] or 0
                )
                assert rollup.total_revenue == (
                    daily.filter(post=post).aggregate(s=Sum("revenue"))["s"] or 0
                )
            net = sum(o.attributable_revenue() for o in CommerceOrder.objects.all())
            assert raw.aggregate(s=Sum("revenue"))["s"] == net

    assert_rollups_match()
    incremental = sorted(RevenueAttribution.objects.values_list(
        "order_id", "attribution_model", "position", "revenue", "attribution_weight"))  # fmt: skip
    result = engine.workspace_recalculate(workspace=store.workspace)
    assert result["orders"] == 12
    assert_rollups_match()
    rebuilt = sorted(RevenueAttribution.objects.values_list(
        "order_id", "attribution_model", "position", "revenue", "attribution_weight"))  # fmt: skip
    # The rebuild only changes the data-driven rows (it now has removal effects, or says why not).
    assert [r for r in rebuilt if r[1] != "data-driven"] == [
        r for r in incremental if r[1] != "data-driven"
    ]
    assert RefundAttribution.objects.filter(attribution_model="last-touch").count() == 3


def test_the_live_path_credits_data_driven_as_the_rebuild_did(store, posts):
    """With the rebuild's removal effects stored, re-attributing an order one at a time gives
    the rows the rebuild gave, data-driven included (the live path reads the effects of its
    journey's posts by key)."""
    a, b = posts
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    base = datetime(2026, 11, 10, 12, tzinfo=UTC)
    for n in range(36):
        at = base + timedelta(hours=n)
        extra = {}
        if n % 4 == 0:  # a click on the TikTok post, then the Instagram post's landing UTMs
            extra["osc_click"] = click(visitor, b, at - timedelta(minutes=30))
        post = a if n % 3 else b
        data = order_data(n, at=at, utm_content=post.reference, utm_source=post.platform, **extra)
        commerce_services.order_save(store=store, data=data)
    engine.workspace_recalculate(workspace=store.workspace)

    def all_rows():
        return sorted(RevenueAttribution.objects.values_list(
            "order_id", "attribution_model", "position", "post_id", "revenue",
            "attribution_weight", "is_fallback"))  # fmt: skip

    rebuilt = all_rows()
    data_driven = [r for r in rebuilt if r[1] == "data-driven"]
    assert data_driven and not any(r[6] for r in data_driven), "effects were measured"
    assert {r[5] for r in data_driven} - {Decimal(0), Decimal(1)}, "a split journey"
    for order in CommerceOrder.objects.all():
        engine.order_attribute(order_id=order.pk)
    assert all_rows() == rebuilt


@contextmanager
def _another_run_holds_the_lock(workspace):
    """A run in another process: the advisory lock from another session on PostgreSQL, the
    lease elsewhere."""
    if connection.vendor == "postgresql":
        import psycopg

        keys = ("dbname", "user", "password", "host", "port")
        params = {k: v for k, v in connection.get_connection_params().items() if k in keys}
        key = [engine.ADVISORY_LOCK_NAMESPACE, workspace.pk]
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s, %s)", key)
            yield
            # Unlock before closing: a closed session's locks go only once its backend has exited.
            other.execute("SELECT pg_advisory_unlock(%s, %s)", key)
        return
    from django.utils import timezone

    from attribution.models import AttributionState

    AttributionState.objects.update_or_create(
        workspace=workspace, defaults={"lease_until": timezone.now() + timedelta(minutes=5)}
    )
    yield
    AttributionState.objects.update(lease_until=None)


def test_a_second_concurrent_recalculation_is_refused_and_changes_nothing(store, posts):
    order = commerce_services.order_save(
        store=store,
        data=order_data(1, at=datetime(2026, 11, 3, tzinfo=UTC), utm_content="post-17"),
    )
    engine.order_attribute(order_id=order.pk)
    before = list(RevenueAttribution.objects.values_list("pk", "revenue"))
    with _another_run_holds_the_lock(store.workspace), pytest.raises(engine.RecalculationBusy):
        engine.workspace_recalculate(workspace=store.workspace)
    assert list(RevenueAttribution.objects.values_list("pk", "revenue")) == before
    engine.workspace_recalculate(workspace=store.workspace)
    engine.workspace_recalculate(workspace=store.workspace)
    assert RevenueAttribution.objects.count() == len(before)


def test_another_workspaces_clicks_never_join_a_journey(store, posts):
    a, _ = posts
    other = WorkspaceFactory()
    from attribution.services import domain_allow

    domain_allow(workspace=other, domain=store.shop_domain)
    theirs = PostFactory(workspace=other, link_url=f"https://{store.shop_domain}/x")
    foreign_click = click(
        Client(HTTP_USER_AGENT=HUMAN_UA), theirs, datetime(2026, 11, 2, tzinfo=UTC)
    )
    order = commerce_services.order_save(
        store=store,
        data=order_data(1, at=datetime(2026, 11, 3, tzinfo=UTC), osc_click=foreign_click),
    )
    engine.order_attribute(order_id=order.pk)
    assert not RevenueAttribution.objects.exists()


def _refund_body(*, transaction: str, subtotal: str, tax: str, quantity: int = 1) -> bytes:
    refund = json.loads(fixture_bytes("shopify_refund_create.json"))
    refund["transactions"][0]["amount"] = transaction
    item = refund["refund_line_items"][0]
    item.update(quantity=quantity, subtotal=subtotal, total_tax=tax)
    item["subtotal_set"]["shop_money"]["amount"] = subtotal
    item["total_tax_set"] = {"shop_money": {"amount": tax, "currency_code": "USD"}}
    return json.dumps(refund).encode()


@pytest.mark.parametrize(
    ("basis", "transaction", "subtotal", "tax", "net"),
    [
        # Merchandise (items after discounts, net of tax and shipping): 117.50 - 7.50 - 10.00.
        # A refund of 24.00 of items plus 2.13 tax takes 24.00 off it, not 26.13...
        ("net", "26.13", "24.00", "2.13", "76.00"),
        # ...while the order total loses all that was paid back.
        ("total", "26.13", "24.00", "2.13", "91.37"),
    ],
)
def test_a_refund_takes_its_items_net_of_tax_off_merchandise_and_its_units_off_the_units(
    store, posts, django_capture_on_commit_callbacks, basis, transaction, subtotal, tax, net
):
    a, _ = posts
    store.workspace.revenue_basis = basis
    store.workspace.save(update_fields=["revenue_basis"])
    click_a = click(Client(HTTP_USER_AGENT=HUMAN_UA), a, ORDER_AT - timedelta(hours=2))
    deliver(store, shopify_order(click_a), django_capture_on_commit_callbacks)
    deliver(store, _refund_body(transaction=transaction, subtotal=subtotal, tax=tax),
            django_capture_on_commit_callbacks, topic="refunds/create", event_id="evt-r")  # fmt: skip
    credited = RevenueAttribution.objects.get(attribution_model="last-touch")
    assert credited.revenue == Decimal(net)
    # Three units sold, one returned.
    assert credited.units == Decimal("2")
    assert PostRevenue.objects.get(post=a, attribution_model="last-touch").total_units == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_the_live_paths_statements_are_prepared_once_per_connection(store, posts):
    """The live path's statements go through `hot_cursor` (server-side binding) with one text
    whatever an order touched (`among`): after a few orders PostgreSQL runs them prepared,
    without parsing them again."""
    a, b = posts
    visitor = Client(HTTP_USER_AGENT=HUMAN_UA)
    base = datetime(2026, 11, 10, 12, tzinfo=UTC)
    for n in range(7):
        at = base + timedelta(days=n)
        click_id = click(visitor, (a, b)[n % 2], at - timedelta(hours=1))
        order = commerce_services.order_save(
            store=store, data=order_data(n, at=at, osc_click=click_id)
        )
        engine.order_attribute(order_id=order.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = " ".join(row[0] for row in cursor.fetchall())
    for statement in ("WITH direct AS", "INSERT INTO attribution_dailyrevenuecell",
                      "FROM attribution_dailyclicks", "SET attributed_at"):  # fmt: skip
        assert statement in prepared
