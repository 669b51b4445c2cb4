"""Settings › Members: owners invite by email with a role (a link that works once, for
INVITATION_DAYS days, mailed and shown to copy), change roles and remove members; a workspace
always keeps an owner; nothing of one workspace's team shows or changes from another."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from omnisocial import services
from omnisocial.models import Invitation, Membership
from omnisocial.tenancy import SESSION_KEY
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

User = get_user_model()
Role = Membership.Role
LINK = re.compile(r"http://testserver/invitations/([A-Za-z0-9_-]{43})/")


def invite(client, capture, email="Ana@Example.com", role="analyst"):
    with capture(execute=True):
        response = client.post(
            "/settings/members/", {"action": "invite", "email": email, "role": role}
        )
    return response


def link_of(response) -> str:
    return LINK.search(response.content.decode())[0]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner(user):
    return user


def test_an_owner_invites_by_email_the_link_is_mailed_and_shown_once(
    client, owner, workspace, django_capture_on_commit_callbacks
):
    response = invite(client, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    link = link_of(response)
    invitation = Invitation.objects.get()
    assert (invitation.workspace, invitation.email, invitation.role, invitation.invited_by) == (
        workspace, "ana@example.com", "analyst", owner,
    )  # fmt: skip
    assert invitation.token_hash == Invitation.hash_token(LINK.search(link)[1])
    lifetime = invitation.expires_at - invitation.created_at
    assert abs(lifetime - timedelta(days=7)) < timedelta(seconds=1)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["ana@example.com"], f"{owner.email} invited you to {workspace.name} on OmniSocial")
    ]
    assert f"\n{link}\n" in mail.outbox[0].body
    assert "the link works once, for 7 days" in mail.outbox[0].body
    # The page shows the link to copy, once; afterwards only the open invitation.
    assert f'data-copy="{link}"'.encode() in response.content
    later = client.get("/settings/members/")
    assert link.encode() not in later.content
    assert b"<td>ana@example.com</td><td>Analyst</td>" in later.content


def test_the_invited_person_chooses_a_password_and_lands_on_the_workspace(
    client, workspace, django_capture_on_commit_callbacks
):
    WorkspaceFactory(name="Elsewhere")
    link = link_of(invite(client, django_capture_on_commit_callbacks))
    guest = Client()
    page = guest.get(link)
    assert page.status_code == 200
    assert page["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert f"Join {workspace.name}".encode() in page.content
    assert sorted(page.context["form"].fields) == ["password1", "password2"]
    mismatch = guest.post(link, {"password1": "linen-scarf-42", "password2": "linen-scarf-43"})
    assert mismatch.status_code == 400
    assert mismatch.context["form"].errors == {
        "password2": ["The two password fields didn’t match."]
    }
    short = guest.post(link, {"password1": "abc", "password2": "abc"})
    assert short.context["form"].errors == {
        "password2": ["This password is too short. It must contain at least 8 characters."]
    }
    assert not User.objects.filter(username="ana@example.com").exists()

    joined = guest.post(link, {"password1": "linen-scarf-42", "password2": "linen-scarf-42"})
    assert (joined.status_code, joined["Location"]) == (302, "/analytics/revenue/")
    ana = User.objects.get(username="ana@example.com")
    assert (ana.email, ana.check_password("linen-scarf-42")) == ("ana@example.com", True)
    assert list(ana.memberships.values_list("workspace", "role")) == [(workspace.pk, "analyst")]
    invitation = Invitation.objects.get()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (ana, True)
    assert guest.session[SESSION_KEY] == workspace.pk
    dashboard = guest.get("/analytics/revenue/")
    assert dashboard.status_code == 200
    assert f'<span class="workspace-name">{workspace.name}</span>'.encode() in dashboard.content
    assert f"You joined {workspace.name} as analyst.".encode() in dashboard.content

    # The link works once.
    used = Client().get(link)
    assert used.status_code == 410
    assert b"This invitation has been used already" in used.content
    again = Client().post(link, {"password1": "other-pass-99", "password2": "other-pass-99"})
    assert again.status_code == 410
    ana.refresh_from_db()
    assert ana.check_password("linen-scarf-42")


def test_an_existing_account_logs_in_then_joins_and_its_password_stays(
    client, workspace, django_capture_on_commit_callbacks
):
    bob = UserFactory(username="bob@example.com", email="bob@example.com")
    MembershipFactory(user=bob, workspace=WorkspaceFactory(name="Bob's own"))
    link = link_of(invite(client, django_capture_on_commit_callbacks, "bob@example.com", "viewer"))
    path = link.removeprefix("http://testserver")
    visitor = Client()
    page = visitor.get(path)
    assert b"bob@example.com already has an account: log in with it to join." in page.content
    login_url = f'href="/accounts/login/?next={path}"'
    assert login_url.encode() in page.content
    assert b'name="password1"' not in page.content
    refused = visitor.post(path, {"password1": "taken-over-1", "password2": "taken-over-1"})
    assert refused.status_code == 400
    assert b"bob@example.com already has an account: log in to join." in refused.content
    bob.refresh_from_db()
    assert bob.check_password("correct horse battery")
    assert not workspace.memberships.filter(user=bob).exists()

    logged_in = visitor.post(
        "/accounts/login/",
        {"username": "bob@example.com", "password": "correct horse battery", "next": path},
    )
    assert logged_in["Location"] == path
    assert b'<form method="post" id="invitation-form">' in visitor.get(path).content
    joined = visitor.post(path)
    assert (joined.status_code, joined["Location"]) == (302, "/analytics/revenue/")
    assert workspace.memberships.get(user=bob).role == "viewer"
    assert visitor.session[SESSION_KEY] == workspace.pk
    assert bob.memberships.count() == 2


def test_a_link_for_another_address_never_joins_the_signed_in_account(
    client, workspace, django_capture_on_commit_callbacks
):
    link = link_of(invite(client, django_capture_on_commit_callbacks))
    carol = UserFactory(username="carol@example.com", email="carol@example.com")
    MembershipFactory(user=carol, workspace=WorkspaceFactory())
    as_carol = signed_in(carol)
    page = as_carol.get(link)
    assert (
        b"You are signed in as carol@example.com, and this invitation is for ana@example.com."
        in page.content
    )
    refused = as_carol.post(link)
    assert refused.status_code == 400
    assert b"This invitation is for ana@example.com: log in with that address to join." in (
        refused.content
    )
    assert not workspace.memberships.filter(user=carol).exists()
    assert Invitation.objects.get().accepted_at is None


def test_unknown_expired_withdrawn_and_replaced_links_do_not_work(
    client, workspace, django_capture_on_commit_callbacks
):
    assert Client().get("/invitations/" + "x" * 43 + "/").status_code == 404
    first = link_of(invite(client, django_capture_on_commit_callbacks))
    second = link_of(invite(client, django_capture_on_commit_callbacks))  # inviting again
    replaced = Client().get(first)
    assert replaced.status_code == 410
    assert b"withdrawn or replaced by a newer one" in replaced.content
    assert Client().get(second).status_code == 200

    Invitation.objects.filter(revoked_at=None).update(expires_at=timezone.now())
    expired = Client().post(second, {"password1": "linen-scarf-42", "password2": "linen-scarf-42"})
    assert expired.status_code == 410
    assert b"This invitation expired on" in expired.content
    assert not User.objects.filter(username="ana@example.com").exists()

    third = link_of(invite(client, django_capture_on_commit_callbacks, "dan@example.com"))
    pending = Invitation.objects.get(email="dan@example.com")
    withdrawn = client.post("/settings/members/", {"action": "revoke", "invitation": pending.pk})
    assert withdrawn.status_code == 302
    assert Client().get(third).status_code == 410
    assert (
        b"Withdrew the invitation of dan@example.com." in client.get("/settings/members/").content
    )
    assert b"<td>dan@example.com</td>" not in client.get("/settings/members/").content


def test_inviting_refuses_members_and_addresses_that_are_not_emails(client, owner, workspace):
    member = client.post(
        "/settings/members/", {"action": "invite", "email": owner.email.upper(), "role": "viewer"}
    )
    assert member.status_code == 400
    assert member.context["form"].errors == {
        "email": [f"{owner.email} is already a member of {workspace.name}."]
    }
    bad = client.post("/settings/members/", {"action": "invite", "email": "ana", "role": "boss"})
    assert bad.context["form"].errors == {
        "email": ["Enter a valid email address."],
        "role": ["Select a valid choice. boss is not one of the available choices."],
    }
    assert client.post("/settings/members/", {"action": "promote"}).status_code == 400
    assert Invitation.objects.count() == 0


def test_a_workspace_sends_a_limited_number_of_invitations(client, settings):
    settings.INVITATION_RATE = "2/h"
    for n in range(2):
        sent = client.post("/settings/members/", {"action": "invite",
                                                  "email": f"guest{n}@example.com",
                                                  "role": "viewer"})  # fmt: skip
        assert sent.status_code == 200
    refused = client.post("/settings/members/", {"action": "invite", "email": "guest9@example.com",
                                                 "role": "viewer"})  # fmt: skip
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert (
        refused.context["form"]
        .non_field_errors()[0]
        .startswith("Too many invitations sent from this workspace. Try again in ")
    )
    assert sorted(Invitation.objects.values_list("email", flat=True)) == [
        "guest0@example.com", "guest1@example.com",
    ]  # fmt: skip


def test_owners_change_roles_and_remove_members_but_never_the_last_owner(client, owner, workspace):
    ana = UserFactory(username="ana@example.com", email="ana@example.com")
    ana_membership = MembershipFactory(user=ana, workspace=workspace, role=Role.ANALYST)
    own = workspace.memberships.get(user=owner)
    page = client.get("/settings/members/")
    assert page.status_code == 200
    assert [m.user.username for m in page.context["members"]] == [
        "ana@example.com", owner.username,
    ]  # fmt: skip

    changed = client.post(
        "/settings/members/",
        {"action": "role", "member": ana_membership.pk, "role": "viewer"},
        follow=True,
    )
    assert b"ana@example.com is now viewer." in changed.content
    ana_membership.refresh_from_db()
    assert ana_membership.role == "viewer"

    for action in ({"action": "role", "role": "analyst"}, {"action": "remove"}):
        refused = client.post("/settings/members/", {**action, "member": own.pk}, follow=True)
        assert (
            f"{owner.email} is the last owner of the workspace: make another member owner first."
            .encode() in refused.content
        )  # fmt: skip
    own.refresh_from_db()
    assert own.role == "owner"

    client.post("/settings/members/", {"action": "role", "member": ana_membership.pk,
                                       "role": "owner"})  # fmt: skip
    demoted = client.post("/settings/members/", {"action": "role", "member": own.pk,
                                                 "role": "analyst"})  # fmt: skip
    assert demoted.status_code == 302
    assert dict(workspace.memberships.values_list("user__username", "role")) == {
        "ana@example.com": "owner", owner.username: "analyst",
    }  # fmt: skip
    # Now an analyst: the page is read-only for them and their writes are refused.
    page = client.get("/settings/members/")
    assert b'id="invite-form"' not in page.content
    assert b"Only the workspace's owners invite members and change roles." in page.content
    as_ana = signed_in(ana)
    removed = as_ana.post("/settings/members/", {"action": "remove", "member": own.pk})
    assert removed["Location"] == "/settings/members/"
    assert list(workspace.memberships.values_list("user__username", flat=True)) == [
        "ana@example.com"
    ]
    assert User.objects.filter(pk=owner.pk).exists()  # the account stays


def test_viewers_and_analysts_cannot_invite_or_change_the_team(workspace, owner):
    invitation_owner = signed_in(owner)
    invitation_owner.post("/settings/members/", {"action": "invite", "email": "x@example.com",
                                                 "role": "owner"})  # fmt: skip
    pending = Invitation.objects.get()
    own = workspace.memberships.get(user=owner)
    for role in (Role.VIEWER, Role.ANALYST):
        member = UserFactory()
        MembershipFactory(user=member, workspace=workspace, role=role)
        as_member = signed_in(member)
        page = as_member.get("/settings/members/")
        assert page.status_code == 200
        assert b'id="invite-form"' not in page.content and b"x@example.com" not in page.content
        for body in (
            {"action": "invite", "email": "mallory@example.com", "role": "owner"},
            {"action": "role", "member": own.pk, "role": "viewer"},
            {"action": "remove", "member": own.pk},
            {"action": "revoke", "invitation": pending.pk},
        ):
            response = as_member.post("/settings/members/", body)
            assert response.status_code == 403, (role, body)
            assert b"This needs the owner role in the workspace." in response.content
    own.refresh_from_db()
    pending.refresh_from_db()
    assert (own.role, pending.revoked_at, Invitation.objects.count()) == ("owner", None, 1)


def test_an_owner_of_one_workspace_never_sees_or_changes_another_workspaces_team(
    client, workspace, django_capture_on_commit_callbacks
):
    b = WorkspaceFactory(name="Bravo")
    b_owner = UserFactory(username="owner@bravo.example", email="owner@bravo.example")
    b_member = MembershipFactory(user=b_owner, workspace=b)
    as_b = signed_in(b_owner)
    invite(as_b, django_capture_on_commit_callbacks, "guest@bravo.example")
    b_invitation = Invitation.objects.get(workspace=b)
    b_key, _ = services.api_key_create(workspace=b, name="Bravo key")

    for path in ("/settings/members/", "/settings/api-keys/"):
        page = client.get(path).content
        assert b"bravo" not in page.lower(), path
    for body in (
        {"action": "role", "member": b_member.pk, "role": "viewer"},
        {"action": "remove", "member": b_member.pk},
        {"action": "revoke", "invitation": b_invitation.pk},
    ):
        assert client.post("/settings/members/", body).status_code == 404, body
    assert client.post("/settings/api-keys/", {"revoke": b_key.pk}).status_code == 404
    b_member.refresh_from_db()
    b_invitation.refresh_from_db()
    b_key.refresh_from_db()
    assert (b_member.role, b_invitation.revoked_at, b_key.revoked_at) == ("owner", None, None)
    assert b.memberships.count() == 1


def test_a_member_of_several_workspaces_switches_from_the_header(client, owner, workspace):
    other = WorkspaceFactory(name="Zeta shop")
    MembershipFactory(user=owner, workspace=other, role=Role.VIEWER)
    page = client.get("/settings/members/").content.decode()
    assert '<form method="post" action="/workspaces/switch/" class="switcher">' in page
    assert f'<option value="{other.pk}" >Zeta shop</option>' in page
    switched = client.post(
        "/workspaces/switch/", {"workspace": other.pk, "next": "/settings/members/"}
    )
    assert switched["Location"] == "/settings/members/"
    page = client.get("/settings/members/")
    assert page.context["workspace"] == other
    assert [m.user for m in page.context["members"]] == [owner]
    assert b"Only the workspace's owners invite members" in page.content
