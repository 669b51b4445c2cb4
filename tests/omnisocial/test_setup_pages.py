"""Setting up without the API: posts, their tracked links, campaigns and coupons from the pages,
and the first-run checklist, through the test client and the real services."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from attribution.models import TrackedLink
from commerce.models import Coupon
from omnisocial.models import Campaign, Membership, Post
from tests.analytics.conftest import order_record
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db

SHOP = "https://demo-boutique.myshopify.com"


@pytest.fixture
def workspace():
    return WorkspaceFactory(time_zone="Europe/Paris", reporting_currency="EUR")


@pytest.fixture
def store(workspace):
    return StoreConnectionFactory(workspace=workspace)


def member(workspace, role=Membership.Role.ANALYST) -> Client:
    client = Client()
    client.force_login(MembershipFactory(workspace=workspace, role=role).user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_post_created_from_the_page_gets_its_tracked_links(workspace, store):
    campaign = CampaignFactory(workspace=workspace, name="Autumn", slug="autumn")
    client = member(workspace)
    response = client.post("/posts/new/", {
        "platform": "tiktok", "caption": f"New scarves {SHOP}/collections/scarves and "
        "https://elsewhere.example/x", "link_url": f"{SHOP}/products/scarf",
        "content_type": "ugc", "published_at": "2026-11-30T18:30", "campaign": campaign.pk,
        "boost_spend": "25.50", "boost_start": "2026-11-30", "boost_end": "2026-12-02",
        "reference": "",
    }, follow=True)  # fmt: skip

    post = Post.objects.get(workspace=workspace)
    assert response.redirect_chain == [(f"/posts/{post.pk}/", 302)]
    assert (post.platform, post.campaign, post.boosted_spend) == (
        "tiktok",
        campaign,
        Decimal("25.50"),
    )
    # The boost is the post's daily ad spend in the reporting currency, cents split exactly.
    assert list(post.metrics.values_list("day", "spend", "spend_currency", "source")) == [
        (date(2026, 11, 30), Decimal("8.50"), "EUR", "manual"),
        (date(2026, 12, 1), Decimal("8.50"), "EUR", "manual"),
        (date(2026, 12, 2), Decimal("8.50"), "EUR", "manual"),
    ]
    # Entered in the workspace's zone: 18:30 in Paris is 17:30 UTC.
    assert post.published_at.isoformat() == "2026-11-30T17:30:00+00:00"
    assert post.reference == f"post-{post.pk}"
    links = {link.destination_url: link for link in post.links.all()}
    assert set(links) == {f"{SHOP}/products/scarf", f"{SHOP}/collections/scarves"}
    assert links[f"{SHOP}/products/scarf"].utm_campaign == "autumn"
    notes = messages_of(response)
    assert notes[0].startswith("Saved. 2 tracked links")
    assert notes[1].startswith("Not tracked: https://elsewhere.example/x:")
    page = response.content.decode()
    assert links[f"{SHOP}/products/scarf"].short_path in page


def test_a_bad_post_form_answers_400_with_the_reasons_and_saves_nothing(workspace):
    other = CampaignFactory()  # another workspace's campaign is not a choice here
    response = member(workspace).post("/posts/new/", {
        "platform": "myspace", "link_url": "not a url", "content_type": "product",
        "boost_spend": "-1", "campaign": other.pk,
    })  # fmt: skip
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"platform", "link_url", "boost_spend", "campaign"}
    assert not Post.objects.exists()


def test_editing_a_post_keeps_the_reference_its_shared_links_carry(workspace, store):
    post = PostFactory(workspace=workspace, reference="scarf-reel", link_url=f"{SHOP}/products/a")
    client = member(workspace)
    form = client.get(f"/posts/{post.pk}/edit/")
    assert form.status_code == 200
    assert form.context["form"]["caption"].value() == post.caption
    response = client.post(f"/posts/{post.pk}/edit/", {
        "platform": post.platform, "caption": "Edited", "link_url": f"{SHOP}/products/a",
        "content_type": "promo", "boost_spend": "0", "reference": "hijacked",
    })  # fmt: skip
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.caption, post.content_type, post.reference) == ("Edited", "promo", "scarf-reel")


def test_a_tracked_link_is_added_from_the_post_page(workspace, store):
    post = PostFactory(workspace=workspace, link_url="")
    client = member(workspace)
    response = client.post(
        f"/posts/{post.pk}/links/",
        {"url": f"{SHOP}/products/tote", "utm_term": "story"},
        follow=True,
    )
    link = TrackedLink.objects.get(post=post)
    assert (link.destination_url, link.utm_term) == (f"{SHOP}/products/tote", "story")
    assert "utm_term=story" in link.tagged_url
    assert messages_of(response) == [f"Tracked link {link.short_path} ready: copy it below."]

    refused = client.post(f"/posts/{post.pk}/links/", {"url": "https://169.254.169.254/"},
                          follow=True)  # fmt: skip
    assert messages_of(refused)[0].startswith("Not tracked:")
    assert TrackedLink.objects.filter(post=post).count() == 1
    # A viewer reads the post but adds nothing.
    viewer = member(workspace, Membership.Role.VIEWER)
    assert viewer.post(f"/posts/{post.pk}/links/", {"url": f"{SHOP}/x"}).status_code == 403
    assert TrackedLink.objects.filter(post=post).count() == 1


def test_campaigns_are_created_and_deleted_from_their_page(workspace):
    post = PostFactory(workspace=workspace)
    client = member(workspace)
    created = client.post("/campaigns/", {"name": "Black Friday", "slug": ""}, follow=True)
    campaign = Campaign.objects.get(workspace=workspace)
    assert campaign.slug == "black-friday"
    assert "utm_campaign=black-friday" in messages_of(created)[0]

    taken = client.post("/campaigns/", {"name": "Again", "slug": "Black-Friday"})
    assert taken.status_code == 400
    assert "already uses" in str(taken.context["form"].errors["slug"])
    assert Campaign.objects.filter(workspace=workspace).count() == 1

    post.campaign = campaign
    post.save()
    elsewhere = CampaignFactory()
    assert client.post("/campaigns/", {"delete": elsewhere.pk}).status_code == 404
    assert client.post("/campaigns/", {"delete": campaign.pk}).status_code == 302
    post.refresh_from_db()
    assert post.campaign is None and Campaign.objects.filter(pk=elsewhere.pk).exists()


def test_a_coupon_is_created_from_the_coupons_page(workspace):
    post = PostFactory(workspace=workspace)
    campaign = CampaignFactory(workspace=workspace)
    client = member(workspace)
    page = client.get("/analytics/coupons/")
    assert 'id="coupon-form"' in page.content.decode()
    response = client.post("/analytics/coupons/", {"code": " AUTUMN10 ", "campaign": campaign.pk,
                                                   "posts": [post.pk]}, follow=True)  # fmt: skip
    coupon = Coupon.objects.get(workspace=workspace)
    assert (coupon.code, coupon.campaign, list(coupon.posts.all())) == (
        "AUTUMN10",
        campaign,
        [post],
    )
    assert "<code>AUTUMN10</code>" in response.content.decode()

    foreign = PostFactory()
    refused = client.post("/analytics/coupons/", {"code": "x", "posts": [foreign.pk]})
    assert refused.status_code == 400
    assert "posts" in refused.context["coupon_form"].errors
    assert Coupon.objects.count() == 1


def test_the_first_run_checklist_shows_what_is_done_until_everything_is(workspace):
    client = member(workspace)

    def steps():
        return client.get("/analytics/revenue/").context["setup_steps"]

    assert [step.done for step in steps()] == [False, False, False, False]
    store = StoreConnectionFactory(workspace=workspace)
    post = PostFactory(workspace=workspace, link_url=f"{SHOP}/products/a")
    assert [step.done for step in steps()] == [True, True, False, False]
    order_record(store, 1, at=timezone.now(), total="20.00", utm_content="no-such-post")
    assert [step.done for step in steps()] == [True, True, True, False]
    order_record(
        store, 2, at=timezone.now(), total="20.00", currency="EUR", utm_content=post.reference
    )
    assert steps() is None
    assert 'id="first-run"' not in client.get("/analytics/revenue/").content.decode()
