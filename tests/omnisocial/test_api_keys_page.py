"""Settings › API keys: the workspace's owners mint a key with a scope (shown on that answer only,
which no cache may keep) and revoke keys; everyone else reads the list; no key is an owner."""

import re

import pytest
from django.test import Client

from omnisocial.models import ApiKey, Membership
from tests.factories import MembershipFactory, UserFactory

KEY = re.compile(r'<code id="new-key-value">(osk_[0-9a-f]{8}_[A-Za-z0-9_-]{43})</code>')


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_owner_mints_a_read_key_shown_once_that_reads_and_never_writes(client, user, workspace):
    response = client.post("/settings/api-keys/", {"name": "Reporting script", "scope": "read"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    raw = KEY.search(response.content.decode())[1]
    assert f'data-copy="{raw}"'.encode() in response.content
    key = ApiKey.objects.get()
    assert (key.workspace, key.name, key.scope, key.created_by) == (
        workspace, "Reporting script", "read", user,
    )  # fmt: skip
    assert (key.key_hash, raw.startswith(f"osk_{key.prefix}_")) == (ApiKey.hash_secret(raw), True)

    api = Client(headers={"authorization": f"Bearer {raw}"})
    assert api.get("/api/workspace").json()["workspace"] == workspace.slug
    refused = api.post("/api/campaigns", {"name": "x"}, content_type="application/json")
    assert (refused.status_code, refused.json()) == (
        403, {"detail": "A read-only API key cannot change anything.", "code": "permission_denied"},
    )  # fmt: skip

    listed = client.get("/settings/api-keys/")
    assert raw.encode() not in listed.content
    assert "no-store" not in listed.get("Cache-Control", "")
    assert (
        f"<td>Reporting script</td><td><code>osk_{key.prefix}…</code></td><td>Read only</td>"
        in (listed.content.decode())
    )


def test_an_owner_mints_a_write_key_and_revokes_it(client, workspace):
    response = client.post("/settings/api-keys/", {"name": "Sync", "scope": "write"})
    raw = KEY.search(response.content.decode())[1]
    key = ApiKey.objects.get()
    assert key.scope == "write"
    api = Client(headers={"authorization": f"Bearer {raw}"})
    created = api.post("/api/campaigns", {"name": "Spring"}, content_type="application/json")
    assert created.status_code == 201
    revoked = client.post("/settings/api-keys/", {"revoke": key.pk}, follow=True)
    assert f"Revoked Sync (osk_{key.prefix}…): requests with it now answer 401.".encode() in (
        revoked.content
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api.get("/api/workspace").status_code == 401
    assert b'<span class="pill bad">revoked' in revoked.content


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({"name": "", "scope": "read"}, {"name": ["This field is required."]}),
        ({"name": "x", "scope": "admin"},
         {"scope": ["Select a valid choice. admin is not one of the available choices."]}),
    ],
)  # fmt: skip
def test_a_key_needs_a_name_and_a_scope(client, form, errors):
    response = client.post("/settings/api-keys/", form)
    assert response.status_code == 400
    assert response.context["form"].errors == errors
    assert ApiKey.objects.count() == 0


def test_viewers_analysts_and_keys_read_the_list_but_never_mint_or_revoke(workspace):
    owner_key_holder = UserFactory()
    MembershipFactory(user=owner_key_holder, workspace=workspace)
    minted = signed_in(owner_key_holder).post(
        "/settings/api-keys/", {"name": "Write key", "scope": "write"}
    )
    raw = KEY.search(minted.content.decode())[1]
    key = ApiKey.objects.get()
    for role in (Membership.Role.VIEWER, Membership.Role.ANALYST):
        member = UserFactory()
        MembershipFactory(user=member, workspace=workspace, role=role)
        as_member = signed_in(member)
        page = as_member.get("/settings/api-keys/")
        assert page.status_code == 200
        assert b"<td>Write key</td>" in page.content
        assert b'id="api-key-form"' not in page.content and b'name="revoke"' not in page.content
        for body in ({"name": "Mine", "scope": "write"}, {"revoke": key.pk}):
            response = as_member.post("/settings/api-keys/", body)
            assert response.status_code == 403, (role, body)
    # No API key is an owner, nor opens a page: the key is sent to the login form.
    as_key = Client(headers={"authorization": f"Bearer {raw}"})
    response = as_key.post("/settings/api-keys/", {"name": "By a key", "scope": "write"})
    assert (response.status_code, response["Location"]) == (
        302, "/accounts/login/?next=/settings/api-keys/",
    )  # fmt: skip
    assert (
        as_key.post("/api/keys", {"name": "x"}, content_type="application/json").status_code == 403
    )
    key.refresh_from_db()
    assert (ApiKey.objects.count(), key.revoked_at) == (1, None)
