from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.test import Client

from attribution import services
from attribution.models import Click
from tests.factories import AllowedDomainFactory, CampaignFactory, PostFactory

HUMAN_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Instagram 331.0.0.37.90"
)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def link(workspace):
    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    post = PostFactory(
        workspace=workspace,
        campaign=CampaignFactory(workspace=workspace, slug="fall"),
        link_url="https://shop.example/p/scarf?color=red#top",
    )
    return post.links.get()


@pytest.fixture
def visitor():
    return Client(HTTP_USER_AGENT=HUMAN_UA)


def test_the_redirect_carries_every_utm_and_the_click_id(visitor, link):
    response = visitor.get(f"/r/{link.code}", HTTP_REFERER="https://l.instagram.com/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path, location.fragment) == (
        "https", "shop.example", "/p/scarf", "top",
    )  # fmt: skip
    click = Click.objects.get()
    assert parse_qs(location.query) == {
        "color": ["red"],
        "utm_source": ["instagram"],
        "utm_medium": ["social"],
        "utm_campaign": ["fall"],
        "utm_content": [f"post-{link.post_id}"],
        "osc_click": [click.click_id],
    }
    assert (click.link, click.post_id, click.workspace_id) == (
        link,
        link.post_id,
        link.workspace_id,
    )
    assert (click.is_bot, click.is_unique, click.referrer) == (
        False,
        True,
        "https://l.instagram.com/",
    )
    assert click.ip_prefix == "127.0.0.0/24"
    assert response["Cache-Control"] == "no-store"


def test_the_visitor_cookie_is_set_once_and_reused(visitor, link):
    first = visitor.get(f"/r/{link.code}")
    cookie = first.cookies["osc_vid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"] == 400 * 86400
    second = visitor.get(f"/r/{link.code}")
    assert "osc_vid" not in second.cookies
    assert set(Click.objects.values_list("visitor_id", flat=True)) == {cookie.value}


def test_repeat_clicks_within_30_minutes_are_one_unique_click(visitor, link, client):
    for _ in range(3):
        visitor.get(f"/r/{link.code}")
    seen = visitor.cookies[f"osc_seen_{link.code}"]
    assert (seen["max-age"], seen["path"]) == (1800, f"/r/{link.code}")
    Client(HTTP_USER_AGENT=HUMAN_UA).get(f"/r/{link.code}")  # another visitor
    assert Click.objects.count() == 4
    assert Click.objects.filter(is_unique=True).count() == 2

    page = client.get(f"/posts/{link.post_id}/").content.decode()
    assert '<td class="num">4</td><td class="num">2</td>' in page


@pytest.mark.parametrize(
    ("method", "headers", "reason"),
    [
        ("get", {"HTTP_USER_AGENT": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"}, "crawler"),
        ("get", {"HTTP_USER_AGENT": "Twitterbot/1.0"}, "crawler"),
        ("get", {"HTTP_USER_AGENT": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}, "crawler"),
        ("get", {"HTTP_USER_AGENT": "WhatsApp/2.23.20.0"}, "crawler"),
        ("get", {"HTTP_USER_AGENT": "TelegramBot (like TwitterBot)"}, "crawler"),
        ("get", {"HTTP_USER_AGENT": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)"}, "crawler"),
        ("get", {"HTTP_USER_AGENT": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"}, "crawler"),
        ("get", {"HTTP_USER_AGENT": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}, "crawler"),
        ("get", {"HTTP_USER_AGENT": ""}, "no-user-agent"),
        ("head", {"HTTP_USER_AGENT": HUMAN_UA}, "head-request"),
        ("get", {"HTTP_USER_AGENT": HUMAN_UA, "HTTP_SEC_PURPOSE": "prefetch;prerender"}, "prefetch"),
        ("get", {"HTTP_USER_AGENT": HUMAN_UA, "HTTP_PURPOSE": "prefetch"}, "prefetch"),
    ],
)  # fmt: skip
def test_bots_get_the_redirect_but_are_stored_as_bots_and_not_counted(
    link, client, method, headers, reason
):
    response = getattr(Client(), method)(f"/r/{link.code}", **headers)
    assert response.status_code == 302
    assert response["Location"].startswith("https://shop.example/p/scarf?")
    click = Click.objects.get()
    assert (click.is_bot, click.bot_reason) == (True, reason)
    assert "osc_vid" not in response.cookies
    rows = client.get("/posts/").context["rows"]
    assert [(row["post"], row["unique_clicks"]) for row in rows] == [(link.post, 0)]


def test_other_platforms_click_ids_pass_through_untouched(visitor, link):
    response = visitor.get(f"/r/{link.code}?fbclid=IwAR3x_yZ-123&utm_source=evil&foo=bar")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["fbclid"] == ["IwAR3x_yZ-123"]
    assert query["utm_source"] == ["instagram"]
    assert "foo" not in query


def test_an_unknown_code_is_a_404_page_without_redirect(visitor, db):
    response = visitor.get("/r/nope123")
    assert response.status_code == 404
    assert "Location" not in response
    assert b"does not exist" in response.content
    assert not Click.objects.exists()


def test_codes_longer_than_any_code_are_404_without_a_query_or_a_cache_entry(
    visitor, db, django_assert_num_queries
):
    from attribution.models import TrackedLink
    from attribution.selectors import link_cache_key

    longest = TrackedLink._meta.get_field("code").max_length
    for length in (longest + 1, 64, 240, 3900):
        code = "a" * length
        with django_assert_num_queries(0):
            response = visitor.get(f"/r/{code}")
        assert response.status_code == 404
        if length <= 240:  # a longer key would draw CacheKeyWarning from the check itself
            assert cache.get(link_cache_key(code)) is None
    # A code of a real code's length is still looked up (once, then remembered briefly).
    with django_assert_num_queries(1):
        assert visitor.get("/r/" + "b" * longest).status_code == 404
    with django_assert_num_queries(0):
        assert visitor.get("/r/" + "b" * longest).status_code == 404


def test_the_link_cache_follows_a_link_from_creation_to_deletion(
    workspace, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from attribution.selectors import LinkTarget, link_cache_key, link_target

    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    with django_capture_on_commit_callbacks(execute=True):
        post = PostFactory(workspace=workspace, link_url="https://shop.example/p/1")
    link = post.links.get()
    expected = LinkTarget(link.pk, workspace.pk, post.pk, link.tagged_url)
    with django_assert_num_queries(0):  # written when created: no redirect needed to warm it
        assert link_target(link.code) == expected

    campaign = CampaignFactory(workspace=workspace, slug="winter")
    with django_capture_on_commit_callbacks(execute=True):
        post.campaign = campaign
        post.save()
        services.post_links_tag(post=post)
    link.refresh_from_db()
    assert "utm_campaign=winter" in link.tagged_url
    with django_assert_num_queries(0):
        assert link_target(link.code).tagged_url == link.tagged_url

    with django_capture_on_commit_callbacks(execute=True):
        link.delete()
    assert cache.get(link_cache_key(link.code)) is None
    assert link_target(link.code) is None


def test_warm_link_cache_writes_every_link(link, django_assert_num_queries):
    from io import StringIO

    from django.core.management import call_command

    from attribution.selectors import link_target

    cache.clear()  # a new, empty Redis
    out = StringIO()
    call_command("warm_link_cache", stdout=out)
    assert out.getvalue() == "1 links written to the link cache.\n"
    with django_assert_num_queries(0):
        assert link_target(link.code).tagged_url == link.tagged_url


def test_a_database_failure_still_redirects_and_the_spooled_click_is_stored_once(
    visitor, link, monkeypatch, settings, tmp_path
):
    settings.CLICK_SPOOL_DIR = str(tmp_path)
    visitor.get(f"/r/{link.code}")  # warms the link cache

    def unavailable(values):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(services, "_click_insert", unavailable)  # the click's one INSERT fails
        response = visitor.get(f"/r/{link.code}")
    assert response.status_code == 302
    click_id = parse_qs(urlsplit(response["Location"]).query)["osc_click"][0]
    assert not Click.objects.filter(click_id=click_id).exists()

    assert services.click_spool_flush() == 1
    assert services.click_spool_flush() == 0
    spooled = Click.objects.get(click_id=click_id)
    assert (spooled.post_id, spooled.is_bot, spooled.is_unique) == (link.post_id, False, False)
    assert Click.objects.count() == 2
