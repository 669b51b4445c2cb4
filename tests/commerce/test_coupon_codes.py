"""Coupon codes keep what the marketer typed and match orders without case: "Summer20" is shown
as "Summer20" on the page, in the API, the CSV and the admin, an order that used "SUMMER20"
credits its posts (live and after a rebuild) and counts as its redemption, and a second code
that differs only by case is refused with the reason, by the API, the Coupons page and the
admin alike."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError

from attribution import engine
from commerce import services as commerce_services
from commerce.attribution_values import OrderData
from commerce.models import Coupon
from tests.analytics.conftest import key_client
from tests.analytics.pages.test_pages import rows_of, text
from tests.factories import PostFactory, StoreConnectionFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 20, 15, tzinfo=UTC)
NOVEMBER = "from=2026-11-01&to=2026-11-30"
TAKEN = (
    "The coupon Summer20 already exists, and codes match orders in any case, so summer20 would "
    "be the same code. Use Summer20 to change it or add posts to it."
)


@pytest.fixture
def shop(workspace):
    """Summer20, typed so, distributed by two posts: one published Nov 1, one Nov 10."""
    store = StoreConnectionFactory(workspace=workspace, currency="USD")
    early = PostFactory(workspace=workspace, platform="instagram",
                        published_at=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    late = PostFactory(workspace=workspace, platform="tiktok",
                       published_at=datetime(2026, 11, 10, tzinfo=UTC))  # fmt: skip
    api = key_client(workspace)
    created = api.post("/commerce/coupons", {"code": " Summer20 ", "posts": [early.pk, late.pk]},
                       format="json")  # fmt: skip
    assert created.status_code == 201
    return {"store": store, "early": early, "late": late, "api": api}


def order_with(store, code: str, n: int = 1):
    return commerce_services.order_save(
        store=store,
        data=OrderData(
            external_id=str(n),
            order_number=f"#{n}",
            created_at=AT,
            updated_at=AT,
            currency="USD",
            total_price=Decimal("80.00"),
            coupon_codes=[code],
            customer_id=f"buyer-{n}",
        ),  # fmt: skip
    )


def credited(api, number: str) -> dict[str, list[tuple]]:
    """{model: [(post id, weight, revenue)]} of one order, from GET /commerce/orders."""
    found = {}
    for model in ("first-touch", "last-touch", "multi-touch"):
        answer = api.get(f"/commerce/orders?model={model}&range=all").json()
        (order,) = [o for o in answer["results"] if o["orderNumber"] == number]
        found[model] = [(a["postId"], a["attributionWeight"], a["revenue"])
                        for a in order["attributions"]]  # fmt: skip
    return found


def test_a_code_is_kept_and_shown_as_typed(client, shop, admin_client):
    coupon = Coupon.objects.get()
    assert (coupon.code, str(coupon)) == ("Summer20", "Summer20")
    results = shop["api"].get(f"/commerce/coupons?{NOVEMBER}").json()["results"]
    assert [row["code"] for row in results] == ["Summer20"]
    assert "<code>Summer20</code>" in client.get("/analytics/coupons/").content.decode()
    csv_rows = rows_of(client.get(f"/analytics/coupons/?{NOVEMBER}&export=coupons"))
    assert [row[0] for row in csv_rows] == ["code", "Summer20"]
    post_page = text(client.get(f"/analytics/posts/{shop['early'].pk}/"))
    assert "Coupons it distributed Summer20" in post_page
    assert "Summer20" in text(admin_client.get("/admin/commerce/coupon/"))


def test_an_order_that_used_the_code_in_another_case_credits_its_posts_live_and_rebuilt(
    workspace, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order_with(shop["store"], "SUMMER20")
    early, late = shop["early"].pk, shop["late"].pk
    expected = {
        "first-touch": [(early, "1.000000", "80.00"), (late, "0.000000", "0.00")],
        "last-touch": [(early, "0.000000", "0.00"), (late, "1.000000", "80.00")],
        "multi-touch": [(early, "0.500000", "40.00"), (late, "0.500000", "40.00")],
    }
    assert credited(shop["api"], "#1") == expected
    engine.workspace_recalculate(workspace=workspace)
    assert credited(shop["api"], "#1") == expected
    (row,) = shop["api"].get(f"/commerce/coupons?{NOVEMBER}").json()["results"]
    assert (row["code"], row["redemptions"], row["revenue"]) == ("Summer20", 1, "80.00")


def test_an_order_that_used_the_code_twice_in_two_cases_redeems_it_once(shop):
    commerce_services.order_save(
        store=shop["store"],
        data=OrderData(
            external_id="2",
            order_number="#2",
            created_at=AT,
            updated_at=AT,
            currency="USD",
            total_price=Decimal("30.00"),
            coupon_codes=["SUMMER20", "summer20"],
        ),  # fmt: skip
    )
    (row,) = shop["api"].get(f"/commerce/coupons?{NOVEMBER}").json()["results"]
    assert (row["redemptions"], row["revenue"]) == (1, "30.00")


def test_the_api_refuses_the_code_in_another_case_and_the_same_code_adds_posts(shop):
    refused = shop["api"].post("/commerce/coupons", {"code": "summer20"}, format="json")
    assert refused.status_code == 400
    assert TAKEN in refused.content.decode()
    third = PostFactory(workspace=shop["store"].workspace)
    added = shop["api"].post("/commerce/coupons", {"code": "Summer20", "posts": [third.pk]},
                             format="json")  # fmt: skip
    assert added.status_code == 201
    assert added.json()["code"] == "Summer20"
    assert {p["id"] for p in added.json()["posts"]} == {shop["early"].pk, shop["late"].pk, third.pk}
    assert Coupon.objects.count() == 1


def test_the_coupons_page_refuses_the_code_in_another_case(client, shop):
    response = client.post("/analytics/coupons/", {"code": "summer20"})
    assert response.status_code == 400
    assert TAKEN in text(response)
    assert list(Coupon.objects.values_list("code", flat=True)) == ["Summer20"]


def test_the_admin_refuses_the_code_in_another_case(admin_client, shop):
    response = admin_client.post(
        "/admin/commerce/coupon/add/",
        {"workspace": shop["store"].workspace_id, "code": "SUMMER20", "posts": []},
    )
    assert response.status_code == 200  # the form again, with the reason
    assert (
        "This workspace already has this coupon code, perhaps in another case: codes match "
        "orders in any case, so SUMMER20 and summer20 are one code."
    ) in text(response)
    assert Coupon.objects.count() == 1


def test_the_database_refuses_the_code_in_another_case(shop):
    """The unique constraint holds whatever path writes (a bulk load, a race between two saves)."""
    with pytest.raises(IntegrityError):
        Coupon.objects.create(workspace=shop["store"].workspace, code="sUMMER20")
