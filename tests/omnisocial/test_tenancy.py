import pytest
from rest_framework.test import APIClient

from omnisocial import services
from tests.factories import MembershipFactory, PostFactory, WorkspaceFactory


def test_a_post_of_another_workspace_answers_404(client, workspace):
    mine = PostFactory(workspace=workspace, caption="Mine")
    theirs = PostFactory(workspace=WorkspaceFactory(), caption="Theirs, secret")

    assert client.get(f"/posts/{mine.pk}/").status_code == 200
    response = client.get(f"/posts/{theirs.pk}/")
    assert response.status_code == 404
    assert b"Theirs, secret" not in response.content


def test_the_posts_page_lists_only_the_current_workspace(client, workspace):
    PostFactory(workspace=workspace, caption="Visible caption")
    PostFactory(workspace=WorkspaceFactory(), caption="Hidden caption")

    response = client.get("/posts/")
    assert response.status_code == 200
    assert b"Visible caption" in response.content
    assert b"Hidden caption" not in response.content


def test_the_switcher_changes_the_workspace_only_to_one_the_user_belongs_to(client, user):
    second = MembershipFactory(user=user).workspace
    PostFactory(workspace=second, caption="In the second workspace")
    stranger = WorkspaceFactory()

    assert b"In the second workspace" not in client.get("/posts/").content
    assert client.post("/workspaces/switch/", {"workspace": second.pk}).status_code == 302
    assert b"In the second workspace" in client.get("/posts/").content
    assert client.post("/workspaces/switch/", {"workspace": stranger.pk}).status_code == 404


def test_pages_need_login(anon_client, db):
    response = anon_client.get("/posts/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_serves_the_login_form_then_analytics_revenue(anon_client, user):
    response = anon_client.get("/")
    assert response.status_code == 200
    assert b'name="password"' in response.content
    response = anon_client.post(
        "/accounts/login/", {"username": user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert anon_client.get("/", follow=True).request["PATH_INFO"] == "/analytics/revenue/"


@pytest.mark.django_db
def test_api_key_authenticates_as_its_workspace_and_revoked_keys_fail():
    from django.urls import reverse
    from django.utils import timezone

    workspace = WorkspaceFactory()
    key, raw = services.api_key_create(workspace=workspace, name="ci")
    api = APIClient()
    url = reverse("api-whoami")
    assert api.get(url).status_code == 401
    response = api.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("workspace", "name")} == {
        "workspace": workspace.slug, "name": workspace.name,
    }  # fmt: skip
    key.revoked_at = timezone.now()
    key.save()
    response = api.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_the_login_form_speaks_of_email_and_the_pages_have_a_favicon(anon_client, user):
    page = anon_client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Email</label>' in page
    assert 'rel="icon" href="/static/omnisocial/favicon.svg"' in page
    refused = anon_client.post("/accounts/login/", {"username": user.email, "password": "wrong"})
    assert b"Please enter a correct email and password." in refused.content
    assert b"username" not in refused.content.split(b"<form")[0]
