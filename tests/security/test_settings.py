"""Security settings, rate limits and what is (not) stored."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from attribution.models import Click
from commerce import services as commerce_services
from commerce.models import CommerceOrder, WebhookDelivery
from omnisocial import services
from omnisocial.models import ApiKey
from tests.commerce import signing
from tests.factories import AllowedDomainFactory, PostFactory, StoreConnectionFactory

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "q8Vd2nH3kR9xT1mZ5bL7cW0yF4gJ6sP2uA8eN3vK5hQ1rX9tB7oM4iD6zC0wY2lE",
    "ALLOWED_HOSTS": "omnisocial.example",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_COOKIES": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_PRELOAD": "true",
    "TRUST_X_FORWARDED_PROTO": "true",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "FIELD_ENCRYPTION_KEYS": "mJ902lG-CHHxcNSnXnMQJTZdAi_tog7YwgFNgVzpl5E=",
    "PUBLIC_BASE_URL": "https://app.brand.example",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.brand.example",
}


def test_deploy_check_is_clean_with_the_production_environment():
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION} | PRODUCTION
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_development_defaults_are_flagged_by_the_deploy_check():
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "security.W009" in result.stderr  # the insecure development SECRET_KEY
    assert "omnisocial.W001" in result.stderr  # a cache of each process's own
    assert "omnisocial.W002" in result.stderr  # secrets at rest under a derived key
    assert "omnisocial.W003" in result.stderr  # no public origin for what is sent out


def test_without_cache_url_the_deploy_check_warns_that_limits_are_per_process():
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION} | PRODUCTION
    env.pop("DJANGO_SETTINGS_MODULE", None)
    del env["CACHE_URL"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "omnisocial.W001" in result.stderr and "CACHE_URL" in result.stderr
    assert "security.W" not in result.stderr  # that is the only issue


SHOW_CACHE = (
    "import django; django.setup(); from django.conf import settings; "
    "c = settings.CACHES['default']; print(c['BACKEND'], c.get('LOCATION', ''))"
)


@pytest.mark.parametrize(
    ("cache_url", "expected"),
    [
        ("redis://127.0.0.1:6379/1", "omnisocial.cache.RedisCache "
                                     "redis://127.0.0.1:6379/1"),
        ("", "django.core.cache.backends.locmem.LocMemCache "),
    ],
)  # fmt: skip
def test_cache_url_selects_the_shared_redis_cache(cache_url, expected):
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"} | {"CACHE_URL": cache_url}
    env["DJANGO_SETTINGS_MODULE"] = "omnisocial.settings"
    result = subprocess.run(
        [sys.executable, "-c", SHOW_CACHE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.strip()


def test_a_cache_url_that_is_not_redis_is_refused():
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    env |= {
        "CACHE_URL": "memcached://127.0.0.1:11211",
        "DJANGO_SETTINGS_MODULE": "omnisocial.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", SHOW_CACHE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode != 0 and "CACHE_URL" in result.stderr


def test_ssl_redirect_spares_the_webhooks(settings, workspace, db):
    settings.SECURE_SSL_REDIRECT = True
    store = StoreConnectionFactory(workspace=workspace)
    assert Client().get("/accounts/login/").status_code == 301
    body = signing.fixture_bytes("shopify_order_create.json")
    for url in (signing.url(store), signing.url(store) + "/"):
        response = Client().post(
            url, body, content_type="application/json", **signing.shopify_headers(store, body)
        )
        assert response.status_code == 200, url


def test_pages_carry_a_content_security_policy_with_a_nonce(client):
    response = client.get("/posts/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy  # plus the nonce on pages that use it (the charts)
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    html = response.content.decode()
    assert " on" + "change=" not in html and " on" + "click=" not in html


def test_no_template_has_inline_handlers_or_scripts_without_a_nonce():
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for handler in ("onclick=", "onchange=", "onsubmit=", "onload=", "javascript:"):
            assert handler not in text, f"{template}: {handler}"
        for line in text.splitlines():
            if "<script" in line:
                assert "src=" in line or "csp_nonce" in line, f"{template}: {line.strip()}"


# Rate limits -------------------------------------------------------------------------------------


def test_failed_logins_are_throttled_per_username_and_address(user, settings):
    settings.LOGIN_FAILURE_RATE = "3/15min"
    browser = Client()
    for _ in range(3):
        response = browser.post("/accounts/login/", {"username": user.username, "password": "no"})
        assert response.status_code == 200
    blocked = browser.post(
        "/accounts/login/", {"username": user.username, "password": "correct horse battery"}
    )
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert "_auth_user_id" not in browser.session
    # Another address, or another username, is not blocked.
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    response = elsewhere.post(
        "/accounts/login/", {"username": user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    other = browser.post("/accounts/login/", {"username": "someone@example.com", "password": "x"})
    assert other.status_code == 200


def test_a_successful_login_clears_the_failures(user, settings):
    settings.LOGIN_FAILURE_RATE = "3/15min"
    browser = Client()
    for _ in range(2):
        browser.post("/accounts/login/", {"username": user.username, "password": "no"})
    ok = browser.post(
        "/accounts/login/", {"username": user.username, "password": "correct horse battery"}
    )
    assert ok.status_code == 302
    browser.logout()
    for _ in range(2):
        response = browser.post("/accounts/login/", {"username": user.username, "password": "no"})
        assert response.status_code == 200


def test_webhooks_are_throttled_per_store(workspace, settings):
    settings.COMMERCE_WEBHOOK_RATE = "3/min"
    store = StoreConnectionFactory(workspace=workspace)
    other = StoreConnectionFactory(workspace=workspace, shop_domain="other.myshopify.com")
    body = signing.fixture_bytes("shopify_order_create.json")

    def send(target, n):
        return Client().post(
            signing.url(target), body, content_type="application/json",
            **signing.shopify_headers(target, body, event_id=f"e{n}"),
        )  # fmt: skip

    assert [send(store, n).status_code for n in range(3)] == [200, 200, 200]
    throttled = send(store, 4)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert send(other, 5).status_code == 200
    assert WebhookDelivery.objects.filter(store=store).count() == 3


def test_the_api_is_throttled_per_key(workspace, monkeypatch):
    from omnisocial.throttling import ApiKeyRateThrottle

    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api": "2/min"})
    _, raw = services.api_key_create(workspace=workspace, name="k")
    _, other = services.api_key_create(workspace=workspace, name="other")
    api = Client(headers={"authorization": f"Bearer {raw}"})
    assert [api.get("/api/workspace").status_code for _ in range(3)] == [200, 200, 429]
    fresh = Client(headers={"authorization": f"Bearer {other}"})
    assert fresh.get("/api/workspace").status_code == 200


# What is stored ----------------------------------------------------------------------------------


def _all_stored_text() -> str:
    """Every column of every row of the project's tables, as text."""
    from django.apps import apps

    chunks = []
    for model in apps.get_models():
        if model._meta.app_label not in {"omnisocial", "attribution", "commerce", "analytics"}:
            continue
        for row in model.objects.values():
            chunks.append(json.dumps(row, default=str))
    return "\n".join(chunks)


def test_api_keys_are_stored_as_hashes_only(workspace):
    key, raw = services.api_key_create(workspace=workspace, name="ci")
    assert raw not in _all_stored_text()
    secret_part = raw.split("_", 2)[2]
    assert secret_part not in _all_stored_text()
    assert ApiKey.objects.get(pk=key.pk).key_hash == ApiKey.hash_secret(raw)


def test_webhook_secrets_are_shown_once_to_the_creator_never_again(api_client, client, workspace):
    created = api_client.post(
        "/commerce/stores", {"platform": "custom", "shopDomain": "shop.example"}, format="json"
    ).json()
    secret = created["webhookSecret"]
    assert secret.startswith("whsec_")
    store_id = created["id"]
    assert secret not in json.dumps(api_client.get(f"/commerce/stores/{store_id}").json())
    assert secret not in json.dumps(api_client.get("/commerce/stores").json())
    for page in (f"/commerce/stores/{store_id}/", "/commerce/stores/"):
        assert secret not in client.get(page).content.decode()
    # A pasted secret (Shopify, WooCommerce) is never echoed, not even on creation.
    pasted = api_client.post(
        "/commerce/stores",
        {"platform": "shopify", "shopDomain": "x.myshopify.com", "webhookSecret": "shpss_pasted"},
        format="json",
    ).json()
    assert "webhookSecret" not in pasted and "shpss_pasted" not in json.dumps(pasted)


def test_raw_ip_addresses_are_not_stored(workspace):
    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    post = PostFactory(workspace=workspace, link_url="https://shop.example/p")
    link = post.links.get()
    Client(REMOTE_ADDR="198.51.100.77").get(link.short_path, headers={"user-agent": "Mozilla/5.0"})
    Client(REMOTE_ADDR="2001:db8:1234:5678::9").get(
        link.short_path, headers={"user-agent": "Mozilla/5.0"}
    )
    assert sorted(Click.objects.values_list("ip_prefix", flat=True)) == [
        "198.51.100.0/24",
        "2001:db8:1234::/48",
    ]
    stored = _all_stored_text()
    assert "198.51.100.77" not in stored and "2001:db8:1234:5678" not in stored


@pytest.mark.parametrize("customer_id", ["", "4412"])
def test_customer_emails_are_not_stored_on_orders(workspace, customer_id):
    from datetime import UTC, datetime
    from decimal import Decimal

    from commerce.attribution_values import Attribution, OrderData

    store = StoreConnectionFactory(workspace=workspace)
    data = OrderData(
        external_id="1", order_number="#1", created_at=datetime(2026, 11, 1, tzinfo=UTC),
        updated_at=datetime(2026, 11, 1, tzinfo=UTC), currency="USD",
        total_price=Decimal("10.00"), attribution=Attribution(), customer_id=customer_id,
        customer_email="Buyer.Person@Example.com",
    )  # fmt: skip
    order = commerce_services.order_save(store=store, data=data)
    order = CommerceOrder.objects.get(pk=order.pk)
    assert order.customer_key and "@" not in order.customer_key
    assert "buyer.person" not in _all_stored_text().lower()
