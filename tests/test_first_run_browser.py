"""A fresh install in a real headless Chromium: the first visit creates the owner and the first
workspace, the owner invites an analyst from Settings › Members and copies the link, and the
analyst opens it, chooses a password and lands on that workspace's Revenue page."""

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from omnisocial.models import Invitation, Membership, Workspace
from tests.browser import browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def shot(page, name: str) -> None:
    """SCREENSHOT_DIR set: the page as the person sees it, full length."""
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=Path(os.environ["SCREENSHOT_DIR"]) / f"{name}.png", full_page=True)


def csp_violations(page) -> list[str]:
    found = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def test_a_fresh_install_creates_its_owner_who_invites_an_analyst_who_joins(
    live_server,
    browser,  # noqa: F811 - fixture
):
    assert not get_user_model().objects.exists()
    phone = browser.new_context(viewport=PHONE).new_page()
    violations = csp_violations(phone)
    phone.goto(f"{live_server.url}/accounts/login/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "first-run-phone")
    owner = browser.new_page(viewport=DESKTOP)
    violations += csp_violations(owner)
    owner.goto(f"{live_server.url}/")
    assert owner.locator("h1").inner_text() == "Welcome to OmniSocial"
    shot(owner, "first-run-desktop")
    owner.fill("#id_email", "owner@boutique.example")
    owner.fill("#id_password1", "linen-scarf-42")
    owner.fill("#id_password2", "linen-scarf-42")
    owner.fill("#id_workspace_name", "Boutique")
    owner.fill("#id_reporting_currency", "eur")
    owner.select_option("#id_time_zone", "Europe/Paris")
    owner.click("#welcome-form button[type=submit]")
    owner.wait_for_url("**/analytics/revenue/")
    assert owner.locator(".workspace-name").inner_text() == "Boutique"
    assert "Welcome to Boutique." in owner.locator(".messages").inner_text()
    workspace = Workspace.objects.get()
    assert (workspace.reporting_currency, workspace.time_zone) == ("EUR", "Europe/Paris")

    # Settings › Members: invite an analyst; the page shows the link to copy.
    owner.goto(f"{live_server.url}/settings/")
    shot(owner, "settings-desktop")
    owner.click("nav.tabs >> text=Members")
    owner.wait_for_url("**/settings/members/")
    owner.fill("#id_email", "ana@boutique.example")
    owner.select_option("#id_role", "analyst")
    owner.click("#invite-form button[type=submit]")
    owner.wait_for_load_state()
    link = owner.locator("#invitation-link").inner_text()
    assert link.startswith(f"{live_server.url}/invitations/")
    assert owner.get_attribute("#invitation-sent button.copy", "data-copy") == link
    assert [(m.to, link in m.body) for m in mail.outbox] == [(["ana@boutique.example"], True)]
    shot(owner, "members-desktop")
    owner.goto(f"{live_server.url}/settings/api-keys/")
    owner.fill("#id_name", "Reporting script")
    owner.click("#api-key-form button[type=submit]")
    owner.wait_for_load_state()
    assert owner.locator("#new-key-value").inner_text().startswith("osk_")
    shot(owner, "api-keys-desktop")

    # The analyst, in a browser of their own, opens the link and chooses a password.
    analyst = browser.new_context(viewport=PHONE).new_page()
    violations += csp_violations(analyst)
    analyst.goto(link)
    assert analyst.locator("h1").inner_text() == "Join Boutique"
    shot(analyst, "invitation-phone")
    assert analyst.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    analyst.fill("#id_password1", "sea-glass-2027")
    analyst.fill("#id_password2", "sea-glass-2027")
    analyst.click("#invitation-form button[type=submit]")
    analyst.wait_for_url("**/analytics/revenue/")
    assert "You joined Boutique as analyst." in analyst.locator(".messages").inner_text()
    analyst.click(".menu-toggle")
    assert analyst.locator(".workspace-name").inner_text() == "Boutique"
    assert analyst.locator(".account .user").inner_text() == "ana@boutique.example"
    membership = Membership.objects.get(user__username="ana@boutique.example")
    assert (membership.workspace, membership.role) == (workspace, "analyst")
    assert Invitation.objects.get().accepted_by == membership.user

    # The members page now lists both; the analyst reads it without the owner's forms.
    analyst.goto(f"{live_server.url}/settings/members/")
    assert analyst.locator("#members tbody tr").count() == 2
    assert analyst.locator("#invite-form").count() == 0
    assert analyst.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(analyst, "members-phone")
    owner.set_viewport_size(PHONE)
    owner.goto(f"{live_server.url}/settings/members/")
    shot(owner, "members-owner-phone")
    assert owner.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.goto(f"{live_server.url}/accounts/login/")
    phone.click("text=Forgot your password?")
    phone.wait_for_url("**/accounts/password-reset/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "password-reset-phone")
    assert violations == []
