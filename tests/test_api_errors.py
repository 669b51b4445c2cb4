"""The API's one error shape (omnisocial/api_errors.py, docs/api.md): every operation of the
served schema, sent bad input with a workspace API key and sent nothing without one, answers each
4xx as `{"detail", "code", "fields"?}` with a documented code; then one test per kind of error."""

import json

import pytest
from rest_framework.test import APIClient

from omnisocial import services
from omnisocial.api_errors import CODES
from omnisocial.models import ApiKey
from omnisocial.throttling import ApiKeyRateThrottle
from tests.analytics.conftest import key_client
from tests.factories import CampaignFactory, PostFactory
from tests.test_api_schema import served_schema

SCHEMA = served_schema()
UNKNOWN_ID = "987654321"
MALFORMED_JSON = '{"name": '


def bad_value(parameter: dict) -> str:
    """A value the parameter's schema says is wrong (or, for free text, an id no one writes)."""
    schema = parameter.get("schema", {})
    if "enum" in schema:
        return "nope"
    if schema.get("format") == "date":
        return "2026-02-30"
    if schema.get("format") == "date-time":
        return "2026-02-30T10:00:00Z"
    if schema.get("type") == "boolean":
        return "maybe"
    return "²"  # a superscript digit: not an id, not a number


def operations():
    for path, methods in SCHEMA["paths"].items():
        for method, operation in methods.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def bad_requests(path: str, method: str, operation: dict):
    """(query, body) pairs of bad input for one operation; ids in the path are unknown."""
    queries = [
        {parameter["name"]: bad_value(parameter)}
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]
    for query in queries:
        yield query, None
    if "requestBody" in operation:
        yield {}, MALFORMED_JSON
        yield {}, json.dumps(["nope"])
    if "{" in path and not queries and "requestBody" not in operation:
        yield {}, None


def send(client, path: str, method: str, query: dict, body: str | None):
    url = path
    for name in ("{id}", "{post_id}"):
        url = url.replace(name, UNKNOWN_ID)
    if method == "get":
        return client.get(url, query)
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, content_type="application/json")


def shape_problems(response) -> list[str]:
    """What is wrong with a 4xx answer's body, measured against the one shape."""
    try:
        body = response.json()
    except ValueError:
        return [f"not JSON: {response.content[:120]!r}"]
    problems = []
    if not isinstance(body, dict) or set(body) - {"detail", "code", "fields"}:
        return [f"keys: {body!r}"[:200]]
    if not isinstance(body.get("detail"), str) or not body["detail"]:
        problems.append(f"detail: {body.get('detail')!r}")
    if body.get("code") not in CODES or CODES[body["code"]][0] != response.status_code:
        problems.append(f"code {body.get('code')!r} for {response.status_code}")
    if "fields" in body:
        fields = body["fields"]
        if (
            body["code"] != "invalid"
            or not isinstance(fields, dict)
            or not fields
            or not all(
                isinstance(reasons, list) and reasons and all(isinstance(r, str) for r in reasons)
                for reasons in fields.values()
            )
        ):
            problems.append(f"fields: {fields!r}")
    return problems


@pytest.fixture
def api(workspace):
    return key_client(workspace)


def test_every_operation_answers_bad_input_in_the_one_shape(api, workspace):
    PostFactory(workspace=workspace, campaign=CampaignFactory(workspace=workspace))
    problems, refused, codes = [], set(), set()
    for path, method, operation in operations():
        for query, body in bad_requests(path, method, operation):
            response = send(api, path, method, query, body)
            assert response.status_code < 500, (method, path, query, body)
            if 400 <= response.status_code < 500:
                refused.add((method, path))
                codes.add(response.json().get("code"))
                documented = operation["responses"].get(str(response.status_code))
                if documented is None:
                    problems.append(f"{method} {path}: {response.status_code} not documented")
                problems += [
                    f"{method.upper()} {path} {query or body}: {problem}"
                    for problem in shape_problems(response)
                ]
    assert not problems
    # Every operation that takes a parameter, a body or an id refused its bad one.
    takes_input = {
        (method, path)
        for path, method, operation in operations()
        if operation.get("parameters") or "requestBody" in operation
    }
    assert takes_input - refused == set()
    assert {"invalid", "parse_error", "not_found", "permission_denied"} <= codes


def test_every_operation_answers_no_api_key_in_the_one_shape(db):
    anonymous = APIClient()
    answers = {
        (method, path): send(anonymous, path, method, {}, None) for path, method, _ in operations()
    }
    wrong = {
        key: (response.status_code, response.content[:120])
        for key, response in answers.items()
        if response.status_code != 401 or response.json()["code"] != "not_authenticated"
    }
    assert not wrong
    assert all(not shape_problems(response) for response in answers.values())


def test_the_schema_documents_the_shape_on_every_error_answer():
    error = SCHEMA["components"]["schemas"]["Error"]
    assert error["required"] == ["detail", "code"]
    assert error["properties"]["code"]["enum"] == list(CODES)
    for path, method, operation in operations():
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                }, (method, path, status)
        assert {"400", "401", "403", "404", "429"} <= set(operation["responses"]), (method, path)


def test_400_names_each_bad_parameter_with_its_reasons(api):
    response = api.get("/commerce/revenue/dashboard", {"model": "nope", "from": "2026-02-30"})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], set(body["fields"])) == ("invalid", {"model", "from"})
    name, reasons = next(iter(body["fields"].items()))
    assert body["detail"] == f"{name}: {reasons[0]} (and 1 more field)"


def test_400_from_a_service_names_the_field_as_the_api_spells_it(api, workspace):
    CampaignFactory(workspace=workspace, name="Summer", slug="summer")
    response = api.post("/api/campaigns", {"name": "Other", "slug": "summer"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "slug: Another campaign already uses 'summer'.",
        "code": "invalid",
        "fields": {"slug": ["Another campaign already uses 'summer'."]},
    }


def test_400_for_a_body_that_is_not_json(api):
    response = api.post("/api/campaigns", MALFORMED_JSON, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["detail"].startswith("JSON parse error")
    assert "fields" not in response.json()


def test_401_for_an_unknown_key_with_the_challenge(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer osk_nope_nope")
    response = client.get("/api/campaigns")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "detail": "Unknown or revoked API key.",
        "code": "authentication_failed",
    }


def test_403_for_a_read_key_that_writes(workspace):
    _, raw_key = services.api_key_create(workspace=workspace, name="r", scope=ApiKey.Scope.READ)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = reader.post("/api/campaigns", {"name": "X"}, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "A read-only API key cannot change anything.",
        "code": "permission_denied",
    }


def test_404_for_another_workspaces_id_and_an_unknown_one(api):
    theirs = PostFactory()
    for post_id in (theirs.pk, UNKNOWN_ID):
        response = api.get(f"/api/posts/{post_id}")
        assert response.status_code == 404
        assert response.json() == {
            "detail": "No Post matches the given query.",
            "code": "not_found",
        }


def test_405_for_a_method_the_endpoint_does_not_take(api):
    response = api.put("/commerce/revenue/dashboard", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "PUT" not allowed.', "code": "method_not_allowed"}


def test_415_for_a_body_of_another_media_type(api):
    response = api.post("/api/campaigns", "name=X", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_429_keeps_retry_after(api, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api": "2/min"})
    assert [api.get("/api/workspace").status_code for _ in range(2)] == [200, 200]
    response = api.get("/api/workspace")
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 60
    assert response.json() == {
        "detail": f"Request was throttled. Expected available in {wait} seconds.",
        "code": "throttled",
    }
