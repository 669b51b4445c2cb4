from django.apps import AppConfig


class OmnisocialConfig(AppConfig):
    name = "omnisocial"
    verbose_name = "Workspaces and posts"

    def ready(self):
        # Registers the API key's OpenAPI security scheme with drf-spectacular.
        from omnisocial import schema  # noqa: F401
