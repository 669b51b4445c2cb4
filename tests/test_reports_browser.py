"""The reports in a real headless Chromium, against the API for the same query: the model
comparison (choosing two models shows, per post, the changes the API answers) and the conversion
paths of a hand-built journey set."""

import pytest

from tests.analytics import test_conversion_paths as paths
from tests.analytics.test_model_comparison import NOVEMBER, journeys  # noqa: F401 - fixture
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in(browser, live_server, workspace):  # noqa: F811
    user = MembershipFactory(workspace=workspace).user
    page = browser.new_page()
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
