"""Coupons: a code credited to a campaign and its posts."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from commerce.models import (
    Coupon,
)
from commerce.selectors import coupon_by_code
from omnisocial.models import Campaign, Post, Workspace


@transaction.atomic
def coupon_save(
    *,
    workspace: Workspace,
    code: str,
    campaign: Campaign | None = None,
    posts: Iterable[Post] = (),
) -> Coupon:
    """Creates a coupon, or updates the one with exactly this code (its campaign, more posts).

    The code is kept as typed (trimmed) and matched to orders in any case, so a code that
    differs from an existing one only by case is refused (ValidationError on `code`): it would
    be the same code, and silently renaming or merging the marketer's coupon would surprise.
    """
    code = code.strip()
    if not code:
        raise ValidationError({"code": "A coupon needs a code."})
    posts = list(posts)
    if campaign is not None and campaign.workspace_id != workspace.pk:
        raise ValidationError("The campaign belongs to another workspace.")
    if any(post.workspace_id != workspace.pk for post in posts):
        raise ValidationError("A post belongs to another workspace.")
    coupon = coupon_by_code(workspace=workspace, code=code)
    if coupon is None:
        try:
            # A savepoint: of two saves of one code at once, the second finds the first's.
            with transaction.atomic():
                coupon = Coupon.objects.create(workspace=workspace, code=code, campaign=campaign)
        except IntegrityError:
            coupon = coupon_by_code(workspace=workspace, code=code)
            if coupon is None:
                raise
    if coupon.code != code:
        raise ValidationError(
            {
                "code": ValidationError(
                    f"The coupon {coupon.code} already exists, and codes match orders in any "
                    f"case, so {code} would be the same code. Use {coupon.code} to change it "
                    "or add posts to it.",
                    code="code_taken",
                )
            }
        )
    if coupon.campaign_id != (campaign.pk if campaign else None):
        coupon.campaign = campaign
        coupon.save(update_fields=["campaign"])
    if posts:
        coupon.posts.add(*posts)
    return coupon
