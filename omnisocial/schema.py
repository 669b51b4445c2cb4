"""OpenAPI descriptions drf-spectacular cannot infer by itself: the workspace API key scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "omnisocial.tenancy.ApiKeyAuthentication"
    name = "workspaceApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "osk_<prefix>_<secret>",
            "description": "A workspace API key (POST /api/keys, or the admin).",
        }
