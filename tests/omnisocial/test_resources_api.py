"""The resource API an API client sets a workspace up with: campaigns, posts, keys, rates."""

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from commerce.models import ExchangeRate
from omnisocial import services
from omnisocial.models import ApiKey
from omnisocial.throttling import ApiKeyRateThrottle
from tests.analytics.conftest import key_client
from tests.factories import (
    AllowedDomainFactory,
    CampaignFactory,
    PostFactory,
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
    assert duplicate.json() == {"slug": ["Another campaign already uses 'summer-sale'."]}

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
    assert set(response.json()) == {"campaign"}


def test_another_workspaces_resources_answer_404(api):
    other = WorkspaceFactory()
    post = PostFactory(workspace=other)
    campaign = CampaignFactory(workspace=other)
    key, _ = services.api_key_create(workspace=other, name="x")
    assert api.get(f"/api/posts/{post.pk}").status_code == 404
    assert api.patch(f"/api/posts/{post.pk}", {"caption": "x"}, format="json").status_code == 404
    assert api.get(f"/api/campaigns/{campaign.pk}").status_code == 404
    assert api.delete(f"/api/keys/{key.pk}").status_code == 404
    assert api.get("/api/posts").json()["count"] == 0
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_a_key_shows_its_secret_once_and_stops_working_when_revoked(api, workspace):
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


def test_exchange_rates_are_added_once_per_day_and_pair(api):
    body = {"day": "2026-11-20", "fromCurrency": "eur", "toCurrency": "USD", "rate": "1.08"}
    response = api.post("/api/exchange-rates", body, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"], "day": "2026-11-20", "fromCurrency": "EUR",
        "toCurrency": "USD", "rate": "1.0800000000",
    }  # fmt: skip
    again = api.post("/api/exchange-rates", {**body, "rate": "9.99"}, format="json")
    assert again.status_code == 400
    assert set(again.json()) == {"day"}
    assert ExchangeRate.objects.get().rate == Decimal("1.08")
    assert api.post("/api/exchange-rates", {**body, "rate": "0"}, format="json").status_code == 400
    listed = api.get("/api/exchange-rates?fromCurrency=EUR&after=2026-11-01").json()
    assert [(r["day"], r["rate"]) for r in listed["results"]] == [("2026-11-20", "1.0800000000")]
    assert ExchangeRate.objects.filter(day=date(2026, 11, 20)).count() == 1


def test_requests_beyond_the_rate_answer_429_with_retry_after(api, workspace, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api": "3/min"})
    assert [api.get("/api/workspace").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/api/workspace")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["detail"]
    # Another key has its own bucket.
    assert key_client(workspace).get("/api/workspace").status_code == 200


def test_the_schema_and_docs_are_served(api, anon_client):
    response = anon_client.get("/api/schema")
    assert response.status_code == 200
    schema = response.content.decode()
    for path in ["/commerce/revenue/dashboard", "/commerce/revenue/posts/{post_id}",
                 "/commerce/orders", "/commerce/segments", "/commerce/coupons", "/api/posts",
                 "/api/keys", "/api/exchange-rates", "/api/campaigns"]:  # fmt: skip
        assert f"{path}:" in schema, path
    assert "totalSocialRevenue" in schema and "workspaceApiKey" in schema
    docs = anon_client.get("/api/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()


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
        assert "publishedAt" in response.json()
    assert api.get("/api/posts", {"publishedAfter": "2026-11-20T10:15:00-23:35"}).status_code == 200
    assert api.get("/api/posts", {"publishedAfter": "0001-01-01T00:00:00Z"}).status_code == 400
