"""OpenAPI schema additions: the error answers every operation can give, documented once, and
the view that serves the schema.

drf-spectacular documents each operation's success answer; the errors come from DRF and Django
themselves (validation, authentication, unknown or other workspaces' ids, throttling, an
unreachable database), so this postprocessing hook adds them to every operation, each with the
one error shape that omnisocial/api_errors.py gives them: the `Error` component.
"""

from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer

from omnisocial.api_errors import CODES


class SchemaView(SpectacularAPIView):
    """GET /api/schema, for authenticated requests only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]).
    The schema comes as YAML (or JSON: `?format=json`); a refusal answers JSON in the API's
    error shape like the rest of the API, not YAML."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


def error_component() -> dict:
    """The one error shape (omnisocial/api_errors.py) as a schema component."""
    return {
        "type": "object",
        "description": "Every error answer of the API. Branch on `code`, not on `detail`.",
        "properties": {
            "detail": {"type": "string", "description": "What went wrong, in one sentence."},
            "code": {
                "type": "string",
                "enum": list(CODES),
                "description": "The kind of error: "
                + "; ".join(
                    f"`{code}` ({status}): {meaning}" for code, (status, meaning) in CODES.items()
                ),
            },  # fmt: skip
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "description": "With `invalid`: each bad field or query parameter (nested "
                "ones by path, such as `rows.2`) with its reasons.",
            },
        },
        "required": ["detail", "code"],
    }


# What each status means on any operation (an operation's own description of one wins).
ERRORS = {
    "400": "The request's parameters or body are invalid (`invalid`, with `fields`), or the "
           "body is not readable (`parse_error`).",
    "401": "No valid API key or session.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "No such object in this workspace (another workspace's ids answer this too), or "
           "no such page of a list.",
    "429": "Too many requests from this API key; the Retry-After header says when to retry.",
    "503": "The database or the shared cache cannot be reached for now; the Retry-After "
           "header says when to retry.",
}  # fmt: skip
ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def document_errors(result, generator, request, public):
    """Adds the error answers to every operation of the schema, and makes every 4xx and 5xx
    answer an operation documents itself (409, say) refer to the one Error component."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = error_component()
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            errors = dict(ERRORS)
            if "requestBody" in operation:
                # A body the parsers cannot read (an empty multipart body, another media type).
                errors["415"] = "The body's Content-Type is not one this operation reads."
            for status, description in errors.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = ERROR_REF
    return result
