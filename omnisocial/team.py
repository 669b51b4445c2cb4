"""People and their workspaces: the first run, open sign-up, invitations and memberships.

Each write is one transaction; emails go out once it commits. Accounts are their email address:
a user's username is the address lower-cased, as `workspace_create` makes it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from omnisocial import services
from omnisocial.errors import DATABASE_UNAVAILABLE
from omnisocial.models import Invitation, Membership, Workspace

logger = logging.getLogger(__name__)

Role = Membership.Role

# The PostgreSQL advisory lock two first runs at the same instant queue on (any number: nothing
# else takes it); SQLite's immediate transactions queue them anyway.
FIRST_RUN_LOCK = 0x05C1F125


def first_run_pending() -> bool:
    """Whether the install has no account at all: the first visit then creates the owner.
    While the database cannot be reached it answers no: the login form shows (it needs no
    database to render), and signing in then says the database is unavailable."""
    try:
        return not get_user_model().objects.exists()
    except DATABASE_UNAVAILABLE:
        return False


def account_of(email: str) -> AbstractBaseUser | None:
    return get_user_model().objects.filter(username=email.strip().lower()).first()


@transaction.atomic
def owner_signup(
    *,
    email: str,
    password: str,
    workspace_name: str,
    reporting_currency: str,
    time_zone: str,
    first_run: bool = False,
) -> Workspace:
    """Creates an account and a workspace it owns, through `services.workspace_create`.

    `first_run`: the install's first account, refused once any account exists, so two first
    visits at the same instant cannot both create an owner. Otherwise (open sign-up) the address
    must have no account yet: an existing account joins workspaces by invitation.
    """
    if first_run:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FIRST_RUN_LOCK])
        if not first_run_pending():
            raise ValidationError("This install already has its owner: log in instead.")
    elif account_of(email) is not None:
        raise ValidationError({"email": "This email already has an account: log in instead."})
    return services.workspace_create(
        name=workspace_name, owner_email=email, owner_password=password,
        reporting_currency=reporting_currency, time_zone=time_zone,
    )  # fmt: skip


# --- invitations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A new invitation and its link, which exists only in this answer and the email."""

    invitation: Invitation
    link: str


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by, link_for: Callable[[str], str]
) -> Sent:
    """Invites `email` into the workspace with `role`; the link (`link_for(token)`, an absolute
    URL) is emailed once this commits and returned to be shown to the owner once. Inviting an
    address that already has an open invitation replaces it (the old link stops working), so
    "send again" is inviting again. A member of the workspace is not invited again."""
    email = email.strip().lower()
    validate_email(email)
    if role not in Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Role.values)}."})
    if workspace.memberships.filter(user__username=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {workspace.name}."})
    now = timezone.now()
    workspace.invitations.filter(email=email, accepted_at=None, revoked_at=None).update(
        revoked_at=now
    )
    token, token_hash = Invitation.generate()
    invitation = Invitation.objects.create(
        workspace=workspace, email=email, role=role, token_hash=token_hash, invited_by=invited_by,
        expires_at=now + timedelta(days=settings.INVITATION_DAYS),
    )  # fmt: skip
    sent = Sent(invitation=invitation, link=link_for(token))
    transaction.on_commit(lambda: _invitation_mail(sent))
    return sent


def _invitation_mail(sent: Sent) -> None:
    """Sends the link. A mail server that refuses is logged, not raised: the invitation exists
    and the owner has the link on the page to hand over."""
    invitation = sent.invitation
    context = {
        "invitation": invitation, "link": sent.link, "workspace": invitation.workspace,
        "inviter": getattr(invitation.invited_by, "email", "") or "An owner",
        "days": settings.INVITATION_DAYS,
    }  # fmt: skip
    subject = render_to_string("registration/invitation_subject.txt", context).strip()
    body = render_to_string("registration/invitation_email.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except Exception:
        logger.exception("The invitation email to %s could not be sent", invitation.email)


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link names, whatever its state; None for a token of no invitation."""
    return (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )


def invitation_refusal(invitation: Invitation) -> str | None:
    """Why the link no longer works, in words for the person holding it; None while it works."""
    state = invitation.state(timezone.now())
    return {
        "accepted": "This invitation has been used already: log in to reach the workspace.",
        "revoked": "This invitation was withdrawn or replaced by a newer one: ask the workspace's "
        "owner for a new link.",
        "expired": f"This invitation expired on {invitation.expires_at:%Y-%m-%d}: ask the "
        "workspace's owner for a new link.",
    }.get(state)


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user=None, password: str | None = None):
    """Joins the invited address into the workspace with the invited role, once.

    `user`: the signed-in account of the invited address. Without it, `password` creates that
    account (the address has none yet; an existing account signs in first, so a link never
    sets the password of an account that has one). Returns the account.
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    refusal = invitation_refusal(invitation)
    if refusal:
        raise ValidationError(refusal)
    existing = account_of(invitation.email)
    if user is None:
        if existing is not None:
            raise ValidationError(f"{invitation.email} already has an account: log in to join.")
        user = get_user_model()(username=invitation.email, email=invitation.email)
        user.set_password(password)
        user.save()
    elif existing is None or existing.pk != user.pk:
        raise ValidationError(
            f"This invitation is for {invitation.email}: log in with that address to join."
        )
    _, created = Membership.objects.get_or_create(
        user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
    )
    if not created:
        raise ValidationError(f"You are already a member of {invitation.workspace.name}.")
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    logger.info("%s joined %s as %s", invitation.email, invitation.workspace.slug, invitation.role)
    return user


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    """Withdraws an open invitation: its link stops working at once."""
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


# --- members -------------------------------------------------------------------------------------


def _owners_locked(workspace: Workspace) -> list[int]:
    """The ids of the workspace's owner memberships, locked: two owners demoting each other at
    the same instant must not leave the workspace with none."""
    return list(
        Membership.objects.select_for_update()
        .filter(workspace=workspace, role=Role.OWNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str) -> Membership:
    """Gives a member another role. A workspace always keeps an owner: the last one cannot be
    demoted (make another member owner first)."""
    if role not in Role.values:
        raise ValidationError(f"Choose one of {', '.join(Role.values)}.")
    owners = _owners_locked(membership.workspace)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    if membership.role == role:
        return membership
    if owners == [membership.pk]:
        raise ValidationError(
            f"{membership.user.email} is the last owner of the workspace: make another member "
            "owner first."
        )
    membership.role = role
    membership.save(update_fields=["role"])
    logger.info("%s is now %s in %s", membership.user.email, role, membership.workspace.slug)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Removes a member from the workspace (their account stays, with its other workspaces).
    The last owner cannot be removed."""
    owners = _owners_locked(membership.workspace)
    if owners == [membership.pk]:
        raise ValidationError(
            f"{membership.user.email} is the last owner of the workspace: make another member "
            "owner first."
        )
    logger.info("%s left %s", membership.user.email, membership.workspace.slug)
    membership.delete()
