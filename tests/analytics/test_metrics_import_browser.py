"""Importing platform figures in a real headless Chromium: a CSV with bad rows previewed and
saved, then the funnel's impressions, Post Analytics' engagement and ROAS read them, equal to the
API to the cent, at desktop and phone widths.

With SCREENSHOT_DIR set the test writes its screenshots there.
"""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from omnisocial.models import Membership
from tests.analytics.conftest import order_record
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import (
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILE = """reference,date,impressions,reach,engagements,link_clicks,spend
linen-reel,2026-11-09,4000,3100,210,88,12.50
linen-reel,2026-11-10,2500,2000,120,40,17.50
tote,2026-11-09,900,700,45,12,
unknown-post,2026-11-09,100,,,,
linen-reel,2026-11-31,1,,,,
tote,2026-11-10,12.5,,,,
"""
RANGE = "from=2026-11-01&to=2026-11-30"
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


def shot(page, name):
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=Path(os.environ["SCREENSHOT_DIR"]) / f"{name}.png", full_page=True)


def test_a_marketer_imports_figures_and_reads_impressions_engagement_and_roas(
    live_server,
    browser,  # noqa: F811
    tmp_path,
):
    workspace = WorkspaceFactory()
    user = UserFactory(username="owner@example.com")
    MembershipFactory(user=user, workspace=workspace, role=Membership.Role.OWNER)
    store = StoreConnectionFactory(workspace=workspace)
    reel = PostFactory(workspace=workspace, reference="linen-reel", caption="Linen shirt reel")
    PostFactory(workspace=workspace, reference="tote", platform="tiktok", caption="Tote bag")
    order_record(store, 1, at=datetime(2026, 11, 10, 12, tzinfo=UTC), total="100.00",
                 utm_content="linen-reel", utm_source="instagram")  # fmt: skip
    csv_file = tmp_path / "metrics.csv"
    csv_file.write_text(FILE)

    for size, viewport in SIZES.items():
        page = browser.new_page(viewport=viewport)
        errors = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "owner@example.com")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_load_state()

        page.goto(f"{live_server.url}/posts/metrics/import/")
        page.set_input_files("input[name=file]", str(csv_file))
        with page.expect_navigation():
            page.click("#upload-form button[type=submit]")
        bad = page.eval_on_selector_all("#bad-rows tbody tr", "rows => rows.map(r => r.innerText)")
        assert bad == [
            "5\tno post of this workspace has the reference 'unknown-post'",
            "6\tdate '2026-11-31' is not a day such as 2026-03-01 or 20260301",
            "7\timpressions '12.5' is not a whole number of 0 or more",
        ]
        shot(page, f"metrics-import-preview-{size}")
        with page.expect_navigation():
            page.click("#save-form button[type=submit]")
        created = "3 new, 0 changed, 0 unchanged" if size == "desktop" else "0 new, 0 changed, 3"
        assert created in page.inner_text(".messages")

        page.goto(f"{live_server.url}/analytics/revenue/?{RANGE}")
        funnel = page.inner_text("#funnel")
        assert "7,400" in funnel
        assert "CSV import (Instagram, TikTok)" in page.inner_text("#impressions-source")
        assert "Blended 3.33× on 30.00 USD spent" in page.inner_text("#blended-roas")
        shot(page, f"metrics-overview-{size}")

        page.goto(f"{live_server.url}/analytics/posts/{reel.pk}/?{RANGE}")
        engagement = page.inner_text("#engagement")
        assert "6,500" in engagement and "330" in engagement and "30.00" in engagement
        assert "3.33×" in page.inner_text("#post-revenue")
        shot(page, f"metrics-post-analytics-{size}")
        api = page.request.get(f"{live_server.url}/commerce/revenue/posts/{reel.pk}?{RANGE}")
        assert (api.json()["adSpend"], api.json()["roas"]) == ("30.00", "3.3333")
        assert errors == []
        page.close()
