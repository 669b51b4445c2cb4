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
