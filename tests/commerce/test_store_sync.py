"""The missed-webhook sync: every STORE_SYNC_MINUTES each store with API credentials is asked for
the orders updated since its last sync, against fake Shopify Admin and WooCommerce servers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from commerce import services
from commerce.attribution_values import OrderData
from commerce.models import CommerceOrder, StoreImport
from commerce.services import history
from omnisocial.schedules import SCHEDULES
from tests.factories import StoreConnectionFactory, WorkspaceFactory
from tests.fakes import shopify as fake_shopify
from tests.fakes import woocommerce as fake_woo

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def ago(**delta):
    return NOW - timedelta(**delta)


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(reporting_currency="USD")


@pytest.fixture
def shopify(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with fake_shopify.FakeShopifyAdmin() as fake:
        settings.SHOPIFY_ADMIN_URL = fake.admin_url
        yield fake


@pytest.fixture
def store(workspace):
    return StoreConnectionFactory(
        workspace=workspace,
        shop_domain="acme.myshopify.com",
        api_key=fake_shopify.TOKEN,
        last_synced_at=ago(minutes=15),
    )


def held(store, n: int, *, total: str, updated_at) -> None:
    """An order the webhooks already brought."""
    services.order_import(
        store=store,
        orders=[
            OrderData(
                external_id=str(1000 + n), order_number=str(n), created_at=ago(days=3),
                updated_at=updated_at, currency="USD", total_price=Decimal(total),
            )
        ],
    )  # fmt: skip


def test_the_sync_fills_what_the_webhooks_missed(
    store, shopify, django_capture_on_commit_callbacks
):
    created = ago(days=3)
    shopify.orders = [
        # Changed before the last sync (less the overlap): not asked for.
        fake_shopify.order(1, created_at=created, updated_at=ago(minutes=40), total="11.00"),
        # Missed entirely: created by the sync.
        fake_shopify.order(2, created_at=created, updated_at=ago(minutes=10), total="22.00"),
        # Held in an older version (a refund's webhook was lost): updated.
        fake_shopify.order(3, created_at=created, updated_at=ago(minutes=5), total="33.00",
                           refunds=[(933, "3.00")]),
        # Held in this very version: unchanged.
        fake_shopify.order(4, created_at=created, updated_at=ago(minutes=8), total="44.00"),
    ]  # fmt: skip
    held(store, 3, total="33.00", updated_at=ago(days=3))
    held(store, 4, total="44.00", updated_at=ago(minutes=8))

    with django_capture_on_commit_callbacks(execute=True):
        assert history.stores_sync() == 1

    sync = StoreImport.objects.get(store=store)
    assert (sync.kind, sync.status) == (StoreImport.Kind.SYNC, StoreImport.Status.DONE)
    assert (sync.imported, sync.created, sync.updated) == (3, 1, 1)
    assert sync.since == ago(minutes=20)
    variables = shopify.seen[0].json()["variables"]
    assert variables["query"] == (
        f"updated_at:>='{ago(minutes=20).strftime('%Y-%m-%dT%H:%M:%SZ')}' status:any"
    )
    assert variables["sortKey"] == "UPDATED_AT"
    store.refresh_from_db()
    assert (store.last_synced_at, store.last_sync_filled) == (sync.started_at, 2)
    assert sorted(
        CommerceOrder.objects.filter(store=store).values_list(
            "external_id", "total_price", "refunded_amount"
        )
    ) == [
        ("1002", Decimal("22.00"), Decimal("0.00")),
        ("1003", Decimal("33.00"), Decimal("3.00")),
        ("1004", Decimal("44.00"), Decimal("0.00")),
    ]

    # The next sync starts from this one; nothing new, nothing filled.
    with django_capture_on_commit_callbacks(execute=True):
        history.stores_sync()
    latest = StoreImport.objects.filter(store=store).first()
    assert latest.since == sync.started_at - history.SYNC_OVERLAP
    store.refresh_from_db()
    assert store.last_sync_filled == 0


def test_stores_that_cannot_be_asked_are_skipped(
    workspace, store, shopify, django_capture_on_commit_callbacks
):
    StoreConnectionFactory(workspace=workspace, shop_domain="bare.myshopify.com")  # no token
    StoreConnectionFactory(workspace=workspace, platform="custom", api_key="k")
    StoreConnectionFactory(
        workspace=workspace, shop_domain="revoked.myshopify.com", api_key="t",
        api_error="Shopify refused the access token (401: ...)",
    )  # fmt: skip
    StoreConnectionFactory(
        workspace=workspace, shop_domain="off.myshopify.com", api_key="t", is_active=False
    )
    busy = StoreConnectionFactory(workspace=workspace, shop_domain="busy.myshopify.com",
                                  api_key="t")  # fmt: skip
    StoreImport.objects.create(store=busy, since=ago(days=60))  # queued just now
    with django_capture_on_commit_callbacks(execute=True):
        assert history.stores_sync() == 1
    assert list(StoreImport.objects.filter(kind="sync").values_list("store", flat=True)) == [
        store.pk
    ]


def test_the_schedule_resumes_an_import_whose_worker_was_lost(
    store, shopify, monkeypatch, django_capture_on_commit_callbacks
):
    from commerce.platforms import shopify_admin

    monkeypatch.setattr(shopify_admin, "PAGE_SIZE", 2)
    shopify.orders = [
        fake_shopify.order(n, created_at=ago(days=10 - n), total="5.00") for n in range(1, 6)
    ]
    lost = StoreImport.objects.create(
        store=store, since=ago(days=60), status=StoreImport.Status.RUNNING,
        started_at=ago(minutes=30), heartbeat_at=ago(minutes=20),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        history.stores_sync()
    lost.refresh_from_db()
    assert (lost.status, lost.pages, lost.created) == (StoreImport.Status.DONE, 3, 5)
    # The store had an import pending when the schedule looked: no sync queued this time.
    assert not StoreImport.objects.filter(kind="sync").exists()
    assert CommerceOrder.objects.filter(store=store).aggregate(s=Sum("total_price"))["s"] == (
        Decimal("25.00")
    )


def test_a_woocommerce_sync_asks_for_orders_modified_since(
    workspace, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with fake_woo.FakeWooCommerce() as fake:
        store = StoreConnectionFactory(
            workspace=workspace, platform="woocommerce", shop_domain="shop.example",
            store_url=fake.url, api_key=fake_woo.KEY, api_secret=fake_woo.SECRET,
            last_synced_at=ago(minutes=15),
        )  # fmt: skip
        fake.orders = [
            fake_woo.order(1, created_at=ago(days=2), modified_at=ago(hours=2)),
            fake_woo.order(2, created_at=ago(days=2), modified_at=ago(minutes=3),
                           status="refunded", total="18.00", refunds=[(71, "18.00")]),
        ]  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            history.stores_sync()
    sync = StoreImport.objects.get(store=store)
    assert (sync.status, sync.created, sync.total) == (StoreImport.Status.DONE, 1, 1)
    assert fake.seen[0].query["modified_after"] == [ago(minutes=20).strftime("%Y-%m-%dT%H:%M:%S")]
    order = CommerceOrder.objects.get(store=store)
    assert (order.external_id, order.total_price, order.refunded_amount) == (
        "2002", Decimal("18.00"), Decimal("18.00"),
    )  # fmt: skip


def test_finished_syncs_are_forgotten_after_a_month(store, shopify):
    old = StoreImport.objects.create(
        store=store, kind="sync", since=ago(days=40), status="done", finished_at=ago(days=31)
    )
    recent = StoreImport.objects.create(
        store=store, kind="sync", since=ago(days=2), status="done", finished_at=ago(days=1)
    )
    history_import = StoreImport.objects.create(
        store=store, since=ago(days=100), status="done", finished_at=ago(days=90)
    )
    history.stores_sync()
    kept = set(StoreImport.objects.values_list("pk", flat=True))
    assert old.pk not in kept and {recent.pk, history_import.pk} <= kept


def test_the_sync_is_scheduled_every_store_sync_minutes(settings):
    entry = next(s for s in SCHEDULES if s["func"] == "commerce.tasks.stores_sync")
    assert (entry["schedule_type"], entry["minutes"]) == ("I", settings.STORE_SYNC_MINUTES)
