"""A workspace's attribution settings: read by everyone in it, changed by its owner (or one of its
API keys) through the API or the settings page; a change of the revenue basis re-attributes
every order, so every figure follows it."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from attribution import engine
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData
from omnisocial.models import Membership
from tests.analytics.conftest import key_client
from tests.factories import MembershipFactory, PostFactory, StoreConnectionFactory, UserFactory

AT = datetime(2026, 11, 20, 15, tzinfo=UTC)


@pytest.fixture
def order(workspace):
    """117.50 = 100.00 of merchandise + 7.50 tax + 10.00 shipping, credited to a post."""
    store = StoreConnectionFactory(workspace=workspace)
    post = PostFactory(workspace=workspace, platform="instagram", reference="linen")
    data = OrderData(
        external_id="1", order_number="#1", created_at=AT, updated_at=AT, currency="USD",
        total_price=Decimal("117.50"), total_tax=Decimal("7.50"), total_shipping=Decimal("10.00"),
        attribution=Attribution(utm_content="linen", utm_source="instagram"), customer_id="c1",
        lines=[LineData(title="Shirt", quantity=1, price=Decimal("100.00"))],
    )  # fmt: skip
    engine.order_attribute(order_id=commerce_services.order_save(store=store, data=data).pk)
    return post


def revenue(api) -> str:
    body = api.get("/commerce/revenue/dashboard?from=2026-11-01&to=2026-11-30").json()
    return body["totalSocialRevenue"]["value"]


def test_the_api_reads_and_the_owner_changes_the_settings_and_figures_follow(
    workspace, order, api_client, django_capture_on_commit_callbacks
):
    api = key_client(workspace)
    # No API key changes the settings, however it is scoped; the owner signed in does.
    assert api.patch("/api/workspace", {"revenueBasis": "net"}, format="json").status_code == 403
    assert api.get("/api/workspace").json() == {
        "workspace": workspace.slug, "name": workspace.name, "reportingCurrency": "USD",
        "timeZone": "UTC", "revenueBasis": "total", "lookbackDays": 30,
        "attributionModels": workspace.attribution_models,
        "defaultAttributionModel": "last-touch",
    }  # fmt: skip
    assert revenue(api) == "117.50"
    with django_capture_on_commit_callbacks(execute=True):
        changed = api_client.patch("/api/workspace", {"revenueBasis": "net"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["revenueBasis"] == "net"
    assert revenue(api) == "100.00"  # re-attributed under merchandise
    for body, field in [
        ({"revenueBasis": "gross"}, "revenueBasis"),
        ({"lookbackDays": 0}, "lookbackDays"),
        ({"attributionModels": []}, "attributionModels"),
        ({"attributionModels": ["first-touch"]}, "defaultAttributionModel"),
    ]:
        refused = api_client.patch("/api/workspace", body, format="json")
        assert (refused.status_code, list(refused.json()["fields"])) == (400, [field]), body
    workspace.refresh_from_db()
    assert (workspace.revenue_basis, workspace.lookback_days) == ("net", 30)


def test_only_the_owner_changes_the_settings_on_the_page_and_through_the_session_api(
    workspace, order, django_capture_on_commit_callbacks
):
    owner, viewer = UserFactory(), UserFactory()
    MembershipFactory(user=owner, workspace=workspace, role=Membership.Role.OWNER)
    MembershipFactory(user=viewer, workspace=workspace, role=Membership.Role.VIEWER)
    as_viewer, as_owner = Client(), Client()
    as_viewer.force_login(viewer)
    as_owner.force_login(owner)

    page = as_viewer.get("/settings/")
    assert page.status_code == 200
    assert b"Only the workspace's owner changes these settings." in page.content
    form = {"revenue_basis": "net", "lookback_days": "14",
            "attribution_models": workspace.attribution_models,
            "default_attribution_model": "last-touch"}  # fmt: skip
    assert as_viewer.post("/settings/", form).status_code == 403
    assert as_viewer.patch("/api/workspace", {"revenueBasis": "net"},
                           content_type="application/json").status_code == 403  # fmt: skip
    workspace.refresh_from_db()
    assert workspace.revenue_basis == "total"

    bad = as_owner.post("/settings/", {**form, "lookback_days": "400"})
    assert bad.status_code == 400
    assert b"Ensure this value is less than or equal to 365." in bad.content
    with django_capture_on_commit_callbacks(execute=True):
        saved = as_owner.post("/settings/", form, follow=True)
    assert b"Every order is being re-attributed" in saved.content
    workspace.refresh_from_db()
    assert (workspace.revenue_basis, workspace.lookback_days) == ("net", 14)
    assert revenue(key_client(workspace)) == "100.00"
