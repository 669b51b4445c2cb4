"""Order, version and refund times outside 2000-01-01 .. now + 1 day are refused, from webhooks
(the delivery stays in the inbox, failed, with the reason) and from import files (the line is
reported): such a time is no real order and breaks the date arithmetic downstream."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from attribution import tasks
from commerce.models import CommerceOrder, Refund, WebhookDelivery
from tests.analytics.conftest import key_client
from tests.commerce.signing import (
    FIXTURES,
    custom_headers,
    fixture_bytes,
    shopify_headers,
    url,
    woocommerce_headers,
)
from tests.factories import StoreConnectionFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def out_of_range(field: str, value: str) -> str:
    return f"ValueError: {field}: {value!r} is out of range (from 2000-01-01 to a day from now)"


def custom_store():
    return StoreConnectionFactory(
        workspace=WorkspaceFactory(), platform="custom", shop_domain="store.example.org",
        webhook_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )  # fmt: skip


def send_custom(store, **order_changes):
    payload = json.loads(fixture_bytes("custom_order_created.json"))
    payload["data"].update(order_changes)
    body = json.dumps(payload).encode()
    return Client().post(
        url(store), body, content_type="application/json", **custom_headers(store, body)
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "0001-01-01T00:00:00Z"),
        ("created_at", "0001-01-01T00:00:00+01:00"),  # no UTC time at all
        ("created_at", "1999-12-31T23:59:59Z"),
        ("created_at", "2026-11-26T12:00:01Z"),  # more than a day ahead
        ("updated_at", "9999-12-31T23:59:59Z"),
    ],
)
def test_a_signed_custom_order_dated_out_of_range_fails_in_the_inbox_with_the_reason(
    field, value, django_capture_on_commit_callbacks
):
    store = custom_store()
    with django_capture_on_commit_callbacks(execute=True):
        response = send_custom(store, **{field: value})

    assert (response.status_code, response.content) == (200, b"OK")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.verified, delivery.status) == (True, "failed")
    assert delivery.error == out_of_range(field, value)
    assert not CommerceOrder.objects.exists()


def test_the_order_of_year_one_is_refused_so_the_nightly_job_and_the_audience_segments_run(
    django_capture_on_commit_callbacks,
):
    store = custom_store()
    with django_capture_on_commit_callbacks(execute=True):
        send_custom(store, created_at="0001-01-01T00:00:00Z", updated_at="0001-01-01T00:00:00Z")
        send_custom(store, id="ord_02")  # a good one, dated 2026-11-22

    assert list(CommerceOrder.objects.values_list("external_id", flat=True)) == ["ord_02"]
    assert tasks.recalculate_all_workspaces()["failed"] == {}
    response = key_client(store.workspace).get("/commerce/segments?by=audience&range=30d")
    assert response.status_code == 200


def test_an_order_a_day_ahead_at_most_is_accepted(django_capture_on_commit_callbacks):
    store = custom_store()
    with django_capture_on_commit_callbacks(execute=True):
        send_custom(store, created_at="2026-11-26T12:00:00Z", updated_at="2026-11-26T12:00:00Z")
    assert WebhookDelivery.objects.get().status == "processed"
    assert CommerceOrder.objects.get().created_at == datetime(2026, 11, 26, 12, tzinfo=UTC)


def test_a_shopify_refund_dated_out_of_range_fails_and_records_nothing(
    django_capture_on_commit_callbacks,
):
    store = StoreConnectionFactory()
    shop = Client()
    order = fixture_bytes("shopify_order_create.json")
    refund = json.loads(fixture_bytes("shopify_refund_create.json"))
    refund["created_at"] = "1970-01-01T00:00:00Z"
    refund = json.dumps(refund).encode()
    with django_capture_on_commit_callbacks(execute=True):
        shop.post(url(store), order, content_type="application/json",
                  **shopify_headers(store, order))  # fmt: skip
        shop.post(url(store), refund, content_type="application/json",
                  **shopify_headers(store, refund, topic="refunds/create", event_id="evt-2"))  # fmt: skip

    assert list(WebhookDelivery.objects.order_by("id").values_list("status", "error")) == [
        ("processed", ""),
        ("failed", out_of_range("refund created_at", "1970-01-01T00:00:00Z")),
    ]
    assert not Refund.objects.exists()


def test_a_woocommerce_order_of_year_one_fails_with_the_reason(django_capture_on_commit_callbacks):
    store = StoreConnectionFactory(
        platform="woocommerce", shop_domain="shop.example.de", webhook_secret="wc-secret"
    )
    payload = json.loads(fixture_bytes("woocommerce_order_created.json"))
    payload["date_created_gmt"] = "0001-01-01T00:00:00"
    body = json.dumps(payload).encode()
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(url(store), body, content_type="application/json",
                      **woocommerce_headers(store, body))  # fmt: skip

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error) == (
        "failed", out_of_range("date_created_gmt", "0001-01-01T00:00:00"),
    )  # fmt: skip
    assert not CommerceOrder.objects.exists()


def test_import_orders_reports_the_lines_dated_out_of_range(tmp_path, capsys):
    store = StoreConnectionFactory()
    path = tmp_path / "orders.csv"
    path.write_text(
        "external_id,created_at,updated_at,currency,total_price\n"
        "1,2026-11-02T10:00:00Z,,USD,50.00\n"
        "2,0001-01-01T00:00:00Z,,USD,50.00\n"
        "3,2026-11-02T10:00:00Z,9999-12-31T00:00:00Z,USD,50.00\n"
        "4,0001-01-01T00:00:00+05:00,,USD,50.00\n"
    )

    call_command("import_orders", "--store", str(store.pk), str(path))

    out, err = capsys.readouterr()
    assert "1 created, 0 updated, 0 unchanged, 3 rejected." in out
    assert err.splitlines() == [
        "line 3: created_at: '0001-01-01T00:00:00Z' is out of range (from 2000-01-01 to a day "
        "from now)",
        "line 4: updated_at: '9999-12-31T00:00:00Z' is out of range (from 2000-01-01 to a day "
        "from now)",
        "line 5: created_at: '0001-01-01T00:00:00+05:00' is out of range (from 2000-01-01 to a "
        "day from now)",
    ]
    assert list(CommerceOrder.objects.values_list("external_id", flat=True)) == ["1"]


def test_import_orders_reports_a_json_export_entry_dated_out_of_range(tmp_path, capsys):
    store = StoreConnectionFactory()
    order = json.loads((FIXTURES / "shopify_order_create.json").read_text())
    old = {**order, "id": 1, "created_at": "0001-01-01T00:00:00Z"}
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"orders": [order, old]}))

    call_command("import_orders", "--store", str(store.pk), str(path))

    out, err = capsys.readouterr()
    assert "1 created, 0 updated, 0 unchanged, 1 rejected." in out
    assert err.splitlines() == [
        "line 2: created_at: '0001-01-01T00:00:00Z' is out of range (from 2000-01-01 to a day "
        "from now)"
    ]
