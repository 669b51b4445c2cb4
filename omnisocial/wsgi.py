"""WSGI entry point (gunicorn omnisocial.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnisocial.settings")
application = get_wsgi_application()
