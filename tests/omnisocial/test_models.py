from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from omnisocial.models import Campaign, Post, PostMetrics
from tests.factories import CampaignFactory, PostFactory, WorkspaceFactory


@pytest.mark.django_db
def test_negative_boost_spend_is_refused_by_the_database():
    post = PostFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.objects.filter(pk=post.pk).update(boosted_spend=Decimal("-0.01"))
    post.refresh_from_db()
    assert post.boosted_spend == Decimal("0.00")


@pytest.mark.django_db
def test_negative_metrics_spend_is_refused_by_the_database():
    post = PostFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        PostMetrics.objects.create(post=post, day="2026-11-02", spend=Decimal("-5.00"))
    assert not PostMetrics.objects.exists()


@pytest.mark.django_db
def test_duplicate_campaign_slug_in_one_workspace_is_refused():
    campaign = CampaignFactory(slug="summer")
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.create(workspace=campaign.workspace, name="Again", slug="summer")
    CampaignFactory(slug="summer")  # another workspace may use the same slug
    assert Campaign.objects.filter(slug="summer").count() == 2


@pytest.mark.django_db
def test_duplicate_post_reference_in_one_workspace_is_refused():
    post = PostFactory(reference="post_17900000000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Post.objects.create(workspace=post.workspace, platform="tiktok", reference=post.reference)
    assert PostFactory(reference=post.reference).workspace != post.workspace


@pytest.mark.django_db
def test_a_post_without_reference_gets_a_stable_one():
    post = PostFactory()
    assert post.reference == f"post-{post.pk}"
    post.caption = "Edited caption"
    post.save()
    post.refresh_from_db()
    assert post.reference == f"post-{post.pk}"


@pytest.mark.django_db
def test_lookback_outside_one_to_365_days_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkspaceFactory(lookback_days=0)
