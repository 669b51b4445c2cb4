"""Every page fits a phone and the headline comes first, in a real headless Chromium on the demo.

The pages are taken from the URL list (as the isolation walk takes them), so a new page is walked
without being added here: at 390x844 no page scrolls sideways (a wide table scrolls inside its
own box), the navigation folds behind "Menu" and opens, and the Revenue overview's headline cards
are on the first screen of a phone and above the fold at 1440x900.
"""

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import get_resolver, reverse

from commerce.models import CommerceOrder, StoreConnection
from omnisocial.models import Post, Workspace
from tests.browser import browser  # noqa: F401 - fixture
from tests.test_isolation import (
    EXCLUDED,
    EXCLUDED_PREFIXES,
    OBJECT_OF,
    id_parameters,
    implemented_methods,
    is_page,
    walk,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
# GET patterns that are actions, not pages: the switcher answers its form's POST only.
NOT_PAGES = {"workspace-switch"}

# Elements that reach past the viewport without a scrolling box around them.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth, found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    let clipped = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) { clipped = true; break; }
    }
    if (!clipped) found.push(el.tagName.toLowerCase() + '.' + el.className + ' ' + Math.round(box.right));
  }
  return found.slice(0, 5);
}"""


def demo_pages(demo: Workspace) -> list[str]:
    objects = {
        "post": Post.objects.filter(workspace=demo).first(),
        "order": CommerceOrder.objects.filter(workspace=demo).first(),
        "store": StoreConnection.objects.filter(workspace=demo).first(),
    }
    paths, unmapped = [], []
    for name, route, pattern in walk(get_resolver().url_patterns):
        if not name or name in EXCLUDED or name in NOT_PAGES or route.startswith(EXCLUDED_PREFIXES):
            continue
        if not is_page(pattern) or "get" not in implemented_methods(pattern):
            continue
        ids = id_parameters(pattern)
        if not ids:
            paths.append(reverse(name))
        elif OBJECT_OF.get(name) in objects:
            paths.append(reverse(name, kwargs={ids[0]: objects[OBJECT_OF[name]].pk}))
        else:
            unmapped.append(name)
    assert not unmapped, f"pages this walk cannot open (map their id to a demo object): {unmapped}"
    return [*paths, "/api/docs"]


def log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "demo@example.com")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/revenue/")


def test_every_page_fits_a_phone_and_the_headline_comes_first(live_server, browser):  # noqa: F811
    call_command("seed_demo", stdout=io.StringIO())
    paths = demo_pages(Workspace.objects.get(slug="demo"))
    assert len(paths) >= 15, paths
    phone = browser.new_page(viewport=PHONE)
    phone.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    phone.goto(f"{live_server.url}/accounts/login/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    log_in(phone, live_server.url)

    overflowing = {}
    for path in paths:
        response = phone.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        phone.wait_for_load_state("networkidle")
        if phone.evaluate("document.documentElement.scrollWidth") > PHONE["width"]:
            overflowing[path] = phone.evaluate(OVERFLOWING)
    assert not overflowing, overflowing

    # The navigation is folded behind Menu, and opens.
    phone.goto(f"{live_server.url}/analytics/revenue/")
    nav = phone.locator("#mainnav")
    assert not nav.is_visible()
    phone.click(".menu-toggle")
    assert nav.is_visible()
    assert phone.get_attribute(".menu-toggle", "aria-expanded") == "true"
    with phone.expect_navigation():
        nav.get_by_role("link", name="Posts").click()
    assert phone.url.endswith("/posts/")

    # The first figure is on the first screen of a phone, the four cards above the fold on a
    # desktop.
    phone.goto(f"{live_server.url}/analytics/revenue/")
    first = phone.locator(".cards .metric .value").first.bounding_box()
    assert first["y"] + first["height"] <= PHONE["height"], first
    if os.environ.get("SCREENSHOT_DIR"):  # scripts/screenshots: the phone's first screens
        shots = Path(os.environ["SCREENSHOT_DIR"])
        phone.wait_for_load_state("networkidle")
        phone.screenshot(path=shots / "phone-revenue.png")
        phone.goto(f"{live_server.url}/posts/")
        phone.click(".menu-toggle")
        phone.screenshot(path=shots / "phone-posts-menu.png")
    desktop = browser.new_page(viewport=DESKTOP)
    log_in(desktop, live_server.url)
    cards = desktop.locator(".cards .metric")
    assert cards.count() == 4
    boxes = [cards.nth(n).bounding_box() for n in range(4)]
    assert all(box["y"] + box["height"] <= DESKTOP["height"] for box in boxes), boxes
    assert len({box["y"] for box in boxes}) == 1, "the four cards sit in one row"
