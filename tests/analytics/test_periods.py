"""Periods that compare like with like: every preset's comparison period, as the Revenue page
states it ("compared with ...") and the figures use it."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

pytestmark = pytest.mark.django_db

# Monday Dec 7 2026, 10:00 in the workspace's zone (Europe/Paris): "7 days" starts on the 1st.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize(
    ("query", "shown", "compared"),
    [
        ("range=7d", "Dec 1, 2026 – Dec 7, 2026", "Nov 24 – Nov 30"),
        ("range=30d", "Nov 8, 2026 – Dec 7, 2026", "Oct 9 – Nov 7"),
        ("", "Nov 8, 2026 – Dec 7, 2026", "Oct 9 – Nov 7"),
        ("range=90d", "Sep 9, 2026 – Dec 7, 2026", "Jun 11 – Sep 8"),
        ("range=this-month", "Dec 1, 2026 – Dec 7, 2026", "Nov 1 – Nov 7"),
        ("range=last-month", "Nov 1, 2026 – Nov 30, 2026", "Oct 1 – Oct 31"),
        ("from=2026-12-01&to=2026-12-03", "Dec 1, 2026 – Dec 3, 2026", "Nov 1 – Nov 3"),
        ("from=2026-11-10&to=2026-11-16", "Nov 10, 2026 – Nov 16, 2026", "Nov 3 – Nov 9"),
        ("range=7d&comparison=year", "Dec 1, 2026 – Dec 7, 2026", "Dec 1 – Dec 7"),
    ],
)
def test_each_preset_is_compared_with_its_like(client, workspace, query, shown, compared):
    workspace.time_zone = "Europe/Paris"
    workspace.save(update_fields=["time_zone"])
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/analytics/revenue/?{query}").content.decode()
    assert f"{shown} · " in page
    assert f"compared with {compared}<" in page
