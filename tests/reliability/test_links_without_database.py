"""The database is down and no web process has ever served a link: every link still redirects,
because its redirect data was put in the shared cache (Redis, CACHE_URL) when it was created.
gunicorn starts with three workers whose DATABASE_URL points at a closed port; the links were
created by another process (this test). Clicks go to the spool and are stored once the database
is back. An unknown code, a page and the API answer 503 with Retry-After instead of a 500."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from attribution.models import Click
from omnisocial import services
from omnisocial.settings import caches_from_url
from tests.attribution.test_clicks import HUMAN_UA
from tests.factories import (
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.reliability.conftest import (
    closed_port,
    gunicorn_server,
    http_request,
    postgresql_only,
    redis_flush,
    redis_only,
)

pytestmark = [postgresql_only, redis_only, pytest.mark.django_db(transaction=True)]

CACHE_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def shared_cache(settings):
    """This process uses the same Redis cache as the web processes, as a worker host would."""
    redis_flush(CACHE_URL)
    settings.CACHES = caches_from_url(CACHE_URL)
    yield
    redis_flush(CACHE_URL)


def test_links_never_served_redirect_while_the_database_is_down(shared_cache, settings, tmp_path):
    workspace = WorkspaceFactory()
    store = StoreConnectionFactory(workspace=workspace)
    links = [
        PostFactory(workspace=workspace, link_url=f"https://{store.shop_domain}/p/{n}").links.get()
        for n in range(5)
    ]
    _, raw_key = services.api_key_create(workspace=workspace, name="outage")
    user = UserFactory()
    MembershipFactory(user=user, workspace=workspace)
    browser = Client()
    browser.force_login(user)
    session = browser.cookies["sessionid"].value

    spool = tmp_path / "spool"
    env = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/omnisocial",
        "CACHE_URL": CACHE_URL,
        "CLICK_SPOOL_DIR": str(spool),
    }
    with gunicorn_server(env, workers=3, log=tmp_path / "gunicorn.log") as server:
        clicked = {}
        for _round in range(2):
            for link in links:
                status, headers, _ = http_request(
                    server, "GET", f"/r/{link.code}", headers={"User-Agent": HUMAN_UA}
                )
                assert status == 302, (status, (tmp_path / "gunicorn.log").read_text()[-3000:])
                location = urlsplit(headers["Location"])
                assert headers["Location"].startswith(link.tagged_url.split("?")[0])
                clicked[parse_qs(location.query)["osc_click"][0]] = link.pk

        # A code no link has: the database would have to say so; it cannot, so 503, not 500.
        status, headers, body = http_request(
            server, "GET", "/r/unknown", headers={"Accept": "text/html", "User-Agent": HUMAN_UA}
        )
        assert status == 503 and int(headers["Retry-After"]) > 0
        assert headers["Content-Type"].startswith("text/html")
        assert b"Traceback" not in body and b"temporarily unavailable" in body
        # A code longer than any code is no link: 404 at once, database or not.
        assert http_request(server, "GET", "/r/" + "x" * 17)[0] == 404

        # Pages (a signed-in browser) and the API answer 503 with Retry-After too.
        status, headers, body = http_request(
            server, "GET", "/posts/",
            headers={"Accept": "text/html", "Cookie": f"sessionid={session}"},
        )  # fmt: skip
        assert status == 503 and int(headers["Retry-After"]) > 0, status
        assert b"temporarily unavailable" in body
        status, headers, body = http_request(
            server, "GET", "/api/workspace", headers={"Authorization": f"Bearer {raw_key}"}
        )
        assert status == 503 and int(headers["Retry-After"]) > 0, status
        assert headers["Content-Type"] == "application/json"
        assert b'"detail"' in body

    assert len(clicked) == 10
    assert not Click.objects.exists()
    settings.CLICK_SPOOL_DIR = str(spool)
    call_command("flush_click_spool", stdout=_Null())  # the database is back
    assert dict(Click.objects.values_list("click_id", "link_id")) == clicked


class _Null:
    def write(self, *_):
        pass

    def flush(self):
        pass
