"""django-q2 entry points of the attribution app."""

from attribution import services


def click_spool_flush() -> int:
    return services.click_spool_flush()
