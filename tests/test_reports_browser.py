"""The reports in a real headless Chromium, against the API for the same query: the model
comparison (choosing two models shows, per post, the changes the API answers), the conversion
paths of a hand-built journey set, and the Segments chart (drawn, under the page's CSP, with the
table's rows on a phone and a desktop)."""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.analytics import test_conversion_paths as paths
from tests.analytics.conftest import order_record
from tests.analytics.test_model_comparison import NOVEMBER, journeys  # noqa: F401 - fixture
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    WorkspaceFactory,
)
from tests.test_first_run_browser import csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in(browser, live_server, workspace, viewport=None):  # noqa: F811
    user = MembershipFactory(workspace=workspace).user
    page = browser.new_page(viewport=viewport)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/revenue/")
    return page


def test_the_compare_views_changes_match_the_api(live_server, browser, journeys):  # noqa: F811
    page = signed_in(browser, live_server, journeys["workspace"])

    page.goto(f"{live_server.url}/analytics/revenue/compare/?{NOVEMBER}")
    with page.expect_navigation():
        page.select_option("select[name=base]", "last-touch")
    with page.expect_navigation():
        page.select_option("select[name=against]", "first-touch")
    assert "base=last-touch" in page.url and "against=first-touch" in page.url

    api = page.request.get(
        f"{live_server.url}/commerce/revenue/model-comparison?{NOVEMBER}"
        "&base=last-touch&against=first-touch"
    ).json()
    assert api["results"], api
    for row in api["results"]:
        cells = page.locator(
            f"#comparison tr[data-key='post-{row['postId']}'] td"
        ).all_inner_texts()
        assert cells[1] == row["base"]["revenue"] and cells[2] == row["against"]["revenue"]
        change = cells[3].split()[0].replace("−", "-")
        assert change == row["revenueChange"], (cells, row)


path_journeys = pytest.fixture(paths.journeys.__wrapped__, name="path_journeys")


def test_the_conversion_paths_page_matches_the_api(live_server, browser, path_journeys):  # noqa: F811
    page = signed_in(browser, live_server, path_journeys["workspace"])
    page.goto(f"{live_server.url}/analytics/revenue/compare/?{paths.NOVEMBER}")
    with page.expect_navigation():
        page.get_by_role("link", name="Conversion paths").click()
    api = page.request.get(f"{live_server.url}/commerce/revenue/paths?{paths.NOVEMBER}").json()
    shown = page.locator("#post-paths tbody tr")
    assert shown.count() == len(api["postPaths"]) == 3
    for n, row in enumerate(api["postPaths"]):
        cells = shown.nth(n).locator("td").all_inner_texts()
        assert cells[1].strip() == str(row["orders"]) and cells[3] == row["revenue"], cells
    # Folded (<details>) on the page: read the cells' text whether shown or not.
    rows = page.locator("#path-lengths tbody tr")
    lengths = [rows.nth(n).locator("td").all_text_contents() for n in range(rows.count())]
    assert [[cell.strip() for cell in cells[:2]] for cells in lengths] == [
        [str(r["touches"]), str(r["orders"])] for r in api["pathLengths"]
    ]


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def fourteen_campaigns():
    """Fourteen campaigns, each with one post that brought one order (by utm_content) in
    November, worth 10.00 more for each campaign: more segments than the chart draws."""
    workspace = WorkspaceFactory()
    store = StoreConnectionFactory(workspace=workspace)
    for n in range(14):
        campaign = CampaignFactory(workspace=workspace, name=f"Campaign number {n:02} of autumn")
        post = PostFactory(workspace=workspace, platform="instagram", campaign=campaign)
        order_record(store, n, at=datetime(2026, 11, 10 + n % 10, 12, tzinfo=UTC),
                     total=f"{10 * (n + 1)}.00", utm_content=post.reference,
                     utm_source="instagram")  # fmt: skip
    return workspace


def test_the_segments_chart_draws_the_tables_rows_on_a_phone_and_a_desktop(
    live_server,
    browser,  # noqa: F811 - fixture
    fourteen_campaigns,
):
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = signed_in(browser, live_server, fourteen_campaigns, viewport=viewport)
        blocked = csp_violations(page)
        page.goto(f"{live_server.url}/analytics/segments/?{NOVEMBER}&by=campaign")
        page.wait_for_selector(".segments-chart .main-svg")
        table = page.locator("table.segments tbody tr")
        labels = [table.nth(n).locator("td").first.inner_text() for n in range(table.count())]
        revenue = [
            float(table.nth(n).locator("td").nth(1).inner_text().replace(",", ""))
            for n in range(table.count())
        ]
        assert len(labels) == 14 and labels[0] == "Campaign number 13 of autumn", labels
        # The bars plotly drew: the table's first twelve in its order, then the rest as Other.
        drawn = page.evaluate(
            "(() => { const t = document.querySelector('.segments-chart .js-plotly-plot').data[0];"
            " return {labels: t.customdata, revenue: t.x}; })()"
        )
        assert drawn == {
            "labels": [*labels[:12], "Other (2 segments)"],
            "revenue": [*revenue[:12], sum(revenue[12:])],
        }
        assert page.locator(".segments-chart g.point path").count() == 13
        summary = page.locator(".segments-chart").get_attribute("aria-label")
        assert "the first 12 segments of the table, in its order, then the other 2" in summary
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert blocked == []
        if os.environ.get("SCREENSHOT_DIR"):
            page.screenshot(
                path=Path(os.environ["SCREENSHOT_DIR"]) / f"segments-{name}.png", full_page=True
            )
        page.close()
