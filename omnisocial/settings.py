"""Settings for OmniSocial.

Everything that differs between development, test and production is read from environment
variables (see README.md, "Configuration"); there is one settings module and no hidden branches.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from omnisocial import static_bundle

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# The development default is deliberately marked insecure so `manage.py check --deploy` flags it.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-development-only-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Behind a TLS-terminating proxy set SECURE_SSL_REDIRECT=true. Webhook URLs are exempt: a store
# counts a 3xx as delivered and would drop the order (SECURE_REDIRECT_EXEMPT below).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^commerce/stores/\d+/webhooks(/|$)"]
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_X_FORWARDED_PROTO", False) else None
)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTP Strict Transport Security: only once the whole site (and, with the flag, every subdomain)
# is served over HTTPS; browsers remember it for SECURE_HSTS_SECONDS.
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (Django's own middleware): scripts only from this origin or carrying the
# request's nonce (the charts' inline bootstrap), no inline event handlers, no framing, no
# plugins. Inline styles stay allowed: plotly.js styles its charts through <style> elements.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    # The posts' pictures as the platforms serve them (Post.thumbnail_url, from Meta's sync).
    "img-src": [CSP.SELF, "data:", "https://*.cdninstagram.com", "https://*.fbcdn.net"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "omnisocial",
    "attribution",
    "commerce",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Database or cache unreachable: 503 with Retry-After instead of a 500.
    "omnisocial.middleware.ServiceUnavailableMiddleware",
    "omnisocial.middleware.RejectNulCharactersMiddleware",
    # The click redirect and the webhooks leave here: nothing below concerns them.
    "omnisocial.middleware.HotPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "omnisocial.middleware.WorkspaceTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "omnisocial.urls"
WSGI_APPLICATION = "omnisocial.wsgi.application"
ASGI_APPLICATION = "omnisocial.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "omnisocial.tenancy.workspace_context",
            ],
        },
    },
]

# Database: DATABASE_URL, default an SQLite file beside manage.py.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker share the file: WAL lets readers run beside the writer,
    # the busy timeout waits for a lock instead of failing, and IMMEDIATE transactions take the
    # write lock up front so two writers never deadlock into "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The hot paths' statements (`omnisocial.db.hot_cursor`: server-side binding) are prepared
    # after this many executions on a connection, then run without being parsed and planned
    # again; Django's own queries bind on the client and are never prepared. Empty disables it
    # (a pooler in transaction mode without prepared-statement support).
    threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        int(threshold) if threshold else None
    )
    # No JIT compilation: the reports' statements read a few hundred thousand rollup rows at
    # most, and compiling them cost more than it saved (300 ms of JIT on a 2.7 s segments query
    # at a million orders). DATABASE_JIT=on gives it back.
    jit = "on" if os.environ.get("DATABASE_JIT", "off") == "on" else "off"
    DATABASES["default"]["OPTIONS"]["options"] = f"-c jit={jit}"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL's; on SQLite the index is built without them.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Failed logins allowed per username and address before a pause (count/window: s, min, h).
LOGIN_FAILURE_RATE = os.environ.get("LOGIN_FAILURE_RATE", "5/15min")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Accounts: the first visit to an install without users creates the owner and the first
# workspace; after that people join by invitation only, unless OPEN_SIGNUP lets anyone create an
# account with a workspace of their own (omnisocial/accounts.py).
OPEN_SIGNUP = env_bool("OPEN_SIGNUP", False)
# Days an invitation link works (once) after it was sent.
INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS") or "7")
# Invitations a workspace may send per window: each is an email to an address of the owner's
# choosing, and with OPEN_SIGNUP anyone is an owner.
INVITATION_RATE = os.environ.get("INVITATION_RATE", "30/h")
# Password-reset emails asked for per address (any address, existing or not, so the limit tells
# nothing) before a pause: a form anyone can post must not become a way to flood an inbox.
PASSWORD_RESET_RATE = os.environ.get("PASSWORD_RESET_RATE", "3/h")

# Email (invitations, password resets): one mailer, the console (emails are printed in the server's
# output) unless EMAIL_BACKEND names another backend; the SMTP backend reads the EMAIL_* variables.
email_backend = os.environ.get("EMAIL_BACKEND") or "django.core.mail.backends.console.EmailBackend"
MAILERS = {
    "default": {
        "BACKEND": email_backend,
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT") or "25"),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            "timeout": int(os.environ.get("EMAIL_TIMEOUT") or "10"),
        }
        if email_backend == "django.core.mail.backends.smtp.EmailBackend"
        else {},
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "OmniSocial <noreply@localhost>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Set STATIC_ROOT only to run collectstatic for a CDN or proxy; WhiteNoise serves from the finders.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
# plotly.js is served from the copy the installed plotly package ships (the pages need no CDN),
# compressed once `make install` has prepared it (omnisocial.static_bundle).
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("plotly", static_bundle.prepared_dir() or static_bundle.PACKAGE_DIR),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the finders, so `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_IMMUTABLE_FILE_TEST = static_bundle.IMMUTABLE
# The chart pages load plotly.js's partial bundle (bars and lines) when `make install` fetched it.
PLOTLY_PARTIAL = env_bool("PLOTLY_PARTIAL", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "omnisocial.tenancy.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Choice filters offer the request's workspace's objects only (omnisocial/tenancy.py).
    "DEFAULT_FILTER_BACKENDS": ["omnisocial.tenancy.WorkspaceFilterBackend"],
    # JSON nested too deeply for the parser is a 400 like any malformed body, never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "omnisocial.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "omnisocial.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # One bucket per API key (per user for browser sessions); see omnisocial/throttling.py.
    "DEFAULT_THROTTLE_CLASSES": ["omnisocial.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": os.environ.get("API_RATE_LIMIT", "600/min")},
    # Every refusal in one shape, {"detail", "code", "fields"}: see omnisocial/api_errors.py.
    "EXCEPTION_HANDLER": "omnisocial.api_errors.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OmniSocial API",
    "DESCRIPTION": (
        "Revenue attribution for social posts. Authenticate with "
        "`Authorization: Bearer osk_…` (a workspace API key) or the browser session."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/schema and /api/docs: for API keys and signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the installed sidecar package's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "omnisocial.api_schema.document_errors",
    ],
    # One name per choice set, so `manage.py spectacular --validate --fail-on-warn` stays clean.
    "ENUM_NAME_OVERRIDES": {
        "SocialPlatformEnum": "omnisocial.models.Platform",
        "StorePlatformEnum": "commerce.models.StorePlatform",
        "AttributionModelEnum": "attribution.models.AttributionModel",
        "ApiKeyScopeEnum": "omnisocial.models.ApiKey.Scope",
        "KpiScopeEnum": "analytics.models.RevenueKPI.Scope",
        "MetricsSourceEnum": "omnisocial.models.MetricsSource",
        "TrackedLinkSourceEnum": "attribution.models.TrackedLink.Source",
    },
}

# django-q2: the ORM broker by default (nothing else to start, works on SQLite and PostgreSQL);
# Redis when Q_BROKER_URL names one, so workers on several machines share one queue.
Q_CLUSTER = {
    "name": "omnisocial",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 600,
    "retry": 900,
    "max_attempts": 3,
    "catch_up": False,
    "label": "Tasks",
}
if os.environ.get("Q_BROKER_URL", "").startswith("redis"):
    Q_CLUSTER["redis"] = os.environ["Q_BROKER_URL"]
else:
    Q_CLUSTER["orm"] = "default"

# Public origin of short links (`https://go.brand.example`); by default the request's own host.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")

# Seconds after a recalculation was asked for (POST /attribution/recalculations) before the
# workspace may ask for another.
RECALCULATION_COOLDOWN = int(os.environ.get("RECALCULATION_COOLDOWN", "300"))

# The stores' own APIs (order history and the missed-webhook sync). Shopify's Admin GraphQL
# endpoint, `{shop}` the shop's myshopify domain and `{version}` the pinned API version.
SHOPIFY_API_VERSION = os.environ.get("SHOPIFY_API_VERSION", "2025-10")
SHOPIFY_ADMIN_URL = os.environ.get(
    "SHOPIFY_ADMIN_URL", "https://{shop}/admin/api/{version}/graphql.json"
)
# Days of order history imported when a store is connected (at most a year past the lookback).
STORE_HISTORY_DAYS = int(os.environ.get("STORE_HISTORY_DAYS", "60"))
# Minutes between two missed-webhook syncs of a store.
STORE_SYNC_MINUTES = int(os.environ.get("STORE_SYNC_MINUTES", "15"))

# Fernet keys for secrets at rest (omnisocial/crypto.py): the first encrypts, all decrypt.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")

# Outbound calls (omnisocial/outbound.py) refuse private and loopback addresses unless this is on:
# local tests and fake platform servers only.
OUTBOUND_ALLOW_PRIVATE = env_bool("OUTBOUND_ALLOW_PRIVATE", False)
# Clicks that the database could not take are appended here and stored by `flush_click_spool`.
CLICK_SPOOL_DIR = os.environ.get("CLICK_SPOOL_DIR", str(BASE_DIR / "var" / "spool"))


def caches_from_url(url: str) -> dict:
    """CACHES for `CACHE_URL`: Redis (`redis://`, `rediss://`, `unix://`), shared by every web
    and worker process, or each process's own memory when the URL is empty."""
    if not url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 100_000},
            }
        }
    if url.partition("://")[0] not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"CACHE_URL must be a redis://, rediss:// or unix:// URL, not {url.split(':')[0]!r}."
        )
    return {
        "default": {
            "BACKEND": "omnisocial.cache.RedisCache",
            "LOCATION": url,
            # A Redis that stops answering costs a request two seconds at most, never a worker.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }


# The cache holds what must be the same in every process: the rate limits' counters (logins, API,
# webhooks) and the short links' redirect data (so /r/<code> works while the database is down).
# In production point CACHE_URL at Redis (`redis://redis-host:6379/1`, a database number of its
# own, not Q_BROKER_URL's); unset, each process counts on its own and `check --deploy` warns.
CACHE_URL = os.environ.get("CACHE_URL", "").strip()
CACHES = caches_from_url(CACHE_URL)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # httpx logs every request's full URL at INFO; some platforms take secrets in the query
    # (Meta's code exchange), which must never reach a log.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# Webhook bodies above this size answer 413 (a large Shopify order is a few hundred kB).
COMMERCE_WEBHOOK_MAX_BYTES = int(os.environ.get("COMMERCE_WEBHOOK_MAX_BYTES", str(1024 * 1024)))
# Deliveries accepted per store and window; beyond it the store is answered 429 and retries.
COMMERCE_WEBHOOK_RATE = os.environ.get("COMMERCE_WEBHOOK_RATE", "6000/min")
# Deliveries failing verification, per store and client address: beyond it, 429 and nothing kept.
COMMERCE_WEBHOOK_UNVERIFIED_RATE = os.environ.get("COMMERCE_WEBHOOK_UNVERIFIED_RATE", "20/min")
# Test deliveries a store may be sent (its page's "Send a test delivery"), per store.
COMMERCE_PROBE_RATE = os.environ.get("COMMERCE_PROBE_RATE", "5/10min")
# Seconds a test delivery waits for the webhook URL's answer (a store gives up about as soon).
COMMERCE_PROBE_TIMEOUT = float(os.environ.get("COMMERCE_PROBE_TIMEOUT", "3"))

# Social and ad platforms (omnisocial/platforms/, docs/platforms.md). The apps' ids and secrets
# come from the environment; every URL is a setting so tests and proxies can point elsewhere.
META_APP_ID = os.environ.get("META_APP_ID", "")
META_APP_SECRET = os.environ.get("META_APP_SECRET", "")
# The pinned Graph API version is this URL's last segment (the organic metric names follow it).
META_GRAPH_URL = os.environ.get("META_GRAPH_URL", "https://graph.facebook.com/v24.0")
META_OAUTH_DIALOG_URL = os.environ.get(
    "META_OAUTH_DIALOG_URL", "https://www.facebook.com/v24.0/dialog/oauth"
)
META_OAUTH_SCOPES = env_list(
    "META_OAUTH_SCOPES",
    "pages_show_list,pages_read_engagement,read_insights,instagram_basic,"
    "instagram_manage_insights,ads_read,business_management",
)
TIKTOK_APP_ID = os.environ.get("TIKTOK_APP_ID", "")
TIKTOK_APP_SECRET = os.environ.get("TIKTOK_APP_SECRET", "")
TIKTOK_BUSINESS_API_URL = os.environ.get(
    "TIKTOK_BUSINESS_API_URL", "https://business-api.tiktok.com/open_api/v1.3"
)
TIKTOK_AUTH_URL = os.environ.get("TIKTOK_AUTH_URL", "https://business-api.tiktok.com/portal/auth")
# Days of platform figures read when a connection is made (at most PLATFORM_BACKFILL_MAX_DAYS).
PLATFORM_BACKFILL_DAYS = int(os.environ.get("PLATFORM_BACKFILL_DAYS", "30"))
PLATFORM_BACKFILL_MAX_DAYS = 730
# Days a sync asks for at once (each window is written, and a paused run resumes, after it).
PLATFORM_SYNC_WINDOW_DAYS = int(os.environ.get("PLATFORM_SYNC_WINDOW_DAYS", "7"))
