"""The Coupons page's post picker in a real headless Chromium: it lists the recent posts only;
typing in its search adds an older post as an option (under the page's CSP, from the static
script), and saving the coupon keeps that post."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.post_picker import RECENT_POSTS
from commerce.models import Coupon
from omnisocial.labels import post_label
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import PostFactory, WorkspaceFactory
from tests.test_first_run_browser import csp_violations
from tests.test_reports_browser import signed_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_searched_older_post_is_added_to_the_picker_and_kept_by_the_coupon(
    live_server,
    browser,  # noqa: F811 - fixture
):
    workspace = WorkspaceFactory()
    archived = PostFactory(
        workspace=workspace, reference="linen-archive",
        caption="Meet the linen shirt: made to last", published_at=datetime(2025, 6, 1, tzinfo=UTC),
    )  # fmt: skip
    newest = datetime(2026, 11, 20, 12, tzinfo=UTC)
    for n in range(RECENT_POSTS + 1):
        PostFactory(workspace=workspace, published_at=newest - timedelta(hours=n))
    page = signed_in(browser, live_server, workspace)
    blocked = csp_violations(page)

    page.goto(f"{live_server.url}/analytics/coupons/")
    assert page.locator("#id_posts option").count() == RECENT_POSTS
    option = page.locator(f'#id_posts option[value="{archived.pk}"]')
    assert option.count() == 0

    search = page.locator('input[data-for="id_posts"]')
    assert search.is_visible()  # the script showed it
    search.fill("linen arch")
    option.wait_for(state="attached")
    assert option.inner_text() == post_label(archived)
    assert page.locator('#id_posts optgroup[label="Found"] option').count() == 1
    assert "1 post matches" in page.locator(".post-search-status").inner_text()

    page.fill("#id_code", "ARCHIVE10")
    page.select_option("#id_posts", value=str(archived.pk))
    with page.expect_navigation():
        page.click("#coupon-form button[type=submit]")
    assert page.locator("#coupons code", has_text="ARCHIVE10").count() == 1
    assert list(Coupon.objects.get(workspace=workspace, code="ARCHIVE10").posts.all()) == [archived]
    assert blocked == []
