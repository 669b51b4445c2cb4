"""Analytics › Revenue in a real headless Chromium, on the demo workspace.

With SCREENSHOT_DIR set (scripts/screenshots does it) the test also writes the README's
screenshots of Analytics › Revenue and Post Analytics there.
"""

import csv
import io
import os
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from tests.browser import browser  # noqa: F401 - fixture

LOOPBACK = {"127.0.0.1", "localhost"}  # the live server answers on localhost
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def top_content(page) -> list[str]:
    return page.eval_on_selector_all("#top-posts tbody tr", "rows => rows.map(r => r.innerText)")


def test_a_marketer_reads_revenue_changes_the_model_and_follows_a_post_to_an_order(
    live_server,
    browser,  # noqa: F811
    tmp_path,
):
    call_command("seed_demo", stdout=io.StringIO())
    page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    errors, foreign = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: None if urlsplit(r.url).hostname in LOOPBACK else foreign.append(r.url),
    )
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))

    page.goto(f"{live_server.url}/")
    page.fill("input[name=username]", "demo@example.com")
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/revenue/")
    page.wait_for_selector(".plotly svg.main-svg")
    assert page.locator(".plotly").count() == 2
    assert page.locator(".cards .metric").count() == 4
    page.screenshot(path=tmp_path / "revenue.png", full_page=True)
    assert (tmp_path / "revenue.png").stat().st_size > 20_000
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=Path(os.environ["SCREENSHOT_DIR"]) / "screenshot.png", full_page=True)
    last_touch = top_content(page)

    # A bar of revenue over time opens its day's receipts, which add up to what the API answers
    # for that day and platform.
    with page.expect_navigation():
        page.locator(".chart[data-receipts] .plotly .bars .point path").last.click(force=True)
    assert "/analytics/receipts/" in page.url and "platform=" in page.url
    cell = urlsplit(page.url).query
    shown = page.inner_text("#receipts-total").split()[0].replace(",", "")
    answer = page.request.get(f"{live_server.url}/commerce/revenue/dashboard?{cell}").json()
    assert shown == answer["totalSocialRevenue"]["value"]
    page.go_back()
    page.wait_for_selector(".plotly svg.main-svg")

    # The model selector applies at once and lands in the URL.
    with page.expect_navigation():
        page.select_option("#model-select", "first-touch")
    assert "model=first-touch" in page.url
    page.wait_for_selector(".plotly svg.main-svg")
    assert top_content(page) != last_touch

    # A platform filter narrows every figure.
    with page.expect_navigation():
        page.select_option("select[name=platform]", "tiktok")
    assert "platform=tiktok" in page.url
    badges = page.eval_on_selector_all("#top-posts .badge", "els => els.map(e => e.innerText)")
    assert badges and set(badges) == {"TikTok"}

    # The CSV holds the rows the API gives an API client for the same view (same query).
    with page.expect_download() as download:
        page.click("a.export[href*='export=posts']")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    query = urlsplit(page.url).query
    api = page.request.get(f"{live_server.url}/commerce/revenue/dashboard?{query}")
    assert api.status == 200
    ranked = api.json()["revenueByPost"]
    assert rows, "the filtered view has posts"
    assert [
        (r["kind"], r["rank"], r["post_id"], r["reference"], r["platform"], r["revenue"],
         Decimal(r["credited_orders"]), r["unique_clicks"])
        for r in rows
    ] == [
        (p["kind"], str(p["rank"] or ""), str(p["postId"] or ""), p["reference"], p["platform"],
         p["revenue"], Decimal(p["orders"]), str(p["uniqueClicks"]))
        for p in ranked
    ]  # fmt: skip

    # Top content -> Post Analytics -> one of its orders' journey.
    page.click("#top-posts tbody tr:first-child td.caption a")
    page.wait_for_url("**/analytics/posts/*/**")
    page.wait_for_selector(".plotly svg.main-svg")
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(
            path=Path(os.environ["SCREENSHOT_DIR"]) / "post-analytics.png", full_page=True
        )
    page.click("#post-orders tbody tr:first-child a")
    page.wait_for_url("**/analytics/orders/*/**")
    assert page.locator("#journey tbody tr").count() >= 2  # at least one touch and the total
    assert errors == []
    assert foreign == []
