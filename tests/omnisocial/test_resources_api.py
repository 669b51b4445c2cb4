"""The resource API an API client sets a workspace up with: campaigns, posts, keys, rates."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from commerce import services as commerce_services
from commerce.models import ExchangeRate
from omnisocial import services
from omnisocial.models import ApiKey
from omnisocial.throttling import ApiKeyRateThrottle
from tests.analytics.conftest import key_client, order_record
from tests.factories import (
    AllowedDomainFactory,
    CampaignFactory,
    PostFactory,
    StoreConnectionFactory,
    WorkspaceFactory,
)


@pytest.fixture
def api(workspace):
    return key_client(workspace)


def test_campaigns_are_created_listed_renamed_and_filtered(api, workspace):
    response = api.post("/api/campaigns", {"name": "Summer Sale"}, format="json")
    assert response.status_code == 201
    created = response.json()
    assert (created["name"], created["slug"]) == ("Summer Sale", "summer-sale")

    duplicate = api.post("/api/campaigns", {"name": "Again", "slug": "summer-sale"}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["fields"] == {"slug": ["Another campaign already uses 'summer-sale'."]}

    renamed = api.patch(f"/api/campaigns/{created['id']}", {"name": "Summer"}, format="json")
    assert (renamed.json()["name"], renamed.json()["slug"]) == ("Summer", "summer-sale")
    CampaignFactory(workspace=workspace, name="Winter", slug="winter")
    names = [c["name"] for c in api.get("/api/campaigns?name=sum").json()["results"]]
    assert names == ["Summer"]


def test_a_post_is_created_through_the_service_with_its_reference_and_tagged_links(api, workspace):
    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    campaign = CampaignFactory(workspace=workspace, slug="fall-drop")
    response = api.post(
        "/api/posts",
        {
            "platform": "instagram", "caption": "New drop https://elsewhere.example/x",
            "linkUrl": "https://shop.example/p/1", "campaign": campaign.pk,
            "boostedSpend": "25.00",
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201
    data = response.json()
    assert data["reference"] == f"post-{data['id']}"
    assert data["boostedSpend"] == "25.00"
    [link] = data["taggedLinks"]
    assert link["shortUrl"] == f"http://testserver/r/{link['code']}"
    assert link["taggedUrl"] == (
        "https://shop.example/p/1?utm_source=instagram&utm_medium=social"
        f"&utm_campaign=fall-drop&utm_content=post-{data['id']}"
    )
    assert [u["url"] for u in data["untaggedUrls"]] == ["https://elsewhere.example/x"]

    patched = api.patch(f"/api/posts/{data['id']}", {"caption": "Edited"}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["caption"], patched.json()["reference"]) == (
        "Edited", data["reference"],
    )  # fmt: skip
    assert patched.json()["campaign"] == campaign.pk
    listed = api.get("/api/posts?platform=instagram").json()
    assert [p["id"] for p in listed["results"]] == [data["id"]]
    assert api.get("/api/posts?platform=tiktok").json()["count"] == 0


def test_a_post_naming_another_workspaces_campaign_is_refused(api):
    theirs = CampaignFactory(workspace=WorkspaceFactory())
    response = api.post("/api/posts", {"platform": "tiktok", "campaign": theirs.pk}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"campaign"}


def test_another_workspaces_resources_answer_404(api, api_client):
    other = WorkspaceFactory()
    post = PostFactory(workspace=other)
    campaign = CampaignFactory(workspace=other)
    key, _ = services.api_key_create(workspace=other, name="x")
    assert api.get(f"/api/posts/{post.pk}").status_code == 404
    assert api.patch(f"/api/posts/{post.pk}", {"caption": "x"}, format="json").status_code == 404
    assert api.get(f"/api/campaigns/{campaign.pk}").status_code == 404
    # Revoking keys is for an owner signed in (a key gets 403 for any id); the owner gets 404.
    assert api.delete(f"/api/keys/{key.pk}").status_code == 403
    assert api_client.delete(f"/api/keys/{key.pk}").status_code == 404
    assert api.get("/api/posts").json()["count"] == 0
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_a_key_shows_its_secret_once_and_stops_working_when_revoked(api_client, workspace):
    api = api_client  # minting keys is for an owner signed in
    response = api.post("/api/keys", {"name": "Reporting"}, format="json")
    assert response.status_code == 201
    created = response.json()
    assert created["key"].startswith(created["prefix"] + "_")
    listed = api.get("/api/keys").json()["results"]
    assert all("key" not in item for item in listed)
    assert {item["prefix"] for item in listed} >= {created["prefix"]}

    new_client = APIClient()
    new_client.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    assert new_client.get("/api/workspace").json()["workspace"] == workspace.slug
    assert api.delete(f"/api/keys/{created['id']}").status_code == 204
    assert new_client.get("/api/workspace").status_code == 401
    revoked = api.get(f"/api/keys/{created['id']}").json()
    assert (revoked["isActive"], revoked["revokedAt"] is not None) == (False, True)


def test_a_workspace_sets_and_corrects_its_own_rates_for_a_day_or_a_range(api, workspace):
    body = {"day": "2026-11-20", "fromCurrency": "eur", "toCurrency": "USD", "rate": "1.08"}
    response = api.post("/api/exchange-rates", body, format="json")
    assert response.status_code == 201
    first = response.json()["results"][0]
    assert response.json() == {"count": 1, "results": [{
        "id": first["id"], "day": "2026-11-20", "fromCurrency": "EUR", "toCurrency": "USD",
        "rate": "1.0800000000", "scope": "workspace",
    }]}  # fmt: skip
    corrected = api.post("/api/exchange-rates", {**body, "rate": "1.09"}, format="json")
    assert corrected.status_code == 201
    assert corrected.json()["results"][0]["id"] == first["id"]
    assert ExchangeRate.objects.get().rate == Decimal("1.09")

    ranged = {"startDate": "2026-11-18", "endDate": "2026-11-21", "fromCurrency": "EUR",
              "toCurrency": "USD", "rate": "1.10"}  # fmt: skip
    response = api.post("/api/exchange-rates", ranged, format="json")
    assert response.status_code == 201
    assert [(r["day"], r["rate"]) for r in response.json()["results"]] == [
        (f"2026-11-{d}", "1.1000000000") for d in (18, 19, 20, 21)
    ]
    assert ExchangeRate.objects.filter(workspace=workspace).count() == 4

    for bad, field in [
        ({**body, "rate": "0"}, "rate"),
        ({**ranged, "endDate": "2026-11-01"}, "endDate"),
        ({**ranged, "endDate": "2028-01-01"}, "endDate"),
        ({**body, "startDate": "2026-11-01"}, "day"),
        ({**body, "day": "0001-01-01"}, "day"),
        ({**body, "toCurrency": "EUR"}, "toCurrency"),
    ]:
        answer = api.post("/api/exchange-rates", bad, format="json")
        assert (answer.status_code, list(answer.json()["fields"])) == (400, [field]), bad
    listed = api.get("/api/exchange-rates?fromCurrency=EUR&after=2026-11-20").json()
    assert [(r["day"], r["rate"]) for r in listed["results"]] == [
        ("2026-11-21", "1.1000000000"), ("2026-11-20", "1.1000000000"),
    ]  # fmt: skip


def test_a_posted_rate_never_converts_another_workspaces_orders(api, workspace):
    """One workspace's key used to post a global rate that converted every workspace's waiting
    orders with it (an SEK 100.00 order elsewhere became 100,000,000.00)."""
    other = WorkspaceFactory()
    theirs = StoreConnectionFactory(workspace=other, shop_domain="theirs.myshopify.com")
    ours = StoreConnectionFactory(workspace=workspace)
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    their_order = order_record(theirs, 1, at=at, total="100.00", currency="SEK")
    our_order = order_record(ours, 2, at=at, total="100.00", currency="SEK")
    assert (their_order.is_converted, our_order.is_converted) == (False, False)

    body = {"day": "2026-11-20", "fromCurrency": "SEK", "toCurrency": "USD", "rate": "1000000"}
    assert api.post("/api/exchange-rates", body, format="json").status_code == 201
    their_order.refresh_from_db()
    our_order.refresh_from_db()
    assert (their_order.is_converted, their_order.reporting_total) == (False, None)
    assert (our_order.is_converted, our_order.reporting_total) == (True, Decimal("100000000.00"))
    # The other workspace neither sees the rate nor is converted by it...
    assert key_client(other).get("/api/exchange-rates").json()["count"] == 0
    # ...and a shared rate loaded by staff converts both, our own rate still winning for us.
    commerce_services.exchange_rates_load(rates=[(at.date(), "SEK", "USD", Decimal("0.095"))])
    their_order.refresh_from_db()
    our_order.refresh_from_db()
    assert their_order.reporting_total == Decimal("9.50")
    assert our_order.reporting_total == Decimal("100000000.00")
    body["rate"] = "0.1"
    assert api.post("/api/exchange-rates", body, format="json").status_code == 201
    our_order.refresh_from_db()
    their_order.refresh_from_db()
    assert (our_order.reporting_total, their_order.reporting_total) == (
        Decimal("10.00"), Decimal("9.50"),
    )  # fmt: skip


def test_requests_beyond_the_rate_answer_429_with_retry_after(api, workspace, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api": "3/min"})
    assert [api.get("/api/workspace").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/api/workspace")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["detail"]
    # Another key has its own bucket.
    assert key_client(workspace).get("/api/workspace").status_code == 200


def test_the_schema_and_docs_are_served(api, client):
    """To an API key and to a signed-in user; the docs page reads the schema with the session."""
    response = api.get("/api/schema")
    assert response.status_code == 200
    assert client.get("/api/schema").content == response.content
    schema = response.content.decode()
    for path in ["/commerce/revenue/dashboard", "/commerce/revenue/posts/{post_id}",
                 "/commerce/orders", "/commerce/segments", "/commerce/coupons", "/api/posts",
                 "/api/keys", "/api/exchange-rates", "/api/campaigns"]:  # fmt: skip
        assert f"{path}:" in schema, path
    assert "totalSocialRevenue" in schema and "workspaceApiKey" in schema
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()


def test_the_schema_and_docs_are_not_public(anon_client, workspace):
    response = anon_client.get("/api/schema")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    revoked, raw_key = services.api_key_create(workspace=workspace, name="revoked")
    services.api_key_revoke(key=revoked)
    response = anon_client.get("/api/schema", headers={"authorization": f"Bearer {raw_key}"})
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Unknown or revoked API key.",
        "code": "authentication_failed",
    }
    docs = anon_client.get("/api/docs")
    assert docs.status_code == 302
    assert docs.url == "/accounts/login/?next=/api/docs"


@pytest.mark.parametrize(
    ("value", "status", "stored"),
    [
        ("2026-11-20T10:15:00+05:30", 201, "2026-11-20T04:45:00Z"),
        ("2026-11-20T10:15:00-23:35", 201, "2026-11-21T09:50:00Z"),
        ("0416-11-17T18:54:07Z", 400, None),
        ("2026-11-20T10:15:00", 201, "2026-11-20T10:15:00Z"),  # no offset: the server's UTC
    ],
)
def test_post_times_are_stored_in_utc_and_out_of_range_ones_refused(api, value, status, stored):
    response = api.post("/api/posts", {"platform": "tiktok", "publishedAt": value}, format="json")
    assert response.status_code == status, response.json()
    if stored:
        assert response.json()["publishedAt"] == stored
    else:
        assert "publishedAt" in response.json()["fields"]
    assert api.get("/api/posts", {"publishedAfter": "2026-11-20T10:15:00-23:35"}).status_code == 200
    assert api.get("/api/posts", {"publishedAfter": "0001-01-01T00:00:00Z"}).status_code == 400


def test_a_second_post_with_the_same_external_id_or_reference_is_a_400(api, workspace):
    body = {"platform": "instagram", "externalId": "ig-1", "reference": "spring"}
    assert api.post("/api/posts", body, format="json").status_code == 201
    again = api.post("/api/posts", {**body, "reference": ""}, format="json")
    assert (again.status_code, again.json()["fields"]) == (
        400, {"externalId": ["Another instagram post already has the id 'ig-1'."]},
    )  # fmt: skip
    twin = api.post("/api/posts", {**body, "externalId": "ig-2"}, format="json")
    assert (twin.status_code, twin.json()["fields"]) == (
        400, {"reference": ["Another post already uses the reference 'spring'."]},
    )  # fmt: skip
    assert workspace.posts.count() == 1
    # The same external id on another platform is another post.
    assert api.post("/api/posts", {**body, "platform": "tiktok", "reference": ""},
                    format="json").status_code == 201  # fmt: skip
