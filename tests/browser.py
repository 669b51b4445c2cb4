"""A real headless Chromium (the system's /usr/bin/chromium) driven by Playwright.

Browser tests skip on a developer machine without Chromium; in CI (CI=true) a missing browser
fails the run, because .ci/run installs it.
"""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture
def browser(monkeypatch):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing at {CHROMIUM}; CI must install it.")
        pytest.skip("Chromium is not installed (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test still reads the database.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
