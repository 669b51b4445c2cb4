"""Malformed input is refused with a 400 and the reason, never a 500: a workspace switcher value
that is not an id, and JSON nested deeper than the parser's recursion limit on any API write or
store webhook."""

import pytest
from django.urls import get_resolver, reverse

from commerce.models import WebhookDelivery
from omnisocial.tenancy import SESSION_KEY
from tests.analytics.conftest import key_client
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.security.test_hostile_http import post_signed, store  # noqa: F401 - fixture
from tests.test_isolation import EXCLUDED, EXCLUDED_PREFIXES, id_parameters, is_page, walk

NOT_AN_ID = "Choose a workspace: `workspace` must be a workspace id (a whole number)."
DEEP = "[" * 50_000
NESTED_TOO_DEEPLY = {
    "detail": "JSON parse error - the body is nested too deeply.",
    "code": "parse_error",
}


# A number longer than any id is refused as not an id too (omnisocial.params reads every id).
@pytest.mark.parametrize("value", ["abc", "", "1.5", "-1", " 1", "٣", "1e3", "²", "9" * 30])
def test_the_switcher_refuses_a_value_that_is_not_an_id_with_400(client, user, value):
    response = client.post("/workspaces/switch/", {"workspace": value})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == NOT_AN_ID
    assert SESSION_KEY not in client.session


def test_the_switcher_refuses_a_missing_value_with_400(client, user):
    response = client.post("/workspaces/switch/", {})
    assert response.status_code == 400
    assert response.content.decode() == NOT_AN_ID


@pytest.mark.parametrize("value", ["987654321", str(2**63 - 1), "another's"])
def test_the_switcher_answers_404_for_an_id_of_no_workspace_of_the_user(client, user, value):
    if value == "another's":
        value = str(MembershipFactory().workspace_id)
    response = client.post("/workspaces/switch/", {"workspace": value})
    assert response.status_code == 404
    assert response.json() == {"detail": "No such workspace.", "code": "not_found"}
    assert SESSION_KEY not in client.session


def test_the_switcher_still_switches_to_a_workspace_of_the_user(client, user):
    second = MembershipFactory(user=user, workspace=WorkspaceFactory()).workspace
    response = client.post("/workspaces/switch/", {"workspace": str(second.pk), "next": "/posts/"})
    assert response.status_code == 302
    assert response.url == "/posts/"
    assert client.session[SESSION_KEY] == second.pk


def test_deeply_nested_json_on_an_api_write_answers_400(workspace):
    response = key_client(workspace).post("/api/campaigns", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == NESTED_TOO_DEEPLY


def api_writes():
    """(method, url) of every API pattern without an object id that takes a body."""
    for name, route, pattern in walk(get_resolver().url_patterns):
        if route.startswith(EXCLUDED_PREFIXES) or name in EXCLUDED or is_page(pattern):
            continue
        if id_parameters(pattern) or pattern.pattern.regex.groups:
            continue
        view = pattern.callback.cls
        for method in ("post", "put", "patch"):
            if hasattr(view, method):
                yield method, reverse(name)


def test_deeply_nested_json_answers_400_on_every_api_write(api_client):
    api = api_client  # an owner signed in may write to every endpoint
    writes = list(api_writes())
    assert ("post", "/api/campaigns") in writes and ("post", "/api/posts") in writes
    answers = {
        (method, url): getattr(api, method)(url, DEEP, content_type="application/json")
        for method, url in writes
    }
    wrong = {
        f"{method.upper()} {url}": (response.status_code, response.content[:200])
        for (method, url), response in answers.items()
        if response.status_code != 400 or response.json() != NESTED_TOO_DEEPLY
    }
    assert not wrong


def test_json_nested_deeply_but_within_the_parser_limit_never_answers_5xx(workspace):
    """Parsed fine, then refused by the serializer like any value of the wrong type."""
    deep = "[" * 5_000 + "]" * 5_000
    response = key_client(workspace).post(
        "/api/campaigns", f'{{"name": {deep}}}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"name": ["Not a valid string."]}


def test_a_deeply_nested_webhook_is_stored_refused(store):  # noqa: F811 - the fixture
    """The webhook reads its own body (not through DRF): refused with 400 and kept as a rejected,
    verified delivery with the reason."""
    response = post_signed(store, DEEP.encode())
    assert response.status_code == 400
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.REJECTED and delivery.verified
    assert delivery.error == "The body's JSON is nested too deeply."
