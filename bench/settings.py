"""Settings for benchmark servers: the project's own, plus a bare baseline view (bench/urls.py)."""

from omnisocial.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
