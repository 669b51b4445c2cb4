"""PostgreSQL unavailable: pages, the login form and the API answer 503 with Retry-After (a short
page for browsers, `{"detail": ...}` for API clients), never a 500, and work again once it is
back. A link no cache holds answers 503 the same way."""

import pytest
from django.test import Client

from omnisocial import services
from tests.factories import MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from tests.reliability.conftest import database_unreachable, postgresql_only

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def assert_unavailable(response, *, html: bool):
    assert response.status_code == 503, response.status_code
    assert int(response["Retry-After"]) > 0
    if html:
        assert response["Content-Type"].startswith("text/html")
        assert b"temporarily unavailable" in response.content
    else:
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


def test_pages_login_and_api_answer_503_while_the_database_is_down():
    workspace = WorkspaceFactory()
    user = UserFactory()
    MembershipFactory(user=user, workspace=workspace)
    post = PostFactory(workspace=workspace)
    _, raw = services.api_key_create(workspace=workspace, name="outage")
    browser = Client(headers=HTML)
    browser.force_login(user)
    api = Client(headers={"authorization": f"Bearer {raw}"})
    assert browser.get("/posts/").status_code == 200
    assert api.get("/api/workspace").status_code == 200

    with database_unreachable():
        for path in ("/posts/", f"/posts/{post.pk}/", "/commerce/stores/", "/"):
            assert_unavailable(browser.get(path), html=True)
        assert_unavailable(
            Client(headers=HTML).post(
                "/accounts/login/", {"username": user.username, "password": "x"}
            ),
            html=True,
        )
        assert_unavailable(api.get("/api/workspace"), html=False)
        assert_unavailable(api.get("/api/posts"), html=False)
        assert_unavailable(browser.get("/api/posts", headers={"Accept": "application/json"}),
                           html=False)  # fmt: skip
        assert_unavailable(Client(headers=HTML).get("/r/unknown"), html=True)

    assert browser.get("/posts/").status_code == 200
    assert api.get("/api/workspace").status_code == 200
