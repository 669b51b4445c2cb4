"""The click redirect and the webhooks carry only what they need: no session, user, CSRF,
message, time-zone or CSP work, even for a signed-in browser; the redirect is one statement."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from attribution.models import Click
from tests.attribution.test_clicks import HUMAN_UA
from tests.commerce.signing import fixture_bytes, shopify_headers, url
from tests.factories import AllowedDomainFactory, PostFactory, StoreConnectionFactory


def test_a_signed_in_visitors_click_is_one_insert_and_touches_no_session(client, workspace):
    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    post = PostFactory(workspace=workspace, link_url="https://shop.example/p")
    code = post.links.get().code
    # In production its redirect data is cached when the link's creation commits; a test's
    # transaction never commits, so the first click caches it.
    client.get(f"/r/{code}", HTTP_USER_AGENT=HUMAN_UA)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/r/{code}", HTTP_USER_AGENT=HUMAN_UA)
    assert response.status_code == 302
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert Click.objects.filter(post=post).count() == 2
    # Nothing of the page stack: no session saved or cookie set, no CSP or frame headers.
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert "Content-Security-Policy" not in response and "X-Frame-Options" not in response


def test_a_webhook_reads_no_session_or_user(client, workspace, django_capture_on_commit_callbacks):
    store = StoreConnectionFactory(workspace=workspace)
    body = fixture_bytes("shopify_order_create.json")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url(store), body, content_type="application/json",
                               **shopify_headers(store, body))  # fmt: skip
    assert response.status_code == 200
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "django_session" not in tables and "auth_user" not in tables
    assert "csrftoken" not in response.cookies


def test_a_hot_link_is_served_from_the_process_until_it_changes(db, monkeypatch):
    """The process keeps a link it has just redirected for a few seconds, in front of the shared
    cache: the next redirects read neither the cache nor the database; a change made here is
    seen at once, and one made elsewhere within HOT_LINK_SECONDS."""
    from django.core.cache import cache

    from attribution import selectors
    from tests.factories import AllowedDomainFactory, PostFactory

    AllowedDomainFactory(
        workspace=(post := PostFactory(link_url="")).workspace, domain="shop.example"
    )
    from attribution.services import link_tag

    link = link_tag(post=post, url="https://shop.example/p/1")
    assert selectors.link_target(link.code).tagged_url == link.tagged_url
    reads = []
    monkeypatch.setattr(cache, "get", lambda *a, **k: reads.append(a) or None)
    assert selectors.link_target(link.code).link_id == link.pk
    assert reads == []  # served from the process
    # Another process's change: the process sees it once its copy expires.
    clock = [selectors.monotonic() + selectors.HOT_LINK_SECONDS + 1]
    monkeypatch.setattr(selectors, "monotonic", lambda: clock[0])
    selectors.link_target(link.code)
    assert len(reads) == 1
    # This process's own change: at once (the saved link replaces the hot copy).
    link.tagged_url = "https://shop.example/p/1?utm_source=changed"
    link.save()
    selectors.link_cache_put([link])
    assert "changed" in selectors.link_target(link.code).tagged_url
    # Unknown codes are never kept.
    assert selectors.link_target("zzzzzzz") is None
    assert "zzzzzzz" not in selectors._hot_links
