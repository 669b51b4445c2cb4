"""The first run: an install without any account shows, on its first visit, the page that creates
the owner and the first workspace; after that nobody signs up unless OPEN_SIGNUP says so."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client

from omnisocial import team
from omnisocial.models import Membership, Workspace
from omnisocial.tenancy import SESSION_KEY
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

User = get_user_model()

OWNER = {
    "email": "Owner@Acme.example",
    "password1": "linen-scarf-42",
    "password2": "linen-scarf-42",
    "workspace_name": "Acme Shoes",
    "reporting_currency": "eur",
    "time_zone": "Europe/Paris",
}


def fields_of(response) -> list[str]:
    form = response.context["form"]
    return sorted(form.fields)


@pytest.mark.django_db
def test_every_first_visit_of_an_install_without_accounts_leads_to_the_first_run():
    visitor = Client()
    for path in ("/", "/accounts/login/", "/welcome/"):
        page = visitor.get(path)
        assert page.status_code == 200, path
        assert b'<form method="post" action="/welcome/" id="welcome-form"' in page.content, path
        assert b"Welcome to OmniSocial" in page.content
    assert fields_of(visitor.get("/")) == [
        "email", "password1", "password2", "reporting_currency", "time_zone", "workspace_name",
    ]  # fmt: skip
    page = visitor.get("/posts/", follow=True)
    assert page.redirect_chain == [("/accounts/login/?next=/posts/", 302)]
    assert b'id="welcome-form"' in page.content


@pytest.mark.django_db
def test_the_first_run_creates_the_owner_and_the_workspace_and_signs_the_owner_in():
    visitor = Client()
    response = visitor.post("/welcome/", OWNER)
    assert (response.status_code, response["Location"]) == (302, "/analytics/revenue/")
    owner = User.objects.get()
    assert (owner.username, owner.email) == ("owner@acme.example", "owner@acme.example")
    assert owner.check_password("linen-scarf-42")
    workspace = Workspace.objects.get()
    assert (workspace.name, workspace.slug, workspace.reporting_currency, workspace.time_zone) == (
        "Acme Shoes", "acme-shoes", "EUR", "Europe/Paris",
    )  # fmt: skip
    assert list(Membership.objects.values_list("user__username", "workspace__name", "role")) == [
        ("owner@acme.example", "Acme Shoes", "owner")
    ]
    assert visitor.session[SESSION_KEY] == workspace.pk
    dashboard = visitor.get("/analytics/revenue/")
    assert dashboard.status_code == 200
    assert b'<span class="workspace-name">Acme Shoes</span>' in dashboard.content
    assert b"Welcome to Acme Shoes." in dashboard.content
    # The page is gone once the owner exists: any visitor gets the login form.
    again = Client().get("/welcome/")
    assert (again.status_code, again["Location"]) == (302, "/")
    assert b'name="password"' in Client().get("/").content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"password1": "short", "password2": "short"}, "password2",
         "This password is too short. It must contain at least 8 characters."),
        ({"password2": "linen-scarf-43"}, "password2", "The two password fields didn’t match."),
        ({"email": "margaret.hamilton@example.com", "password1": "margarethamilton",
          "password2": "margarethamilton"}, "password2",
         "The password is too similar to the username."),
        ({"email": "not an email"}, "email", "Enter a valid email address."),
        ({"reporting_currency": "EURO"}, "reporting_currency",
         "Ensure this value has at most 3 characters (it has 4)."),
        ({"reporting_currency": "E1R"}, "reporting_currency",
         "'E1R' is not a three-letter ISO 4217 code such as USD."),
        ({"time_zone": "Mars/Olympus"}, "time_zone",
         "Select a valid choice. Mars/Olympus is not one of the available choices."),
        ({"workspace_name": " "}, "workspace_name", "This field is required."),
    ],
)  # fmt: skip
def test_the_first_run_refuses_what_django_validators_refuse(change, field, error):
    response = Client().post("/welcome/", {**OWNER, **change})
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [error]
    assert (User.objects.count(), Workspace.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_only_one_first_run_ever_creates_an_owner():
    team.owner_signup(
        email="first@example.com", password="linen-scarf-42", workspace_name="First",
        reporting_currency="USD", time_zone="UTC", first_run=True,
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        team.owner_signup(
            email="second@example.com", password="linen-scarf-42", workspace_name="Second",
            reporting_currency="USD", time_zone="UTC", first_run=True,
        )  # fmt: skip
    assert refused.value.messages == ["This install already has its owner: log in instead."]
    assert list(User.objects.values_list("username", flat=True)) == ["first@example.com"]


def test_once_an_account_exists_nobody_signs_up(user):
    visitor = Client()
    login = visitor.get("/accounts/login/")
    assert b'id="welcome-form"' not in login.content
    assert b"/accounts/signup/" not in login.content
    assert b'<a href="/accounts/password-reset/">Forgot your password?</a>' in login.content
    for method in ("get", "post"):
        response = getattr(visitor, method)("/accounts/signup/", OWNER, follow=True)
        assert response.redirect_chain == [("/accounts/login/", 302)]
        assert b"Sign-up is closed: ask an owner of your workspace for an invitation." in (
            response.content
        )
    refused = visitor.post("/welcome/", OWNER)
    assert (refused.status_code, refused["Location"]) == (302, "/")
    assert list(User.objects.values_list("username", flat=True)) == [user.username]
    assert Workspace.objects.count() == 1


def test_open_signup_creates_an_account_with_a_workspace_of_its_own(user, workspace, settings):
    settings.OPEN_SIGNUP = True
    visitor = Client()
    assert b'<a href="/accounts/signup/">Create an account</a>' in visitor.get("/").content
    page = visitor.get("/accounts/signup/")
    assert page.status_code == 200
    assert b'<form method="post" action="/accounts/signup/" id="welcome-form"' in page.content
    taken = visitor.post("/accounts/signup/", {**OWNER, "email": user.email})
    assert taken.status_code == 400
    assert taken.context["form"].errors["email"] == [
        "This email already has an account: log in instead."
    ]
    same_name = visitor.post("/accounts/signup/", {**OWNER, "workspace_name": workspace.name})
    assert same_name.context["form"].errors["__all__"] == [
        f"A workspace named {workspace.name!r} already exists."
    ]
    response = visitor.post("/accounts/signup/", OWNER)
    assert (response.status_code, response["Location"]) == (302, "/analytics/revenue/")
    newcomer = User.objects.get(username="owner@acme.example")
    assert list(newcomer.memberships.values_list("workspace__name", "role")) == [
        ("Acme Shoes", "owner")
    ]
    assert not workspace.memberships.filter(user=newcomer).exists()


def test_the_demo_login_stays_a_login_form(db):
    """`make run` seeds users: an install with any account never shows the first run."""
    member = UserFactory(username="demo@example.com", email="demo@example.com")
    MembershipFactory(user=member, workspace=WorkspaceFactory(name="Demo"))
    page = Client().get("/")
    assert b'id="welcome-form"' not in page.content
    assert b'<form method="post" action="/accounts/login/">' in page.content
