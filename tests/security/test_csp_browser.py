"""The pages under the Content Security Policy, in a real headless Chromium: charts render, the
auto-submitting selects and confirm buttons work, and no page reports a CSP violation."""

import io
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from analytics.models import RevenueKPI
from omnisocial.models import Post, Workspace
from tests.browser import browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pages_work_under_the_content_security_policy(live_server, browser):  # noqa: F811
    call_command("seed_demo", stdout=io.StringIO())
    demo = Workspace.objects.get(slug="demo")
    post = Post.objects.filter(workspace=demo).first()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, policies = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            policies.append(r.headers.get("content-security-policy"))
            if r.request.resource_type == "document"
            else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))

    page.goto(f"{live_server.url}/")
    page.fill("input[name=username]", "demo@example.com")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/revenue/")
    page.wait_for_selector(".plotly svg.main-svg")
    assert page.locator(".plotly svg.main-svg").count() >= 2
    assert page.locator(".plotly .bars path").count() > 0, "the bars were drawn"
    # plotly.js is deferred and the charts drawn once the page is parsed; a bar still opens the
    # receipts of its day.
    assert page.locator("script[src*='/static/plotly/plotly-basic-'][defer]").count() == 1
    bar = page.locator("[data-receipts] .plotly .bars path").last
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # plotly clicks the point it hovers
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert "/analytics/receipts/" in page.url and "from=" in page.url

    page.goto(f"{live_server.url}/analytics/posts/{post.pk}/")
    page.wait_for_selector(".plotly svg.main-svg")

    # Selects marked data-autosubmit apply at once, without inline handlers.
    page.goto(f"{live_server.url}/posts/")
    with page.expect_navigation():
        page.select_option("select[name=platform]", "tiktok")
    assert "platform=tiktok" in page.url
    page.goto(f"{live_server.url}/analytics/alerts/")
    with page.expect_navigation():
        page.select_option("#state", "acknowledged")
    assert "state=acknowledged" in page.url

    # A confirm button asks first: dismissed, nothing is deleted.
    page.goto(f"{live_server.url}/analytics/kpis/")
    kpis = RevenueKPI.objects.filter(workspace=demo).count()
    if kpis:
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.click("button[data-confirm]")
        page.wait_for_timeout(300)
        assert RevenueKPI.objects.filter(workspace=demo).count() == kpis

    for path in ("/commerce/stores/", "/attribution/tracking/", "/analytics/orders/", "/api/docs"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    page.wait_for_selector(".swagger-ui .opblock")

    assert all(policy and "script-src 'self'" in policy for policy in policies), policies
    assert not problems, problems
    assert urlsplit(page.url).path == "/api/docs"
