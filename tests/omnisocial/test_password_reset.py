"""Password reset through Django's own views: a link by email at the app's public origin that
works once; the form answers the same for any address and limits the emails per address."""

import re

import pytest
from django.core import mail
from django.test import Client

from tests.factories import UserFactory

LINK = re.compile(r"(https?://[^/\s]+)(/accounts/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def member(db):
    return UserFactory(username="ana@example.com", email="ana@example.com")


def test_a_member_resets_the_password_by_the_emailed_link_once(member):
    visitor = Client()
    page = visitor.get("/accounts/password-reset/")
    assert page.status_code == 200
    assert b"Reset your password" in page.content
    sent = visitor.post("/accounts/password-reset/", {"email": "Ana@Example.com"})
    assert (sent.status_code, sent["Location"]) == (302, "/accounts/password-reset/sent/")
    assert b"Check your inbox" in visitor.get(sent["Location"]).content
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["ana@example.com"], "Reset your OmniSocial password")
    ]
    origin, path = LINK.search(mail.outbox[0].body).groups()
    assert origin == "http://testserver"
    form = visitor.get(path, follow=True)
    assert form.redirect_chain[0][0].endswith("/set-password/")
    assert b"Choose a new password" in form.content
    short = visitor.post(form.request["PATH_INFO"], {"new_password1": "abc",
                                                     "new_password2": "abc"})  # fmt: skip
    assert short.context["form"].errors == {
        "new_password2": ["This password is too short. It must contain at least 8 characters."]
    }
    done = visitor.post(
        form.request["PATH_INFO"],
        {"new_password1": "sea-glass-2027", "new_password2": "sea-glass-2027"},
    )
    assert (done.status_code, done["Location"]) == (302, "/accounts/reset/done/")
    assert b"Your password is set" in visitor.get("/accounts/reset/done/").content
    member.refresh_from_db()
    assert member.check_password("sea-glass-2027")
    used = Client().get(path, follow=True)
    assert b"This link no longer works" in used.content


def test_an_unknown_address_gets_the_same_answer_and_no_email(db):
    sent = Client().post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert (sent.status_code, sent["Location"]) == (302, "/accounts/password-reset/sent/")
    assert mail.outbox == []


def test_the_link_is_at_the_public_origin_when_it_is_set(member, settings):
    settings.PUBLIC_BASE_URL = "https://go.brand.example"
    Client().post("/accounts/password-reset/", {"email": "ana@example.com"})
    assert LINK.search(mail.outbox[0].body)[1] == "https://go.brand.example"


def test_reset_emails_are_limited_per_address_whether_it_has_an_account_or_not(member, settings):
    settings.PASSWORD_RESET_RATE = "2/h"
    visitor = Client()
    for address in ("ana@example.com", "nobody@example.com"):
        for _ in range(2):
            assert visitor.post("/accounts/password-reset/", {"email": address}).status_code == 302
        refused = visitor.post("/accounts/password-reset/", {"email": address.upper()})
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 3600
        assert b"Too many reset emails asked for this address." in refused.content
    assert len(mail.outbox) == 2
