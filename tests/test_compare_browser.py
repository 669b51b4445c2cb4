"""The model comparison in a real headless Chromium: choosing two models on the compare page
shows, per post, the changes the API answers for the same query."""

import pytest

from tests.analytics.test_model_comparison import NOVEMBER, journeys  # noqa: F401 - fixture
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_compare_views_changes_match_the_api(live_server, browser, journeys):  # noqa: F811
    user = MembershipFactory(workspace=journeys["workspace"]).user
    page = browser.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/revenue/")

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
