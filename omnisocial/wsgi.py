"""WSGI entry point (gunicorn omnisocial.wsgi): Django, with the store webhooks' POSTs served
straight from their view (`omnisocial.middleware.WebhookDispatch`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnisocial.settings")
django_application = get_wsgi_application()

from omnisocial.middleware import WebhookDispatch  # noqa: E402 - needs the settings above

application = WebhookDispatch(django_application)
