"""Settings › Connections through the Django test client, against fake OAuth endpoints: Meta's
Login dialog, code exchange and long-lived token; TikTok's advertiser authorisation; the state
refused when wrong or used twice; owners connect, others see; another workspace's connection
answers 404."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection as db
from django.urls import reverse

from omnisocial.models import Membership, PlatformConnection, PlatformSync, PostMetrics
from tests.factories import MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from tests.fakes import meta as fake_meta
from tests.fakes import tiktok as fake_tiktok
from tests.fakes.meta import FakeMeta
from tests.fakes.tiktok import FakeTikTok

PAGE = "/settings/connections/"


@pytest.fixture
def meta(settings):
    with FakeMeta() as fake:
        fake.configure(settings)
        yield fake


@pytest.fixture
def tiktok(settings):
    with FakeTikTok() as fake:
        fake.configure(settings)
        yield fake


def begin(client, platform: str) -> str:
    response = client.post(PAGE, {"connect": platform})
    assert response.status_code == 302
    return response["Location"]


def come_back(client, location: str):
    parts = urlsplit(location)
    assert parts.path == f"/settings/connections/{parts.path.split('/')[3]}/callback/"
    return client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})


def test_meta_connects_through_the_dialog_with_a_long_lived_token(client, workspace, meta):
    dialog = begin(client, "meta")
    query = parse_qs(urlsplit(dialog).query)
    assert dialog.startswith(f"{meta.url}/v24.0/dialog/oauth?")
    assert query["client_id"] == [fake_meta.APP_ID]
    assert query["redirect_uri"] == ["http://testserver/settings/connections/meta/callback/"]
    assert query["code_challenge_method"] == ["S256"] and query["state"][0]
    response = come_back(client, meta.authorize(dialog))
    assert response.status_code == 302 and response["Location"] == PAGE

    connection = workspace.platform_connections.get()
    assert connection.access_token == fake_meta.LONG_TOKEN
    assert connection.external_user == "Ada Owner" and connection.token_expires_at
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token FROM omnisocial_platformconnection WHERE id = %s",
            [connection.pk],
        )
        stored = cursor.fetchone()[0]
    assert stored.startswith("enc:") and fake_meta.LONG_TOKEN not in stored
    assert sorted(connection.accounts.values_list("kind", "external_id", "currency")) == [
        ("ad_account", "111", "EUR"), ("instagram", "1784", ""), ("page", "500", ""),
    ]  # fmt: skip
    exchanges = [s for s in meta.server.seen if s.path.endswith("/oauth/access_token")]
    assert exchanges[0].query["code_verifier"] and "code" in exchanges[0].query
    assert exchanges[1].query["grant_type"] == ["fb_exchange_token"]

    page = client.get(PAGE).content.decode()
    assert "Connected Meta" in page and "Brand ads" in page and "@brand" in page
    assert fake_meta.LONG_TOKEN not in page and fake_meta.PAGE_TOKEN not in page
    assert "http://testserver/settings/connections/meta/callback/" in page


def test_picking_accounts_queues_the_backfill(
    client, workspace, meta, django_capture_on_commit_callbacks
):
    meta.account_ads["111"] = ["a1"]
    meta.creatives = {"a1": {"effective_instagram_media_id": "m1"}}
    post = PostFactory(workspace=workspace, platform="instagram", external_id="m1")
    workspace.reporting_currency = "EUR"
    workspace.save()
    come_back(client, meta.authorize(begin(client, "meta")))
    connection = workspace.platform_connections.get()
    ad_account = connection.accounts.get(kind="ad_account")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, {"connection": connection.pk, "action": "select",
                           "account": [ad_account.pk]})  # fmt: skip
    sync = connection.syncs.get()
    assert (sync.kind, sync.status, (sync.until - sync.since).days) == ("backfill", "done", 29)
    assert PostMetrics.objects.filter(post=post, source="meta").count() == 30
    assert "30 days added" in client.get(PAGE).content.decode()


def test_a_wrong_or_reused_state_is_refused(client, workspace, meta):
    dialog = begin(client, "meta")
    back = meta.authorize(dialog)
    forged = back.replace("state=", "state=x")
    response = come_back(client, forged)
    assert response.status_code == 302
    assert not PlatformConnection.objects.exists()
    assert "was not issued here" in client.get(PAGE).content.decode()

    # The forged answer used the state up: the genuine one is refused too, then a fresh
    # flow connects, and its answer replayed is refused.
    come_back(client, back)
    assert not PlatformConnection.objects.exists()
    back = meta.authorize(begin(client, "meta"))
    come_back(client, back)
    assert PlatformConnection.objects.count() == 1
    seen = len(meta.server.seen)
    come_back(client, back)
    assert len(meta.server.seen) == seen  # refused before any call out
    assert "used already" in client.get(PAGE).content.decode()


def test_a_state_from_another_workspace_is_refused(client, user, workspace, meta):
    other = WorkspaceFactory()
    MembershipFactory(user=user, workspace=other)
    back = meta.authorize(begin(client, "meta"))
    client.post(reverse("workspace-switch"), {"workspace": other.pk})
    come_back(client, back)
    assert not PlatformConnection.objects.exists()


def test_tiktok_connects_its_advertisers(client, workspace, tiktok):
    auth = begin(client, "tiktok")
    assert auth.startswith(f"{tiktok.url}/portal/auth?")
    assert parse_qs(urlsplit(auth).query)["app_id"] == [fake_tiktok.APP_ID]
    come_back(client, tiktok.authorize(auth))
    connection = workspace.platform_connections.get()
    assert connection.access_token == fake_tiktok.TOKEN and connection.token_expires_at is None
    assert list(connection.accounts.values_list("kind", "external_id", "name", "currency")) == [
        ("advertiser", "7001", "Brand TT", "USD")
    ]


def test_analysts_and_viewers_see_but_do_not_connect(client, user, workspace, meta):
    for role in (Membership.Role.ANALYST, Membership.Role.VIEWER):
        Membership.objects.filter(user=user).update(role=role)
        user._omnisocial_memberships = None
        page = client.get(PAGE)
        assert page.status_code == 200
        assert "Only the workspace's owners connect" in page.content.decode()
        assert ">Connect Meta" not in page.content.decode()
        assert client.post(PAGE, {"connect": "meta"}).status_code == 403


def test_without_app_credentials_the_page_says_which_settings(client, settings):
    settings.META_APP_ID = settings.TIKTOK_APP_ID = ""
    page = client.get(PAGE).content.decode()
    assert "<code>META_APP_ID</code>" in page and "<code>TIKTOK_APP_SECRET</code>" in page


def test_another_workspaces_connection_answers_404(client, workspace):
    other = WorkspaceFactory()
    theirs = PlatformConnection.objects.create(workspace=other, platform="meta",
                                               access_token="secret-of-theirs")  # fmt: skip
    for action in ("disconnect", "sync", "select"):
        response = client.post(PAGE, {"connection": theirs.pk, "action": action})
        assert response.status_code == 404
    assert PlatformConnection.objects.filter(pk=theirs.pk).exists()
    assert not PlatformSync.objects.exists()
    owner = UserFactory()
    MembershipFactory(user=owner, workspace=other)
    assert "secret-of-theirs" not in client.get(PAGE).content.decode()


def test_owners_disconnect(client, workspace):
    mine = PlatformConnection.objects.create(workspace=workspace, platform="tiktok",
                                             access_token="t")  # fmt: skip
    client.post(PAGE, {"connection": mine.pk, "action": "disconnect"})
    assert not PlatformConnection.objects.exists()


def test_the_page_lets_its_connect_forms_reach_the_login_dialogs(client, meta, settings):
    """A browser holds a form's redirect to the page's CSP form-action: the Connections page
    names the platforms' dialog origins there, and only there."""
    settings.TIKTOK_AUTH_URL = "https://auth.tiktok.example/portal/auth"
    policy = client.get(PAGE)["Content-Security-Policy"]
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert form_action.split()[1:] == ["'self'", meta.url, "https://auth.tiktok.example"]
    other = client.get("/settings/")["Content-Security-Policy"]
    assert "form-action 'self';" in other + ";" and meta.url not in other
