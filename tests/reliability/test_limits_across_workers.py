"""The rate limits hold across web processes: gunicorn with three workers sharing the Redis cache
(CACHE_URL) takes concurrent bursts of login attempts, API requests and webhooks failing
verification (counted against their sender), and exactly the limit gets through, whichever
worker serves each request."""

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from commerce.models import WebhookDelivery
from omnisocial import services
from tests.factories import (
    MembershipFactory,
    StoreConnectionFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.reliability.conftest import (
    gunicorn_server,
    http_request,
    postgresql_only,
    redis_flush,
    redis_only,
    test_database_url,
)

pytestmark = [postgresql_only, redis_only, pytest.mark.django_db(transaction=True)]

# A Redis database of this module's own, emptied before each test and after the last.
CACHE_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory):
    env = {
        "DATABASE_URL": test_database_url(),
        "CACHE_URL": CACHE_URL,
        "LOGIN_FAILURE_RATE": "5/h",
        "API_RATE_LIMIT": "30/h",
        "COMMERCE_WEBHOOK_RATE": "5/h",
        # Deliveries failing verification count against their sender (store and address), not
        # the store's budget: unsigned traffic must not push a store's real orders into 429.
        "COMMERCE_WEBHOOK_UNVERIFIED_RATE": "5/h",
    }
    redis_flush(CACHE_URL)
    log = tmp_path_factory.mktemp("gunicorn") / "limits.log"
    try:
        with gunicorn_server(env, workers=3, log=log) as address:
            yield address
    finally:
        redis_flush(CACHE_URL)


@pytest.fixture(autouse=True)
def _empty_counters(server):
    redis_flush(CACHE_URL)


def burst(send, n: int) -> list:
    """`n` calls of `send` over 12 concurrent connections: sync workers serve one request at a
    time, so the burst is spread over all three."""
    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(send, range(n)))


def test_exactly_five_password_checks_pass_across_workers(server):
    user = UserFactory()
    MembershipFactory(user=user, workspace=WorkspaceFactory())
    status, headers, page = http_request(server, "GET", "/accounts/login/")
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]  # csrftoken=...
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()

    def attempt(n, password="wrong"):
        form = {"username": user.username, "password": f"{password}-{n}",
                "csrfmiddlewaretoken": token}  # fmt: skip
        return http_request(
            server, "POST", "/accounts/login/", body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )  # fmt: skip

    answers = burst(attempt, 20)
    codes = Counter(status for status, _, _ in answers)
    assert codes == {200: 5, 429: 15}, codes  # 200: the password was checked (and was wrong)
    assert all(int(h["Retry-After"]) > 0 for status, h, _ in answers if status == 429)
    # The right password is refused too until the window ends, on every worker.
    for _ in range(6):
        status, _, _ = http_request(
            server, "POST", "/accounts/login/",
            body=urlencode({"username": user.username, "password": "correct horse battery",
                            "csrfmiddlewaretoken": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )  # fmt: skip
        assert status == 429


def test_the_api_limit_holds_across_workers(server):
    _, raw = services.api_key_create(workspace=WorkspaceFactory(), name="burst")

    def call(_n):
        return http_request(
            server, "GET", "/api/workspace", headers={"Authorization": f"Bearer {raw}"}
        )

    answers = burst(call, 60)
    codes = Counter(status for status, _, _ in answers)
    assert codes == {200: 30, 429: 30}, codes
    assert all(int(h["Retry-After"]) > 0 for status, h, _ in answers if status == 429)


def test_the_webhook_limit_answers_429_across_workers(server):
    store = StoreConnectionFactory(workspace=WorkspaceFactory())

    def deliver(n):
        return http_request(
            server, "POST", f"/commerce/stores/{store.pk}/webhooks/shopify", body=b"{}",
            headers={"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": "bad",
                     "X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": f"bad-{n}",
                     "X-Shopify-Shop-Domain": store.shop_domain},
        )  # fmt: skip

    answers = burst(deliver, 20)
    codes = Counter(status for status, _, _ in answers)
    assert codes == {401: 5, 429: 15}, codes  # 401: a bad signature, stored as rejected
    assert all(int(h["Retry-After"]) > 0 for status, h, _ in answers if status == 429)
    assert WebhookDelivery.objects.filter(store=store).count() == 5
