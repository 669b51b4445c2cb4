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


@register(Tags.security, deploy=True)
def encryption_keys_check(app_configs, **kwargs):
    """Secrets at rest (stores' API credentials, platform tokens) need keys of their own."""
    if any(key.strip() for key in settings.FIELD_ENCRYPTION_KEYS):
        return []
    return [
        Warning(
            "FIELD_ENCRYPTION_KEYS is not set: the stores' and platforms' credentials are "
            "encrypted with a key derived from SECRET_KEY, so rotating SECRET_KEY makes them "
            "unreadable.",
            hint="Set FIELD_ENCRYPTION_KEYS to a key from `manage.py encryption_key` "
            "(docs/stores.md, docs/operations.md).",
            id="omnisocial.W002",
        )
    ]


@register(Tags.security, deploy=True)
def public_base_url_check(app_configs, **kwargs):
    """Links the app sends out (invitations, password resets, webhook URLs, short links) and
    the store's test delivery are built from PUBLIC_BASE_URL, never from a request's Host."""
    if settings.PUBLIC_BASE_URL.startswith("https://"):
        return []
    return [
        Warning(
            "PUBLIC_BASE_URL is not an https origin: the stores' test delivery is refused, and "
            "webhook URLs, short links and emailed links fall back to the address a request "
            "was made to.",
            hint="Set PUBLIC_BASE_URL to the app's public origin, e.g. https://app.brand.example "
            "(docs/operations.md).",
            id="omnisocial.W003",
        )
    ]
