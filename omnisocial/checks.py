"""System checks of the project's own (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

# Backends whose entries live in one process (or on one host) only.
PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
}


def cache_is_shared() -> bool:
    """Whether the default cache is one every process sees (Redis, CACHE_URL)."""
    return settings.CACHES.get("default", {}).get("BACKEND", "") not in PROCESS_LOCAL_CACHES


@register(Tags.security, Tags.caches, deploy=True)
def shared_cache_check(app_configs, **kwargs):
    """The rate limits and the link cache must be shared by every web process."""
    if cache_is_shared():
        return []
    return [
        Warning(
            "The cache is local to each process: with several gunicorn workers or hosts the "
            "login, API and webhook rate limits count per process (each worker lets the full "
            "limit through), and a short link no process has cached answers 503 while the "
            "database is down.",
            hint="Set CACHE_URL to a Redis database shared by every web and worker process, "
            "e.g. CACHE_URL=redis://redis-host:6379/1 (docs/security.md, docs/operations.md).",
            id="omnisocial.W001",
        )
    ]
