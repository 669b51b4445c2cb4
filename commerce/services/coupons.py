"""Coupons: a code credited to a campaign and its posts."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from commerce.models import (
    Coupon,
)
from omnisocial.models import Campaign, Post, Workspace


@transaction.atomic
def coupon_save(
    *,
    workspace: Workspace,
    code: str,
    campaign: Campaign | None = None,
    posts: Iterable[Post] = (),
) -> Coupon:
    """Creates or updates a coupon; codes are kept lower-cased and compared that way."""
    code = code.strip().lower()
    if not code:
        raise ValidationError({"code": "A coupon needs a code."})
    posts = list(posts)
    if campaign is not None and campaign.workspace_id != workspace.pk:
        raise ValidationError("The campaign belongs to another workspace.")
    if any(post.workspace_id != workspace.pk for post in posts):
        raise ValidationError("A post belongs to another workspace.")
    coupon, _ = Coupon.objects.update_or_create(
        workspace=workspace, code=code, defaults={"campaign": campaign}
    )
    if posts:
        coupon.posts.add(*posts)
    return coupon
