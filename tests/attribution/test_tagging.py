from urllib.parse import parse_qs, urlsplit

import pytest

from attribution.models import TrackedLink
from tests.factories import AllowedDomainFactory, CampaignFactory, PostFactory, WorkspaceFactory


@pytest.fixture
def shop(workspace):
    return AllowedDomainFactory(workspace=workspace, domain="shop.example")


def test_saving_a_post_tags_every_caption_url_and_keeps_what_the_marketer_set(workspace, shop):
    campaign = CampaignFactory(workspace=workspace, slug="summer-sale")
    post = PostFactory(
        workspace=workspace,
        platform="tiktok",
        campaign=campaign,
        caption=(
            "New drop! https://shop.example/p/linen?color=blue&size=M&utm_source=newsletter#reviews "
            "and the tote (https://www.shop.example/p/tote). Also see https://blog.other.example/x."
        ),
    )
    links = {link.destination_url: link for link in post.links.all()}
    assert set(links) == {
        "https://shop.example/p/linen?color=blue&size=M&utm_source=newsletter#reviews",
        "https://www.shop.example/p/tote",
    }
    linen = links["https://shop.example/p/linen?color=blue&size=M&utm_source=newsletter#reviews"]
    assert linen.tagged_url == (
        "https://shop.example/p/linen?color=blue&size=M&utm_source=newsletter"
        f"&utm_medium=social&utm_campaign=summer-sale&utm_content=post-{post.pk}#reviews"
    )
    assert (linen.utm_source, linen.utm_medium, linen.utm_campaign, linen.utm_content) == (
        "newsletter", "social", "summer-sale", f"post-{post.pk}",
    )  # fmt: skip
    tote = links["https://www.shop.example/p/tote"]
    assert parse_qs(urlsplit(tote.tagged_url).query) == {
        "utm_source": ["tiktok"],
        "utm_medium": ["social"],
        "utm_campaign": ["summer-sale"],
        "utm_content": [f"post-{post.pk}"],
    }
    assert post.tagging.refused == [
        (
            "https://blog.other.example/x",
            "blog.other.example is not one of this workspace's store or allowed domains "
            "(shop.example). Connect the store or add the domain first.",
        )
    ]


def test_resaving_a_post_creates_no_duplicate_links_and_keeps_the_codes(workspace, shop):
    post = PostFactory(workspace=workspace, caption="https://shop.example/a", link_url="")
    code = post.links.get().code
    post.caption = "Edited: https://shop.example/a"
    post.save()
    from omnisocial import services

    services.post_save(workspace=workspace, post=post, platform="facebook", caption=post.caption)
    link = post.links.get()
    assert link.code == code
    assert link.utm_source == "facebook"
    assert TrackedLink.objects.count() == 1


def test_a_reference_set_by_the_marketer_is_the_links_utm_content(workspace, shop):
    post = PostFactory(
        workspace=workspace, reference="post_17912345678901234", link_url="https://shop.example/"
    )
    assert post.links.get().utm_content == "post_17912345678901234"


def test_tag_a_url_through_the_api(api_client, workspace, shop):
    post = PostFactory(workspace=workspace)
    response = api_client.post(
        "/attribution/links",
        {"post": post.pk, "url": "https://shop.example/p/hat?ref=abc", "utmTerm": "straw"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    link = TrackedLink.objects.get()
    assert body["code"] == link.code
    assert body["shortUrl"] == f"http://testserver/r/{link.code}"
    assert body["taggedUrl"] == (
        "https://shop.example/p/hat?ref=abc&utm_source=instagram&utm_medium=social"
        f"&utm_content=post-{post.pk}&utm_term=straw"
    )
    assert (body["utmTerm"], body["clicks"], body["uniqueClicks"]) == ("straw", 0, 0)
    again = api_client.post(
        "/attribution/links",
        {"post": post.pk, "url": "https://shop.example/p/hat?ref=abc", "utmTerm": "straw"},
        format="json",
    )
    assert again.status_code == 200 and again.json()["code"] == link.code
    listed = api_client.get("/attribution/links", {"post": post.pk}).json()
    assert [item["code"] for item in listed["results"]] == [link.code]


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/phish",
        "//evil.example/x",
        "https:\\\\evil.example",
        "https://shop.example@evil.example/",
        "https://shop.example.evil.example/",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "https://evil.example%2f@shop.example/",
        "https://evil.example/\nhttps://shop.example/",
        "ftp://shop.example/file",
    ],
)
def test_destinations_outside_the_allow_list_are_refused_with_a_reason(api_client, workspace, url):
    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    post = PostFactory(workspace=workspace)
    response = api_client.post("/attribution/links", {"post": post.pk, "url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["url"][0]
    assert not TrackedLink.objects.exists()


def test_a_post_of_another_workspace_cannot_be_tagged(api_client, workspace):
    other = WorkspaceFactory()
    AllowedDomainFactory(workspace=other, domain="shop.example")
    post = PostFactory(workspace=other)
    response = api_client.post(
        "/attribution/links", {"post": post.pk, "url": "https://shop.example/"}, format="json"
    )
    assert response.status_code == 404
    assert api_client.get("/attribution/links").json()["count"] == 0


def test_allowed_domains_api_normalises_and_refuses_garbage(api_client, workspace):
    response = api_client.post("/attribution/domains", {"domain": "https://Shop.Example/"})
    assert response.status_code == 201
    assert response.json()["domain"] == "shop.example"
    assert api_client.post("/attribution/domains", {"domain": "not a domain"}).status_code == 400
    assert [d["domain"] for d in api_client.get("/attribution/domains").json()["results"]] == [
        "shop.example"
    ]


def test_the_readmes_link_example_works_as_written(api_client, workspace):
    """`{"post": 12, "url": "https://shop.example/p/1", "utmTerm": ""}`: an empty utm_term is no
    term, not a refusal."""
    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    post = PostFactory(workspace=workspace)
    body = {"post": post.pk, "url": "https://shop.example/p/1", "utmTerm": ""}
    response = api_client.post("/attribution/links", body, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["utmTerm"], "utm_term" in response.json()["taggedUrl"]) == ("", False)
