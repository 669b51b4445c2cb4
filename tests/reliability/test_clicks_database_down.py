"""PostgreSQL unavailable while visitors click: every known link still redirects (from the link
cache), the clicks go to the spool, and the flush after recovery stores each exactly once."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from attribution.models import Click
from tests.attribution.test_clicks import HUMAN_UA
from tests.factories import PostFactory, StoreConnectionFactory, WorkspaceFactory
from tests.reliability.conftest import database_unreachable, postgresql_only

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]


def click(code: str, visitor: Client) -> str:
    response = visitor.get(f"/r/{code}", HTTP_USER_AGENT=HUMAN_UA)
    assert response.status_code == 302, response.status_code
    return parse_qs(urlsplit(response["Location"]).query)["osc_click"][0]


def test_clicks_during_an_outage_redirect_and_are_stored_once_after_recovery(settings, tmp_path):
    settings.CLICK_SPOOL_DIR = str(tmp_path / "spool")
    workspace = WorkspaceFactory()
    store = StoreConnectionFactory(workspace=workspace)
    codes = [
        PostFactory(workspace=workspace, link_url=f"https://{store.shop_domain}/p/{n}")
        .links.get()
        .code
        for n in range(5)
    ]
    visitors = [Client() for _ in range(4)]
    before = {click(code, visitors[0]) for code in codes}  # warms this web process's link cache

    during = []
    with database_unreachable():
        for round_ in range(6):
            for code in codes:
                during.append(click(code, visitors[round_ % len(visitors)]))
        assert (tmp_path / "spool" / "clicks.jsonl").exists()
    assert len(set(during)) == len(during) == 30
    assert set(Click.objects.values_list("click_id", flat=True)) == before

    out = []
    call_command("flush_click_spool", stdout=_Lines(out))
    assert out == ["30 spooled clicks stored.\n"]
    stored = list(Click.objects.values_list("click_id", flat=True))
    assert sorted(stored) == sorted(before | set(during))  # none lost, none twice
    # The stored clicks keep what the redirect knew: their link, post and visitor.
    spooled = Click.objects.filter(click_id__in=during)
    assert all(c.link_id and c.post_id and c.visitor_id for c in spooled)
    assert set(spooled.values_list("link__code", flat=True)) == set(codes)

    # A second flush (the schedule runs every minute) stores nothing again.
    out.clear()
    call_command("flush_click_spool", stdout=_Lines(out))
    assert out == ["0 spooled clicks stored.\n"]
    assert Click.objects.count() == len(before) + 30


class _Lines:
    def __init__(self, lines):
        self.lines = lines

    def write(self, text):
        self.lines.append(text)

    def flush(self):
        pass
