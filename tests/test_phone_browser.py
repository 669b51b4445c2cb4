"""Key figures on a phone and a desktop, in a real headless Chromium on the demo.

At 390x844 and 1440x900, on the KPI page, an order's page, Revenue, Compare and Paths: the page
does not scroll sideways, the key figures (a KPI's actual, projection, target and state, the
journey's model weights, top content's revenue and orders) sit inside the viewport's width
without a table scrolling sideways, Compare's table stays inside its card, and Compare and
Paths are short pages: their top rows, "Show all" for the rest, secondary sections folded.
"""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from attribution.models import RevenueAttribution
from omnisocial.models import Workspace
from tests.browser import browser  # noqa: F401 - fixture
from tests.test_layout_browser import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The key figures of each page: every one of them must be inside the viewport's width.
KEY_FIGURES = {
    "kpis": "#kpis td.figure, #kpis td.state",
    "order": "#journey td.figure",
    "revenue": "#top-posts td.figure",
    "compare": "#comparison td.figure:not(.phone-hide)",
    "paths": "#post-paths td.figure",
}
# The right edge of every visible box of a selector, and the viewport's width.
RIGHT_EDGES = """(selector) => {
  const boxes = [...document.querySelectorAll(selector)].map(el => el.getBoundingClientRect())
    .filter(box => box.width > 0);
  return {count: boxes.length, right: Math.max(...boxes.map(box => box.right)),
          left: Math.min(...boxes.map(box => box.left)), width: window.innerWidth};
}"""
SCROLL = "({width: document.scrollingElement.scrollWidth, height: document.scrollingElement.scrollHeight})"


def journey_order_id(demo: Workspace) -> int:
    """The demo order with the longest journey."""
    row = (
        RevenueAttribution.objects.filter(workspace=demo)
        .values("order_id")
        .annotate(touches=Count("position", distinct=True))
        .order_by("-touches", "order_id")
        .first()
    )
    return row["order_id"]


def test_key_figures_fit_a_phone_and_a_desktop(live_server, browser):  # noqa: F811
    call_command("seed_demo", stdout=io.StringIO())
    order_id = journey_order_id(Workspace.objects.get(slug="demo"))
    pages = {
        "kpis": "/analytics/kpis/",
        "order": f"/analytics/orders/{order_id}/",
        "revenue": "/analytics/revenue/",
        "compare": "/analytics/revenue/compare/",
        "paths": "/analytics/revenue/paths/",
    }
    heights = {}
    for size in (PHONE, DESKTOP):
        page = browser.new_page(viewport=size)
        page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
        log_in(page, live_server.url)
        for name, path in pages.items():
            assert page.goto(f"{live_server.url}{path}").status == 200, path
            page.wait_for_load_state("networkidle")
            scroll = page.evaluate(SCROLL)
            assert scroll["width"] <= size["width"], (name, size, scroll)
            edges = page.evaluate(RIGHT_EDGES, KEY_FIGURES[name])
            assert edges["count"] > 0, (name, size)
            assert edges["left"] >= 0 and edges["right"] <= size["width"], (name, size, edges)
            heights[name, size["width"]] = scroll["height"]

        # The KPI table keeps to the page's width, as the form under it does.
        page.goto(f"{live_server.url}/analytics/kpis/")
        kpis, form = page.locator("#kpis").bounding_box(), page.locator("#kpi-form").bounding_box()
        assert kpis["x"] + kpis["width"] <= form["x"] + form["width"] + 0.5, (size, kpis, form)

        # Compare's table inside its card, its ROAS columns included.
        page.goto(f"{live_server.url}/analytics/revenue/compare/")
        table = page.locator("#comparison").bounding_box()
        card = page.locator("#model-comparison").bounding_box()
        assert table["x"] >= card["x"], (size, table, card)
        assert table["x"] + table["width"] <= card["x"] + card["width"], (size, table, card)
        # Ten rows and the total; "Show all" opens the rest on the same page.
        assert page.locator("#comparison tbody tr").count() == 11
        page.click("#comparison-all")
        page.wait_for_load_state()
        assert page.locator("#comparison tbody tr").count() > 11
        assert page.evaluate(SCROLL)["width"] <= size["width"]
        # The secondary sections are folded and open.
        assert not page.locator("#effects").is_visible()
        page.click("#removal-effects > summary")
        assert page.locator("#effects").is_visible()
        assert page.evaluate(SCROLL)["width"] <= size["width"]
        page.close()

    # Short pages on a phone: Compare was 13,146 px and Paths 21,631 px on the demo.
    assert heights["compare", PHONE["width"]] < 5000, heights
    assert heights["paths", PHONE["width"]] < 4000, heights
