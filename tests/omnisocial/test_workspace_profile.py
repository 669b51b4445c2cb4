"""Settings › Workspace: the owner renames the workspace and sets its reporting currency (until the
first order) and time zone (every figure is rebuilt in it); each form saves only its own fields."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from attribution import engine
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData
from omnisocial.models import Membership
from tests.analytics.conftest import key_client
from tests.factories import (
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    UserFactory,
    WorkspaceFactory,
)

# 20 Nov 2026, 15:00 UTC: already 21 Nov at Kiritimati (UTC+14).
AT = datetime(2026, 11, 20, 15, tzinfo=UTC)
PROFILE = {"form": "workspace", "name": "Acme Shoes", "reporting_currency": "eur",
           "time_zone": "Europe/Paris"}  # fmt: skip


@pytest.fixture
def order(workspace):
    store = StoreConnectionFactory(workspace=workspace)
    PostFactory(workspace=workspace, platform="instagram", reference="linen")
    data = OrderData(
        external_id="1", order_number="#1", created_at=AT, updated_at=AT, currency="USD",
        total_price=Decimal("117.50"), attribution=Attribution(utm_content="linen",
        utm_source="instagram"), customer_id="c1",
        lines=[LineData(title="Shirt", quantity=1, price=Decimal("117.50"))],
    )  # fmt: skip
    engine.order_attribute(order_id=commerce_services.order_save(store=store, data=data).pk)


def revenue_on(api, day: str) -> str:
    body = api.get(f"/commerce/revenue/dashboard?from={day}&to={day}").json()
    return body["totalSocialRevenue"]["value"]


def test_the_owner_renames_and_sets_currency_and_time_zone_and_only_those_change(client, workspace):
    before = (workspace.revenue_basis, workspace.lookback_days, workspace.attribution_models)
    page = client.get("/settings/")
    assert page.context["profile_form"].initial == {
        "name": workspace.name, "reporting_currency": "USD", "time_zone": "UTC",
    }  # fmt: skip
    saved = client.post("/settings/", PROFILE, follow=True)
    assert b"Saved. Every figure is being rebuilt in the new time zone" in saved.content
    workspace.refresh_from_db()
    assert (workspace.name, workspace.reporting_currency, workspace.time_zone) == (
        "Acme Shoes", "EUR", "Europe/Paris",
    )  # fmt: skip
    assert (workspace.revenue_basis, workspace.lookback_days, workspace.attribution_models) == (
        before
    )
    assert b"reporting in EUR \xc2\xb7 days cut in Europe/Paris" in saved.content
    assert b"Nothing changed." in client.post("/settings/", PROFILE, follow=True).content
    # The attribution form leaves the workspace's name, currency and zone alone.
    client.post("/settings/", {"revenue_basis": "net", "lookback_days": "14",
                               "attribution_models": workspace.attribution_models,
                               "default_attribution_model": "last-touch"})  # fmt: skip
    workspace.refresh_from_db()
    assert (workspace.name, workspace.reporting_currency, workspace.time_zone,
            workspace.lookback_days) == ("Acme Shoes", "EUR", "Europe/Paris", 14)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"name": "  "}, "name", "This field is required."),
        ({"name": "taken by b"}, "name", "A workspace named 'taken by b' already exists."),
        ({"reporting_currency": "E1R"}, "reporting_currency",
         "'E1R' is not a three-letter ISO 4217 code such as USD."),
        ({"time_zone": "Europe/Atlantis"}, "time_zone",
         "Select a valid choice. Europe/Atlantis is not one of the available choices."),
    ],
)  # fmt: skip
def test_the_workspace_form_refuses_with_the_reason(client, workspace, change, field, error):
    WorkspaceFactory(name="Taken by B")
    response = client.post("/settings/", {**PROFILE, **change})
    assert response.status_code == 400
    assert response.context["profile_form"].errors[field] == [error]
    workspace.refresh_from_db()
    assert (workspace.reporting_currency, workspace.time_zone) == ("USD", "UTC")


def test_the_currency_is_fixed_once_orders_arrive(client, workspace, order):
    refused = client.post("/settings/", {**PROFILE, "time_zone": "UTC"})
    assert refused.status_code == 400
    assert refused.context["profile_form"].errors == {
        "reporting_currency": [
            "Orders are already recorded in USD: the reporting currency is fixed once the first "
            "order arrives."
        ]
    }
    workspace.refresh_from_db()
    assert (workspace.name, workspace.reporting_currency) != ("Acme Shoes", "EUR")
    renamed = client.post("/settings/", {**PROFILE, "reporting_currency": "USD",
                                         "time_zone": "UTC"})  # fmt: skip
    assert renamed.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.name, workspace.reporting_currency) == ("Acme Shoes", "USD")


def test_a_new_time_zone_rebuilds_the_days_of_every_figure(
    client, workspace, order, django_capture_on_commit_callbacks
):
    api = key_client(workspace)
    assert (revenue_on(api, "2026-11-20"), revenue_on(api, "2026-11-21")) == ("117.50", "0.00")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/settings/", {**PROFILE, "reporting_currency": "USD",
                                   "time_zone": "Pacific/Kiritimati"})  # fmt: skip
    assert (revenue_on(api, "2026-11-20"), revenue_on(api, "2026-11-21")) == ("0.00", "117.50")


def test_only_the_owner_changes_the_workspace(workspace):
    viewer = UserFactory()
    MembershipFactory(user=viewer, workspace=workspace, role=Membership.Role.ANALYST)
    as_analyst = Client()
    as_analyst.force_login(viewer)
    page = as_analyst.get("/settings/")
    assert b'<input type="text" name="name"' not in page.content
    assert f"<span>{workspace.name}</span>".encode() in page.content
    assert as_analyst.post("/settings/", PROFILE).status_code == 403
    workspace.refresh_from_db()
    assert workspace.time_zone == "UTC"
