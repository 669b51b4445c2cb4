"""Hardening, round three (items 6, 7 and 9): cheap requests do not start whole-workspace work
over and over, unverified deliveries do not spend a store's budget, and the docs say what the
code does about API keys and settings."""

import json
from pathlib import Path

import pytest
from django_q.conf import Conf
from django_q.models import OrmQ

from omnisocial.models import ApiKey
from omnisocial.services import api_key_create
from tests.commerce.signing import hmac_b64
from tests.factories import CampaignFactory, StoreConnectionFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _queued(func: str) -> int:
    return sum(1 for row in OrmQ.objects.all() if row.func() == func)


def test_6_campaign_deletions_queue_one_rollup_rebuild(client, workspace, monkeypatch,
                                                       django_capture_on_commit_callbacks):  # fmt: skip
    monkeypatch.setattr(Conf, "SYNC", False)  # queued on the ORM broker; no worker runs here
    campaigns = CampaignFactory.create_batch(6, workspace=workspace)
    for campaign in campaigns:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/campaigns/", {"delete": str(campaign.pk)})
        assert response.status_code == 302
    assert workspace.campaigns.count() == 0
    assert _queued("attribution.tasks.rollups_rebuild") == 1
    # Once the queued rebuild starts, the next deletion queues another (it may have missed it).
    from attribution import tasks

    OrmQ.objects.all().delete()
    tasks.rollups_rebuild(workspace.pk)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/campaigns/", {"delete": str(CampaignFactory(workspace=workspace).pk)})
    assert _queued("attribution.tasks.rollups_rebuild") == 1


def test_6_requested_recalculations_have_a_cooldown(workspace, settings,
                                                    django_capture_on_commit_callbacks):  # fmt: skip
    from rest_framework.test import APIClient

    settings.RECALCULATION_COOLDOWN = 300
    _, raw = api_key_create(workspace=workspace, name="ci", scope=ApiKey.Scope.WRITE)
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    with django_capture_on_commit_callbacks(execute=True):  # the worker runs it
        first = api.post("/attribution/recalculations", {}, format="json")
    assert first.status_code == 202
    statuses = [api.post("/attribution/recalculations", {}, format="json") for _ in range(5)]
    assert {r.status_code for r in statuses} == {429}
    assert 295 <= int(statuses[0]["Retry-After"]) <= 300
    assert "ask again in" in statuses[0].json()["detail"]
    assert api.get("/attribution/recalculations").json()["count"] == 1
    settings.RECALCULATION_COOLDOWN = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/attribution/recalculations", {}, format="json").status_code == 202


def _shopify(store, body: bytes, *, secret: str | None = None, topic="orders/create") -> dict:
    return {
        "HTTP_X_SHOPIFY_HMAC_SHA256": hmac_b64(secret or store.webhook_secret, body),
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": store.shop_domain,
        "HTTP_X_SHOPIFY_EVENT_ID": f"evt-{hash(body) & 0xFFFFFF}",
    }


def test_7_unverified_deliveries_do_not_spend_the_stores_budget(anon_client, workspace, settings):
    settings.COMMERCE_WEBHOOK_RATE = "3/min"
    settings.COMMERCE_WEBHOOK_UNVERIFIED_RATE = "1000/min"
    store = StoreConnectionFactory(workspace=workspace)
    url = f"/commerce/stores/{store.pk}/webhooks/shopify"
    forged = json.dumps({"id": 1}).encode()
    for n in range(10):  # unsigned traffic from many addresses
        response = anon_client.post(url, forged, content_type="application/json",
                                    REMOTE_ADDR=f"203.0.113.{n}",
                                    **_shopify(store, forged, secret="not-the-secret"))  # fmt: skip
        assert response.status_code == 401
    answers = []
    for n in range(4):  # the store's real deliveries (an unhandled topic: stored and answered 200)
        body = json.dumps({"id": 100 + n}).encode()
        answers.append(anon_client.post(url, body, content_type="application/json",
                                        **_shopify(store, body, topic="shop/update")).status_code)  # fmt: skip
    assert answers == [200, 200, 200, 429]


def test_9_the_docs_say_no_api_key_changes_the_workspace_settings(workspace):
    from rest_framework.test import APIClient

    _, raw = api_key_create(workspace=workspace, name="ci", scope=ApiKey.Scope.WRITE)
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.patch("/api/workspace", {"lookbackDays": 7}, format="json").status_code == 403
    api_doc = (ROOT / "docs/api.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "or one of its API keys" not in api_doc
    assert "owner or an API key changes them" not in readme
    assert "an API key, whatever its scope, and any other member get 403" in api_doc
