"""A store's order history from its own API: the real client against fake Shopify Admin and
WooCommerce servers answering as the platforms document, with every fault the issue lists."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from attribution.models import RevenueAttribution
from commerce import signals
from commerce.models import CommerceOrder, OrderLine, Refund, StoreImport
from commerce.platforms import shopify_admin
from commerce.services import history
from tests.commerce.signing import shopify_headers, url
from tests.factories import PostFactory, StoreConnectionFactory, WorkspaceFactory
from tests.fakes import shopify as fake_shopify
from tests.fakes import woocommerce as fake_woo
from tests.fakes.server import Answer

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def day(n: int):
    """n days ago."""
    return NOW - timedelta(days=n)


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(reporting_currency="USD")


@pytest.fixture
def store(workspace):
    return StoreConnectionFactory(
        workspace=workspace, shop_domain="acme.myshopify.com", api_key=fake_shopify.TOKEN
    )


@pytest.fixture
def small_pages(monkeypatch):
    """Two orders a page, so a handful of orders makes several pages."""
    monkeypatch.setattr(shopify_admin, "PAGE_SIZE", 2)


@pytest.fixture
def shopify(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with fake_shopify.FakeShopifyAdmin() as fake:
        settings.SHOPIFY_ADMIN_URL = fake.admin_url
        yield fake


@pytest.fixture
def waits():
    """What the import waited, in seconds, instead of waiting."""
    return []


def run(store, waits, **request):
    """Requests the import (the task is queued on commit) and runs it as the worker would."""
    store_import = history.import_request(store=store, **request)
    return history.import_run(store_import=store_import, sleep=waits.append)


def orders(store) -> list[tuple[str, Decimal]]:
    return list(
        CommerceOrder.objects.filter(store=store)
        .order_by("external_id")
        .values_list("external_id", "total_price")
    )


def six_orders():
    return [fake_shopify.order(n, created_at=day(10 - n), total=f"{n}0.00") for n in range(1, 7)]


def test_the_history_is_read_page_by_page_with_every_field(store, shopify, waits, api_client):
    post = PostFactory(workspace=store.workspace)
    shopify.orders = [
        fake_shopify.order(
            1, created_at=day(3), total="117.50", tax="7.50", shipping="10.00",
            lines=[("TEE", 2, "50.00")], refunds=[(901, "20.00")], codes=["SUMMER10"],
            utm={"source": "ig", "medium": "social", "content": post.reference},
            landing="https://acme.example/products/tee", referrer="https://l.instagram.com/",
            customer=77,
        ),
        fake_shopify.order(
            2, created_at=day(2), total="30.00",
            attributes={"utm_source": "tiktok", "utm_content": "post-999", "osc_click": "c-1"},
        ),
        # Outside the 60 days asked for: not listed by the filter.
        fake_shopify.order(3, created_at=day(61), total="99.00"),
    ]  # fmt: skip
    done = run(store, waits)

    assert (done.status, done.error) == (StoreImport.Status.DONE, "")
    assert (done.pages, done.imported, done.created, done.updated, done.total) == (1, 2, 2, 0, 2)
    assert orders(store) == [("1001", Decimal("117.50")), ("1002", Decimal("30.00"))]
    first = CommerceOrder.objects.get(store=store, external_id="1001")
    assert (first.order_number, first.total_tax, first.total_shipping) == (
        "1", Decimal("7.50"), Decimal("10.00"),
    )  # fmt: skip
    assert first.refunded_amount == Decimal("20.00")
    assert (first.utm_source, first.utm_medium, first.utm_content) == (
        "instagram", "social", post.reference,
    )  # fmt: skip
    assert first.referrer_url == "https://l.instagram.com/"
    assert first.coupon_codes == ["summer10"]
    assert list(OrderLine.objects.filter(order=first).values_list("sku", "quantity", "price")) == [
        ("TEE", 2, Decimal("50.00"))
    ]
    second = CommerceOrder.objects.get(store=store, external_id="1002")
    assert (second.utm_source, second.utm_content, second.osc_click) == (
        "tiktok", "post-999", "c-1",
    )  # fmt: skip

    sent = shopify.seen[0]
    assert sent.path == "/admin/api/2025-10/graphql.json"
    assert sent.headers["X-Shopify-Access-Token"] == fake_shopify.TOKEN
    variables = sent.json()["variables"]
    since = done.since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert variables["query"] == f"created_at:>='{since}' status:any"
    assert (variables["first"], variables["sortKey"], variables["after"]) == (
        250,
        "CREATED_AT",
        None,
    )
    assert done.since == pytest.approx(
        timezone.now() - timedelta(days=60), abs=timedelta(minutes=1)
    )

    listed = api_client.get("/commerce/orders").json()["results"]
    assert sorted((o["externalId"], o["totalPrice"], o["refundedAmount"]) for o in listed) == [
        ("1001", "117.50", "20.00"), ("1002", "30.00", "0.00"),
    ]  # fmt: skip
    assert waits == []


def test_pages_follow_the_cursor_to_the_end(store, shopify, waits, small_pages):
    shopify.orders = six_orders()
    done = run(store, waits)
    assert (done.status, done.pages, done.imported, done.created, done.total) == (
        StoreImport.Status.DONE, 3, 6, 6, 6,
    )  # fmt: skip
    afters = [seen.json()["variables"]["after"] for seen in shopify.seen]
    assert afters[0] is None and len(set(afters)) == 3
    assert CommerceOrder.objects.filter(store=store).aggregate(s=Sum("total_price"))["s"] == (
        Decimal("210.00")
    )
    # Asked again: nothing doubled, nothing changed.
    again = run(store, waits)
    assert (again.created, again.updated, again.imported) == (0, 0, 6)
    assert CommerceOrder.objects.filter(store=store).count() == 6


def test_a_token_revoked_mid_import_stops_with_shopifys_words_and_what_to_do(
    store, shopify, waits, small_pages
):
    shopify.orders = six_orders()

    def revoke(seen):
        shopify.token = "shpat_another"

    shopify.faults[2] = revoke
    failed = run(store, waits)

    assert failed.status == StoreImport.Status.FAILED
    assert (failed.pages, failed.imported, failed.created) == (1, 2, 2)
    assert "401: [API] Invalid API key or access token" in failed.error
    assert "paste a new Admin API access token" in failed.error
    store.refresh_from_db()
    assert store.api_error == failed.error
    assert orders(store) == [("1001", Decimal("10.00")), ("1002", Decimal("20.00"))]

    # A new token pasted: the next import reads everything, and the store's error is cleared.
    store.api_key = shopify.token
    store.save()
    done = run(store, waits)
    assert (done.status, done.created, done.updated) == (StoreImport.Status.DONE, 4, 0)
    store.refresh_from_db()
    assert store.api_error == ""
    assert CommerceOrder.objects.filter(store=store).count() == 6


def test_a_429_with_retry_after_is_waited_out_and_asked_again(store, shopify, waits, small_pages):
    shopify.orders = six_orders()
    shopify.faults[2] = Answer(
        429,
        {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                   "uninterrupted service."},
        {"Retry-After": "3"},
    )  # fmt: skip
    done = run(store, waits)
    assert (done.status, done.pages, done.created) == (StoreImport.Status.DONE, 3, 6)
    assert waits == [3.0]
    assert len(shopify.seen) == 4


def test_a_throttled_query_waits_for_the_bucket_to_refill(store, shopify, waits, small_pages):
    shopify.orders = six_orders()
    shopify.faults[2] = fake_shopify.throttled(requested=752, available=100, restore=50.0)
    done = run(store, waits)
    assert (done.status, done.created) == (StoreImport.Status.DONE, 6)
    # (752 - 100) / 50 points a second, to the next tenth.
    assert waits == [13.1]


def test_a_page_that_leaves_the_bucket_short_waits_before_the_next(store, shopify, waits):
    shopify.orders = six_orders()
    shopify.bucket, shopify.restore_rate = 1010.0, 100.0  # a standard shop's refill
    done = run(store, waits)
    assert (done.status, done.created) == (StoreImport.Status.DONE, 6)
    # 1003 points asked for, 983 left after the page: 0.2 s of refill before the next query.
    assert waits == [0.2]


def test_a_query_over_the_cost_ceiling_is_asked_for_fewer_orders(store, shopify, waits):
    shopify.orders = six_orders()
    shopify.max_cost = 1000  # 250 orders at 4 points each cost 1003
    done = run(store, waits)
    assert (done.status, done.created, done.pages) == (StoreImport.Status.DONE, 6, 1)
    assert [seen.json()["variables"]["first"] for seen in shopify.seen] == [250, 125]


def test_a_5xx_is_retried_and_a_lasting_one_fails_the_import(store, shopify, waits, small_pages):
    shopify.orders = six_orders()
    shopify.faults[2] = Answer(502, "<html>Bad gateway</html>")
    done = run(store, waits)
    assert (done.status, done.created) == (StoreImport.Status.DONE, 6)
    assert waits == [0.5]

    for n in range(len(shopify.seen) + 2, len(shopify.seen) + 6):
        shopify.faults[n] = Answer(503, {"errors": "Service Unavailable"})
    failed = run(store, waits)
    assert failed.status == StoreImport.Status.FAILED
    assert failed.error == "Shopify answered 503 (Service Unavailable)."
    assert failed.pages == 1
    store.refresh_from_db()
    assert store.api_error == ""  # not a refusal of the token
    assert CommerceOrder.objects.filter(store=store).count() == 6


def test_truncated_json_is_asked_again_once_then_fails(store, shopify, waits, small_pages):
    shopify.orders = six_orders()
    shopify.faults[2] = fake_shopify.truncated()
    done = run(store, waits)
    assert (done.status, done.created) == (StoreImport.Status.DONE, 6)
    assert waits == [1.0]

    shopify.faults[len(shopify.seen) + 2] = fake_shopify.truncated()
    shopify.faults[len(shopify.seen) + 3] = fake_shopify.truncated()
    failed = run(store, waits)
    assert failed.status == StoreImport.Status.FAILED
    assert "cut off (not complete JSON) twice in a row" in failed.error
    assert (failed.pages, failed.imported) == (1, 2)


def test_a_page_that_repeats_stops_the_import_instead_of_looping(
    store, shopify, waits, small_pages
):
    shopify.orders = six_orders()
    shopify.faults[2] = lambda seen: shopify.answer(shopify.seen[0])
    failed = run(store, waits)
    assert failed.status == StoreImport.Status.FAILED
    assert failed.error.startswith(
        "The store's API answered page 2 with the same orders as the page before"
    )
    assert (failed.pages, failed.imported, failed.created) == (1, 2, 2)
    assert len(shopify.seen) == 2


def test_a_cursor_given_twice_stops_the_import(store, shopify, waits, small_pages):
    shopify.orders = six_orders()

    def same_cursor(seen):
        # Page 3's orders, but page 2's cursor again: a loop if followed.
        answer = shopify.answer(seen)
        answer.body["data"]["orders"]["pageInfo"]["endCursor"] = seen.json()["variables"]["after"]
        answer.body["data"]["orders"]["pageInfo"]["hasNextPage"] = True
        return answer

    shopify.faults[2] = same_cursor
    failed = run(store, waits)
    assert failed.status == StoreImport.Status.FAILED
    assert "a next-page cursor it had given before" in failed.error
    assert failed.pages == 1


def test_a_killed_worker_leaves_its_last_page_and_the_next_run_resumes_there(
    store, shopify, small_pages
):
    shopify.orders = six_orders()
    shopify.faults[2] = Answer(503, {"errors": "Service Unavailable"})

    def killed(seconds):
        raise SystemExit("worker killed")

    store_import = history.import_request(store=store)
    with pytest.raises(SystemExit):
        history.import_run(store_import=store_import, sleep=killed)
    store_import.refresh_from_db()
    assert (store_import.status, store_import.pages, store_import.created) == (
        StoreImport.Status.RUNNING, 1, 2,
    )  # fmt: skip
    saved_cursor = store_import.cursor
    assert saved_cursor

    # While its heartbeat is recent another run leaves it alone (its worker may be alive).
    assert history.import_run(store_import=store_import).status == StoreImport.Status.RUNNING
    assert len(shopify.seen) == 2
    with pytest.raises(ValidationError, match="already running"):
        history.import_request(store=store)

    # Past the task timeout it is taken over, from the page after the last one saved.
    StoreImport.objects.filter(pk=store_import.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=601)
    )
    done = history.import_run(store_import=store_import, sleep=lambda s: None)
    assert done.status == StoreImport.Status.DONE
    assert shopify.seen[2].json()["variables"]["after"] == saved_cursor
    assert (done.pages, done.imported, done.created, done.updated) == (3, 6, 6, 0)
    assert CommerceOrder.objects.filter(store=store).aggregate(s=Sum("total_price"))["s"] == (
        Decimal("210.00")
    )


def test_a_long_import_hands_its_rest_to_a_new_task(
    store, shopify, waits, small_pages, django_capture_on_commit_callbacks
):
    shopify.orders = six_orders()
    store_import = history.import_request(store=store)
    with django_capture_on_commit_callbacks(execute=True):
        paused = history.import_run(store_import=store_import, time_limit=0, sleep=waits.append)
    # Paused after its first page, queued again; the queued task (run synchronously in tests)
    # took the rest in slices of one page.
    assert (paused.status, paused.pages) == (StoreImport.Status.QUEUED, 1)
    store_import.refresh_from_db()
    assert (store_import.status, store_import.pages, store_import.created) == (
        StoreImport.Status.DONE, 3, 6,
    )  # fmt: skip
    assert len(shopify.seen) == 3


def _webhook(store, node: dict, event: str) -> None:
    body = json.dumps(shopify_admin.rest_order(node)).encode()
    answer = Client().post(
        url(store), body, content_type="application/json",
        **shopify_headers(store, body, topic="orders/updated", event_id=event),
    )  # fmt: skip
    assert answer.status_code == 200


def test_a_webhook_racing_the_import_is_neither_doubled_nor_rolled_back(
    store, shopify, small_pages, django_capture_on_commit_callbacks
):
    a_old = fake_shopify.order(1, created_at=day(5), total="10.00")
    a_new = fake_shopify.order(1, created_at=day(5), updated_at=day(1), total="12.00")
    c_refunded = fake_shopify.order(
        3, created_at=day(4), updated_at=day(1), total="30.00", refunds=[(931, "5.00")]
    )
    shopify.orders = [
        a_old, fake_shopify.order(2, created_at=day(5), total="20.00"),
        c_refunded, fake_shopify.order(4, created_at=day(3), total="40.00"),
    ]  # fmt: skip
    # Between page 1 and page 2 (while the import waits out a 503), webhooks bring a newer
    # version of order 1, already imported, and order 3 with its refund, not imported yet.
    shopify.faults[2] = Answer(503, {"errors": "Service Unavailable"})

    def webhooks_arrive(seconds):
        with django_capture_on_commit_callbacks(execute=True):
            _webhook(store, a_new, "evt-a2")
            _webhook(store, c_refunded, "evt-c1")

    store_import = history.import_request(store=store)
    done = history.import_run(store_import=store_import, sleep=webhooks_arrive)

    assert done.status == StoreImport.Status.DONE
    # The import created 1, 2 and 4; order 3 was already there in the same version.
    assert (done.imported, done.created, done.updated) == (4, 3, 0)
    assert orders(store) == [
        ("1001", Decimal("12.00")), ("1002", Decimal("20.00")),
        ("1003", Decimal("30.00")), ("1004", Decimal("40.00")),
    ]  # fmt: skip
    assert list(Refund.objects.filter(order__store=store).values_list("external_id", "amount")) == [
        ("931", Decimal("5.00"))
    ]
    # The import asked again later reads order 1's older version from a stale cache: ignored.
    shopify.put(a_old)
    again = run(store, [])
    assert (again.created, again.updated) == (0, 0)
    assert CommerceOrder.objects.get(store=store, external_id="1001").total_price == Decimal(
        "12.00"
    )


def test_requests_are_refused_with_the_reason(store, shopify, workspace):
    bare = StoreConnectionFactory(workspace=workspace, shop_domain="bare.myshopify.com")
    with pytest.raises(ValidationError, match="Admin API access token first"):
        history.import_request(store=bare)
    custom = StoreConnectionFactory(workspace=workspace, platform="custom", api_key="x")
    with pytest.raises(ValidationError, match="no API to read orders"):
        history.import_request(store=custom)
    woo = StoreConnectionFactory(workspace=workspace, platform="woocommerce", api_key="ck")
    with pytest.raises(ValidationError, match="consumer key and secret"):
        history.import_request(store=woo)
    limit = 365 + workspace.lookback_days
    for days in (0, limit + 1):
        with pytest.raises(ValidationError, match=f"between 1 and {limit} days"):
            history.import_request(store=store, days=days)
    queued = history.import_request(store=store, days=limit)
    assert (queued.status, queued.kind) == (StoreImport.Status.QUEUED, StoreImport.Kind.HISTORY)
    with pytest.raises(ValidationError, match="already queued"):
        history.import_request(store=store)


@pytest.mark.django_db(transaction=True)  # real commits: the pages' announcements run
def test_imported_orders_are_attributed_by_one_recalculation_of_their_range(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    workspace = WorkspaceFactory(reporting_currency="USD")
    store = StoreConnectionFactory(
        workspace=workspace, shop_domain="acme.myshopify.com", api_key=fake_shopify.TOKEN
    )
    post = PostFactory(workspace=workspace, published_at=day(30))
    bulk, imported = [], []
    signals.orders_bulk_written.connect(lambda **kw: bulk.append(kw), weak=False,
                                        dispatch_uid="test.bulk")  # fmt: skip
    signals.store_orders_imported.connect(lambda **kw: imported.append(kw), weak=False,
                                          dispatch_uid="test.imported")  # fmt: skip
    try:
        with fake_shopify.FakeShopifyAdmin() as fake:
            settings.SHOPIFY_ADMIN_URL = fake.admin_url
            fake.orders = [
                fake_shopify.order(n, created_at=day(9 - n), total=f"{n}0.00",
                                   utm={"source": "instagram", "content": post.reference})
                for n in range(1, 6)
            ]  # fmt: skip
            store_import = history.import_request(store=store)
            done = history.import_run(store_import=store_import, sleep=lambda s: None)
    finally:
        signals.orders_bulk_written.disconnect(dispatch_uid="test.bulk")
        signals.store_orders_imported.disconnect(dispatch_uid="test.imported")

    assert (done.status, done.created) == (StoreImport.Status.DONE, 5)
    assert bulk == []  # no page went through the live path
    assert [(kw["store"].pk, kw["since"], kw["orders"]) for kw in imported] == [
        (store.pk, done.since, 5)
    ]
    credited = RevenueAttribution.objects.filter(
        order__store=store, attribution_model="last-touch", post=post
    )
    assert credited.count() == 5
    assert credited.aggregate(s=Sum("revenue"))["s"] == Decimal("150.00")


@pytest.fixture
def woo_store(settings, workspace):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with fake_woo.FakeWooCommerce() as fake:
        store = StoreConnectionFactory(
            workspace=workspace, platform="woocommerce", shop_domain="shop.example",
            store_url=fake.url + "/", api_key=fake_woo.KEY, api_secret=fake_woo.SECRET,
        )  # fmt: skip
        store.fake = fake
        yield store


def test_a_woocommerce_history_is_read_by_page_number(woo_store, waits):
    fake = woo_store.fake
    fake.orders = [
        fake_woo.order(n, created_at=day(40) + timedelta(minutes=n), total="10.00",
                       source="instagram" if n == 1 else "",
                       refunds=[(501, "4.00")] if n == 2 else None)
        for n in range(1, 151)
    ] + [fake_woo.order(999, created_at=day(70))]  # fmt: skip
    done = run(woo_store, waits)

    assert (done.status, done.pages, done.imported, done.created, done.total) == (
        StoreImport.Status.DONE, 2, 150, 150, 150,
    )  # fmt: skip
    held = CommerceOrder.objects.filter(store=woo_store)
    assert held.count() == 150
    assert held.aggregate(s=Sum("total_price"))["s"] == Decimal("1500.00")
    assert held.get(external_id="2001").utm_source == "instagram"
    assert held.get(external_id="2002").refunded_amount == Decimal("4.00")
    first, second = (seen.query for seen in fake.seen)
    assert first["per_page"] == ["100"] and first["page"] == ["1"] and second["page"] == ["2"]
    assert (first["orderby"], first["order"], first["dates_are_gmt"]) == (["id"], ["asc"], ["true"])
    assert first["after"] == [done.since.strftime("%Y-%m-%dT%H:%M:%S")]
    assert fake.seen[0].headers["Authorization"].startswith("Basic ")


def test_a_revoked_woocommerce_key_shows_on_the_store(woo_store, waits):
    woo_store.fake.orders = [fake_woo.order(1, created_at=day(2))]
    woo_store.fake.secret = "cs_revoked"
    failed = run(woo_store, waits)
    assert failed.status == StoreImport.Status.FAILED
    assert failed.error.startswith(
        "WooCommerce refused the consumer key (401: Consumer key is invalid.)"
    )
    woo_store.refresh_from_db()
    assert woo_store.api_error == failed.error
    assert not CommerceOrder.objects.filter(store=woo_store).exists()


def test_a_woocommerce_429_and_truncated_page_are_survived(woo_store, waits):
    fake = woo_store.fake
    fake.orders = [fake_woo.order(n, created_at=day(5), total="7.25") for n in range(1, 4)]
    fake.faults[1] = Answer(429, {"code": "too_many_requests", "message": "Slow down."},
                            {"Retry-After": "2"})  # fmt: skip
    fake.faults[2] = Answer(200, '[{"id": 2001, "status": "proc')
    done = run(woo_store, waits)
    assert (done.status, done.created) == (StoreImport.Status.DONE, 3)
    assert waits == [2.0, 1.0]
    assert CommerceOrder.objects.filter(store=woo_store).aggregate(s=Sum("total_price"))[
        "s"
    ] == Decimal("21.75")


def test_an_order_that_cannot_be_read_is_named_and_the_others_imported(store, shopify, waits):
    broken = fake_shopify.order(1, created_at=day(3))
    broken["updatedAt"] = "2999-12-31T23:00:00Z"
    shopify.orders = [broken, fake_shopify.order(2, created_at=day(2), total="8.00")]
    done = run(store, waits)
    assert (done.status, done.imported, done.created) == (StoreImport.Status.DONE, 2, 1)
    assert done.error.startswith("order 1001: updated_at: '2999-12-31T23:00:00Z' is out of range")
    assert orders(store) == [("1002", Decimal("8.00"))]
