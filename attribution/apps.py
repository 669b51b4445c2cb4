from django.apps import AppConfig


class AttributionConfig(AppConfig):
    name = "attribution"
    verbose_name = "Attribution"

    def ready(self) -> None:
        from attribution import (
            receivers,  # noqa: F401 - connects the commerce and core signals
            selectors,  # noqa: F401 - the link cache follows link saves
        )
