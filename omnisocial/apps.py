from django.apps import AppConfig


class OmnisocialConfig(AppConfig):
    name = "omnisocial"
    verbose_name = "Workspaces and posts"

    def ready(self):
        # Registers the API key's OpenAPI security scheme with drf-spectacular.
        # Registers the deploy checks (omnisocial.W001: a shared cache).
        from omnisocial import (
            checks,  # noqa: F401
            schema,  # noqa: F401
        )
