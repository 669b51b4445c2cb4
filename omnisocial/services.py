"""Writes to the shared core. Each function is one transaction."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from omnisocial import signals
from omnisocial.instants import instant_normalise
from omnisocial.models import (
    ApiKey,
    Campaign,
    Membership,
    Post,
    Workspace,
    all_attribution_models,
)


@transaction.atomic
def workspace_create(
    *,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    reporting_currency: str = "USD",
    time_zone: str = "UTC",
) -> Workspace:
    """Creates a workspace and its owner (or adds an existing user as owner)."""
    owner_email = owner_email.strip().lower()
    validate_email(owner_email)
    name = name.strip()
    if not name:
        raise ValidationError("A workspace needs a name.")
    if Workspace.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"A workspace named {name!r} already exists.")
    slug = _unique_slug(name)
    workspace = Workspace(
        name=name, slug=slug, reporting_currency=reporting_currency.upper(), time_zone=time_zone
    )
    workspace.full_clean()
    workspace.save()

    user_model = get_user_model()
    user = user_model.objects.filter(username=owner_email).first()
    if user is None:
        user = user_model(username=owner_email, email=owner_email)
        if owner_password:
            user.set_password(owner_password)
        else:
            user.set_unusable_password()
        user.save()
    elif owner_password:
        user.set_password(owner_password)
        user.save(update_fields=["password"])
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
    return workspace


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def api_key_create(
    *, workspace: Workspace, name: str, created_by=None, scope: str = ApiKey.Scope.WRITE
) -> tuple[ApiKey, str]:
    """Creates an API key; returns it with the raw secret, which is never stored or shown again.
    `scope`: read (GET only) or write (what an analyst may do)."""
    raw_key, prefix, key_hash = ApiKey.generate()
    key = ApiKey.objects.create(
        workspace=workspace, name=name, prefix=prefix, key_hash=key_hash, created_by=created_by,
        scope=scope,
    )  # fmt: skip
    return key, raw_key


@transaction.atomic
def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revokes a key at once and for good: requests with it then answer 401. Revoking twice
    keeps the first revocation time."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


@transaction.atomic
def campaign_save(
    *, workspace: Workspace, campaign: Campaign | None = None, name: str, slug: str = ""
) -> Campaign:
    """Creates or renames a campaign. The slug is the utm_campaign its posts' links carry: made
    from the name when left blank, and unique in the workspace."""
    campaign = campaign or Campaign(workspace=workspace)
    campaign.name = name.strip()
    campaign.slug = (slug.strip() or campaign.slug or slugify(name)[:100]).lower()
    if not campaign.name:
        raise ValidationError({"name": "A campaign needs a name."})
    if not campaign.slug:
        raise ValidationError({"slug": "A campaign needs a slug made of letters or digits."})
    taken = workspace.campaigns.filter(slug=campaign.slug).exclude(pk=campaign.pk).exists()
    if taken:
        raise ValidationError({"slug": f"Another campaign already uses {campaign.slug!r}."})
    campaign.full_clean(exclude=["workspace"], validate_unique=False)
    campaign.save()
    return campaign


def campaign_get_or_create(*, workspace: Workspace, name: str, slug: str = "") -> Campaign:
    campaign, _ = Campaign.objects.get_or_create(
        workspace=workspace, slug=slug or slugify(name)[:100], defaults={"name": name}
    )
    return campaign


POST_FIELDS = [
    "platform", "caption", "link_url", "external_id", "reference", "content_type",
    "published_at", "campaign", "boosted_spend", "boosted_currency",
]  # fmt: skip


class _Keep:
    """The value of a `post_save` argument not given: a new post takes the field's default, an
    existing post keeps what it has (a form that does not show a field must not erase it)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def _reference_free(workspace: Workspace, post: Post) -> str:
    """`post-<id>`, or, when a marketer already gave another post that reference,
    `post-<id>-2`, `-3`...: a default reference never collides."""
    base = candidate = f"post-{post.pk}"
    taken = set(
        workspace.posts.exclude(pk=post.pk)
        .filter(reference__startswith=base)
        .values_list("reference", flat=True)
    )
    n = 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@transaction.atomic
def post_save(
    *,
    workspace: Workspace,
    post: Post | None = None,
    platform: str = KEEP,
    caption: str = KEEP,
    link_url: str = KEEP,
    external_id: str = KEEP,
    reference: str = KEEP,
    content_type: str = KEEP,
    published_at: datetime | None = KEEP,
    campaign: Campaign | None = KEEP,
    boosted_spend: Decimal = KEEP,
    boosted_currency: str | None = KEEP,
) -> Post:
    """Creates or updates a post. Every path (admin, API, pages, demo data) saves posts here.

    Only the fields given change: an edit form that does not show the external id keeps it. A
    new post needs its platform; the other fields take their defaults.

    A post without a reference gets `post-<id>` (or `post-<id>-2`... when a marketer already
    gave that to another post), which then never changes: links already shared carry it as
    utm_content, so orders keep matching the post after edits. The save is then announced with
    `signals.post_saved`, in this transaction: attribution tags every URL of the caption and the
    link field before this returns (`post.tagging` says which were refused and why).
    """
    given = {
        name: value
        for name, value in (
            ("platform", platform), ("caption", caption), ("link_url", link_url),
            ("external_id", external_id), ("reference", reference),
            ("content_type", content_type), ("published_at", published_at),
            ("campaign", campaign), ("boosted_spend", boosted_spend),
            ("boosted_currency", boosted_currency),
        )
        if value is not KEEP
    }  # fmt: skip
    if post is None:
        if not given.get("platform"):
            raise ValidationError({"platform": ["A post needs its platform."]})
        post = Post(workspace=workspace, boosted_currency=workspace.reporting_currency)
    campaign = given.get("campaign")
    if campaign is not None and campaign.workspace_id != workspace.pk:
        raise ValidationError("The campaign belongs to another workspace.")
    for name, value in given.items():
        if name == "reference":
            # Lower-cased: orders' UTM values are normalised to lower case, and references
            # must match them.
            value = (value or "").strip().lower() or post.reference
        elif name == "published_at":
            value = instant_normalise(value)
        elif name == "boosted_currency":
            value = value or workspace.reporting_currency
        elif name == "boosted_spend":
            value = Decimal("0.00") if value is None else value
        elif name in ("caption", "link_url", "external_id") and value is None:
            value = ""
        setattr(post, name, value)
    post.full_clean(exclude=["workspace", "reference"])
    twins = workspace.posts.exclude(pk=post.pk)
    if post.external_id and twins.filter(platform=post.platform,
                                         external_id=post.external_id).exists():  # fmt: skip
        raise ValidationError(
            {
                "externalId": [
                    f"Another {post.platform} post already has the id {post.external_id!r}."
                ]
            }  # fmt: skip
        )
    if post.reference and twins.filter(reference=post.reference).exists():
        raise ValidationError(
            {"reference": [f"Another post already uses the reference {post.reference!r}."]}
        )
    try:
        with transaction.atomic():
            post.save()
            if not post.reference:
                post.reference = _reference_free(workspace, post)
                post.save(update_fields=["reference"])
    except IntegrityError as exc:
        # Another request took the reference or external id between the check and the save.
        raise ValidationError(
            "Another post took this reference or external id meanwhile: save again to see which."
        ) from exc
    signals.post_saved.send(sender=Post, post=post)
    return post


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    """Deletes a campaign: its posts stay, without campaign, and so do their attribution rows;
    once committed the workspace's rollups are rebuilt (`workspace_rows_deleted`), so the
    campaign's figures move to "No campaign" everywhere at once. The API and the admin both
    delete campaigns through here."""
    workspace_ids = {campaign.workspace_id}
    campaign.delete()
    transaction.on_commit(
        lambda: signals.workspace_rows_deleted.send(sender=Campaign, workspace_ids=workspace_ids)
    )


# The workspace settings a change of which re-attributes every order.
RECALCULATING_SETTINGS = ("revenue_basis", "lookback_days", "attribution_models")


@transaction.atomic
def workspace_settings_update(*, workspace: Workspace, **changes) -> list[str]:
    """Changes a workspace's attribution settings: `revenue_basis`, `lookback_days`,
    `attribution_models`, `default_attribution_model`. Validates them together (the default model
    must be one the workspace keeps) and, once committed, announces a change that needs every
    order re-attributed (`workspace_settings_changed`). Returns the names of the fields changed."""
    allowed = {"revenue_basis", "lookback_days", "attribution_models", "default_attribution_model"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not a workspace setting: {', '.join(sorted(unknown))}")
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    changed = [name for name, value in changes.items() if getattr(workspace, name) != value]
    for name in changed:
        setattr(workspace, name, changes[name])
    errors = {}
    models = workspace.attribution_models
    if not isinstance(models, list) or not models or set(models) - set(all_attribution_models()):
        errors["attribution_models"] = f"Keep one or more of {', '.join(all_attribution_models())}."
    elif workspace.default_attribution_model not in models:
        errors["default_attribution_model"] = "The default model must be one the workspace keeps."
    if errors:
        raise ValidationError(errors)
    workspace.full_clean()
    if changed:
        workspace.save(update_fields=changed)
    recalculating = [name for name in changed if name in RECALCULATING_SETTINGS]
    if recalculating:
        transaction.on_commit(
            lambda: signals.workspace_settings_changed.send(
                sender=Workspace, workspace=workspace, changed=recalculating
            )
        )
    return changed


# The workspace fields its settings page's "Workspace" form shows.
PROFILE_FIELDS = ("name", "reporting_currency", "time_zone")


@transaction.atomic
def workspace_profile_update(
    *,
    workspace: Workspace,
    name: str = KEEP,
    reporting_currency: str = KEEP,
    time_zone: str = KEEP,
) -> list[str]:
    """Changes a workspace's name, reporting currency or time zone; only the fields given change.
    Returns the names of the fields changed.

    A new time zone moves every day boundary (daily revenue, clicks, KPI periods): once committed
    it is announced like an attribution setting (`workspace_settings_changed`), and the workspace
    is rebuilt in the new zone. The reporting currency can change until the first order arrives:
    orders keep their amounts converted at the day's rate into the currency of their time, and
    nothing converts them again, so a later change would label old amounts with the new code.
    """
    given = {
        key: value
        for key, value in (
            ("name", name), ("reporting_currency", reporting_currency), ("time_zone", time_zone),
        )
        if value is not KEEP
    }  # fmt: skip
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if "name" in given:
        given["name"] = given["name"].strip()
        if not given["name"]:
            raise ValidationError({"name": "A workspace needs a name."})
    if "reporting_currency" in given:
        given["reporting_currency"] = given["reporting_currency"].strip().upper()
    changed = [key for key, value in given.items() if getattr(workspace, key) != value]
    if not changed:
        return []
    errors = {}
    if "name" in changed and (
        Workspace.objects.filter(name__iexact=given["name"]).exclude(pk=workspace.pk).exists()
    ):
        errors["name"] = f"A workspace named {given['name']!r} already exists."
    # `orders` is commerce's relation to the workspace: read, never written, from here.
    if "reporting_currency" in changed and workspace.orders.exists():
        errors["reporting_currency"] = (
            f"Orders are already recorded in {workspace.reporting_currency}: the reporting "
            "currency is fixed once the first order arrives."
        )
    for key in changed:
        setattr(workspace, key, given[key])
    try:
        workspace.full_clean(exclude=["slug"], validate_unique=False)
    except ValidationError as exc:
        errors = {**exc.message_dict, **errors}
    if errors:
        raise ValidationError(errors)
    workspace.save(update_fields=changed)
    if "time_zone" in changed:
        transaction.on_commit(
            lambda: signals.workspace_settings_changed.send(
                sender=Workspace, workspace=workspace, changed=["time_zone"]
            )
        )
    return changed
