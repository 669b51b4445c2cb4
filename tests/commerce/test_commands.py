from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from commerce import services as commerce_services
from commerce.attribution_values import OrderData
from commerce.imports import read_orders as order_rows
from commerce.models import CommerceOrder, ExchangeRate
from tests.commerce.signing import FIXTURES
from tests.factories import StoreConnectionFactory

pytestmark = pytest.mark.django_db

CSV = (
    "\n".join(
        [
            "external_id,order_number,created_at,updated_at,currency,total_price,total_tax,"
            "total_shipping,refunded_amount,email,coupon_codes,utm_source,utm_campaign,utm_content",
            "1001,1001,2026-11-02T10:00:00Z,2026-11-02T10:00:00Z,USD,50.00,4.00,5.00,,"
            "a@example.com,SUMMER20,IG,summer-sale,post-3",
            "1002,1002,2026-11-02T11:00:00Z,2026-11-03T09:00:00Z,USD,80.00,0,0,10.00,"
            "b@example.com,,fb,,",
            "1003,1003,not a date,,USD,10.00,,,,,,,,",
            "1004,1004,2026-11-02T12:00:00Z,,USD,abc,,,,,,,,",
            "1005,1005,2026-11-02T13:00:00Z,,US,10.00,,,,,,,,",
        ]
    )
    + "\n"
)


def test_import_orders_reports_bad_lines_imports_good_ones_and_is_idempotent(tmp_path, capsys):
    store = StoreConnectionFactory()
    path = tmp_path / "orders.csv"
    path.write_text(CSV)

    call_command("import_orders", "--store", str(store.pk), str(path))
    out, err = capsys.readouterr()
    assert "2 created, 0 updated, 0 unchanged, 3 rejected." in out
    assert err.splitlines() == [
        "line 4: created_at: 'not a date' is not an ISO 8601 time",
        "line 5: total_price: 'abc' is not an amount",
        "line 6: currency: 'US' is not an ISO 4217 code",
    ]
    first = CommerceOrder.objects.get(external_id="1001")
    assert (first.utm_source, first.utm_content, first.coupon_codes) == (
        "instagram", "post-3", ["summer20"],
    )  # fmt: skip
    second = CommerceOrder.objects.get(external_id="1002")
    assert second.refunded_amount == Decimal("10.00")
    assert second.attributable_revenue() == Decimal("70.00")

    call_command("import_orders", "--store", str(store.pk), str(path))
    out, _ = capsys.readouterr()
    assert "0 created, 0 updated, 2 unchanged, 3 rejected." in out
    assert CommerceOrder.objects.count() == 2
    assert second.refunds.count() == 1


def test_import_orders_reads_the_platform_json_export(tmp_path, capsys):
    store = StoreConnectionFactory()
    order = (FIXTURES / "shopify_order_create.json").read_text()
    path = tmp_path / "orders.json"
    path.write_text('{"orders": [' + order + ', {"no": "id"}]}')
    call_command("import_orders", "--store", str(store.pk), str(path))
    out, err = capsys.readouterr()
    assert "1 created" in out
    assert err.strip() == "line 2: not a Shopify order: no id"
    assert CommerceOrder.objects.get().utm_content == "post-17"


def test_load_exchange_rates_converts_waiting_orders(tmp_path, capsys):
    store = StoreConnectionFactory()
    path = tmp_path / "orders.csv"
    path.write_text(
        "external_id,created_at,currency,total_price\n9,2026-11-02T10:00:00Z,EUR,100.00\n"
    )
    call_command("import_orders", "--store", str(store.pk), str(path))
    assert CommerceOrder.objects.get().is_converted is False
    rates = tmp_path / "rates.csv"
    rates.write_text("day,from,to,rate\n2026-11-01,EUR,USD,1.0850\n2026-11-01,EUR,USD,-1\n")
    call_command("load_exchange_rates", str(rates))
    out, err = capsys.readouterr()
    assert "1 rates loaded, 1 rejected." in out
    assert "line 3" in err
    order = CommerceOrder.objects.get()
    assert (order.is_converted, order.reporting_total) == (True, Decimal("108.50"))
    assert ExchangeRate.objects.get().day == datetime(2026, 11, 1, tzinfo=UTC).date()


RETURNING_CSV = """external_id,created_at,currency,total_price,email,is_returning_customer
r1,2026-11-03T10:00:00Z,USD,20.00,ana@example.com,
r2,2026-11-01T10:00:00Z,USD,20.00,ana@example.com,
r3,2026-11-04T10:00:00Z,USD,20.00,ben@example.com,
r4,2026-11-05T10:00:00Z,USD,20.00,cleo@example.com,
r5,2026-11-05T10:00:00Z,USD,20.00,cleo@example.com,
r6,2026-11-06T10:00:00Z,USD,20.00,ana@example.com,false
r7,2026-11-07T10:00:00Z,USD,20.00,,
"""


def test_import_orders_marks_returning_customers_as_the_live_path_does(tmp_path, capsys):
    """Where the file does not say, an order is a returning customer's when the same customer
    ordered before: an order already held (one that came by webhook) or one earlier in the file,
    in this batch or another. The live path, saving the same orders one by one in file order,
    answers the same but where the file knows an earlier order it had not seen yet."""
    imported, live = StoreConnectionFactory(), StoreConnectionFactory()
    held = OrderData(external_id="w1", order_number="w1", created_at=datetime(2026, 11, 2, tzinfo=UTC),
                     updated_at=datetime(2026, 11, 2, tzinfo=UTC), currency="USD",
                     total_price=Decimal("9.00"), customer_email="ben@example.com")  # fmt: skip
    for store in (imported, live):
        commerce_services.order_save(store=store, data=held)
    path = tmp_path / "returning.csv"
    path.write_text(RETURNING_CSV)

    call_command("import_orders", "--store", str(imported.pk), str(path), "--batch-size", "2")
    assert "7 created" in capsys.readouterr().out
    for data in order_rows(path, platform=live.platform, errors=[]):
        commerce_services.order_save(store=live, data=data)

    def returning(store):
        orders = CommerceOrder.objects.filter(store=store).exclude(external_id="w1")
        return dict(orders.values_list("external_id", "is_returning_customer"))

    assert returning(imported) == {
        "r1": True,  # r2, later in the file, was placed before it
        "r2": False,
        "r3": True,  # ben's webhook order came first
        "r4": False, "r5": False,  # the same instant: neither is before the other
        "r6": False,  # the file says so
        "r7": False,  # no customer
    }  # fmt: skip
    live_answers = returning(live)
    assert live_answers == returning(imported) | {"r1": False}  # live: r1 came before r2 did
