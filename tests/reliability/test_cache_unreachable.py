"""The shared cache (Redis, CACHE_URL) cannot be reached: short links still redirect (read from
the database), and what needs a rate-limit counter answers 503 with Retry-After, neither a 500
nor a request let through unlimited."""

from django.test import Client

from attribution.models import Click
from omnisocial import services
from omnisocial.settings import caches_from_url
from tests.attribution.test_clicks import HUMAN_UA
from tests.commerce import signing
from tests.factories import PostFactory, StoreConnectionFactory
from tests.reliability.conftest import closed_port


def test_links_redirect_and_limited_requests_answer_503_without_the_cache(
    settings, workspace, user
):
    store = StoreConnectionFactory(workspace=workspace)
    link = PostFactory(workspace=workspace, link_url=f"https://{store.shop_domain}/p/1").links.get()
    _, raw = services.api_key_create(workspace=workspace, name="k")
    settings.CACHES = caches_from_url(f"redis://127.0.0.1:{closed_port()}/0")

    response = Client(HTTP_USER_AGENT=HUMAN_UA).get(f"/r/{link.code}")
    assert response.status_code == 302 and Click.objects.filter(link=link).count() == 1

    login = Client(headers={"Accept": "text/html"}).post(
        "/accounts/login/", {"username": user.username, "password": "correct horse battery"}
    )
    api = Client(headers={"authorization": f"Bearer {raw}"}).get("/api/workspace")
    body = signing.fixture_bytes("shopify_order_create.json")
    webhook = Client().post(
        signing.url(store), body, content_type="application/json",
        **signing.shopify_headers(store, body),
    )  # fmt: skip
    for answer in (login, api, webhook):
        assert answer.status_code == 503 and int(answer["Retry-After"]) > 0
    assert b"cache cannot be reached" in login.content
    assert "cache cannot be reached" in api.json()["detail"]
