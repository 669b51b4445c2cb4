"""OpenAPI schema additions: the error answers every operation can give, documented once, and
the view that serves the schema.

drf-spectacular documents each operation's success answer; the errors come from DRF and Django
themselves (validation, authentication, unknown or other workspaces' ids, throttling, an
unreachable database), so this postprocessing hook adds them to every operation with the shapes
DRF gives them.
"""

from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer


class SchemaView(SpectacularAPIView):
    """GET /api/schema, for authenticated requests only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]).
    The schema comes as YAML (or JSON: `?format=json`); a refusal answers JSON `{"detail": …}`
    like the rest of the API, not YAML."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "description": "What went wrong, in words.",
}
# DRF's validation answer: {field: [reasons]} (one entry per bad field or parameter), or a list
# of reasons when the error is not about one field.
VALIDATION = {
    "anyOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {"type": "string"}},
    ],
    "description": "Each bad field or parameter with its reasons.",
}
ERRORS = {
    "400": ("The request's parameters or body are invalid: the fields and the reasons.",
            "ValidationErrors"),
    "401": ("No valid API key or session.", "ErrorDetail"),
    "403": ("Authenticated, but not allowed to do this.", "ErrorDetail"),
    "404": ("No such object in this workspace (another workspace's ids answer this too), or "
            "no such page of a list.", "ErrorDetail"),
    "429": ("Too many requests from this API key; the Retry-After header says when to retry.",
            "ErrorDetail"),
    "503": ("The database or the shared cache cannot be reached for now; the Retry-After "
            "header says when to retry.", "ErrorDetail"),
}  # fmt: skip


def document_errors(result, generator, request, public):
    """Adds the error answers to every operation of the schema (those it documents already stay
    as they are)."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorDetail", DETAIL)
    components.setdefault("ValidationErrors", VALIDATION)
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            errors = dict(ERRORS)
            if "requestBody" in operation:
                # A body the parsers cannot read (an empty multipart body, another media type).
                errors["415"] = ("The body's Content-Type is not one this operation reads.",
                                 "ErrorDetail")  # fmt: skip
            for status, (description, schema) in errors.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{schema}"}
                            }
                        },
                    },
                )
    return result
