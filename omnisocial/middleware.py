"""Request checks that every view relies on."""

import logging
import re
from functools import lru_cache

from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import resolve, set_script_prefix
from django.utils import timezone
from django.utils.log import log_response

from omnisocial.api_errors import error_body
from omnisocial.errors import UNAVAILABLE, service_unavailable

logger = logging.getLogger(__name__)


class ServiceUnavailableMiddleware:
    """A view that cannot reach the database (PostgreSQL restarting, failing over) or the shared
    cache answers 503 with Retry-After, never a 500 page or traceback: a short page for browsers,
    `{"detail": ...}` for API clients. Errors raised outside the views (a middleware loading the
    session, say) get the same answer from handler500 (`omnisocial.errors.server_error`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, UNAVAILABLE):
            return None
        return outage_answer(request, exception)


def outage_answer(request, exception):
    """The logged 503 of an unreachable database or cache."""
    logger.error(
        "%s %s answered 503: database or cache unreachable", request.method, request.path,
        exc_info=exception,
    )  # fmt: skip
    return service_unavailable(request, exception)


class RejectNulCharactersMiddleware:
    """Answers 400 to a query string holding a NUL character (`%00`).

    No field of the product holds one, and PostgreSQL text cannot: passed to a filter it would
    end in a database error (a 500) instead of a clear refusal.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            reason = "NUL characters are not allowed in the URL."
            # API clients read the API's own error shape; browsers a plain sentence.
            if "text/html" not in request.headers.get("Accept", ""):
                return JsonResponse(error_body("invalid", reason), status=400)
            return HttpResponseBadRequest(reason, content_type="text/plain")
        return self.get_response(request)


class WorkspaceTimeZoneMiddleware:
    """Renders every page's times in the signed-in user's workspace's time zone, the zone its
    days are cut in, so an order filtered on "Nov 30" is shown on Nov 30 (pages name the zone).
    API answers keep UTC instants (ISO 8601 with their offset); CSV downloads give local times
    with their offset."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from omnisocial.tenancy import workspace_for

        user = getattr(request, "user", None)
        try:
            signed_in = user is not None and user.is_authenticated
            workspace = workspace_for(request) if signed_in else None
        except UNAVAILABLE:
            # The database is down (the session or the workspace could not be read). Go on
            # without the zone: a click redirect needs neither, and a page that needs them fails
            # in its view, which answers 503 (ServiceUnavailableMiddleware).
            workspace = None
        if workspace is None:
            return self.get_response(request)
        with timezone.override(workspace.zone):
            return self.get_response(request)


# The hot paths: the click redirect and the store webhooks. Neither reads a session, a user, a
# CSRF token, a message or a page's time zone, and each answers in a few milliseconds, so the rest
# of the stack is pure cost on them (about 60% of the redirect's time under load).
HOT_PATHS = re.compile(r"^/(r/[^/]+|commerce/stores/[0-9]+/webhooks/[a-z]+/?)$")


# Paths at most this long are resolved once per process (a link's code is 16 characters at most).
HOT_RESOLVE_MAX = 64


@lru_cache(maxsize=1024)
def _hot_resolve(path: str):
    """resolve() walks the URL patterns in order (a sixth of a webhook's own time): a store's
    webhook URL or a popular link is resolved once per process; the cache is bounded in entries
    and in key length, so random codes cost time, never memory."""
    return resolve(path)


class HotPathMiddleware:
    """Serves the hot paths straight from their view, past the session, authentication, CSRF,
    message, time-zone, clickjacking and CSP middleware below it. What they rely on stays above
    it in MIDDLEWARE: SecurityMiddleware (HTTPS; the webhooks are exempt from its redirect), the
    503 answers of an outage and the NUL refusal. Their views are CSRF-exempt or safe methods,
    and their bodies are raw bytes the views verify themselves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not HOT_PATHS.match(request.path_info):
            return self.get_response(request)
        path = request.path_info
        match = _hot_resolve(path) if len(path) <= HOT_RESOLVE_MAX else resolve(path)
        # No SELECT 1 before their one statement: if the kept connection died, that statement
        # fails instead, the click is spooled (the webhook answers 503 and the store retries),
        # and the connection is checked and replaced when the request ends.
        db = connections[DEFAULT_DB_ALIAS]
        db.health_check_done = True
        try:
            return match.func(request, *match.args, **match.kwargs)
        except UNAVAILABLE as exc:
            # Past the view machinery, where ServiceUnavailableMiddleware.process_exception would
            # see it: the same answer, given here.
            return outage_answer(request, exc)


# The store webhooks' POSTs, which `WebhookDispatch` serves.
WEBHOOK_PATH = re.compile(r"^/commerce/stores/[0-9]+/webhooks/[a-z]+/?$")


class WebhookDispatch:
    """WSGI (omnisocial/wsgi.py): a POST to a store's webhook URL goes straight to its view,
    past Django's request handler as well as the middleware: no request_started signal, no
    middleware chain, no SecurityMiddleware headers (the answer is a short text for a store's
    sender, never a page). Measured under gunicorn, that handler and the middleware above
    HotPathMiddleware were a fifth of a delivery's time in the web process.

    What the handler did that still matters is done here: the view is the same one (found
    through the URL patterns, as HotPathMiddleware finds it); an outage answers 503 as there and
    any other exception gets Django's own answer (`response_for_exception`: logged, handler500);
    errors are logged as Django logs them; and after the answer a database connection that
    broke or outlived CONN_MAX_AGE is closed, as request_finished would. Everything else,
    and every other method on these paths (a GET answers 405), goes to Django."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST" or not WEBHOOK_PATH.match(
            environ.get("PATH_INFO", "")
        ):
            return self.application(environ, start_response)
        set_script_prefix(get_script_name(environ))
        request = WSGIRequest(environ)
        connections[DEFAULT_DB_ALIAS].health_check_done = True  # as HotPathMiddleware says
        try:
            match = _hot_resolve(request.path_info)
            response = match.func(request, *match.args, **match.kwargs)
        except UNAVAILABLE as exc:
            response = outage_answer(request, exc)
        except Exception as exc:  # noqa: BLE001 - answered as Django answers it
            response = response_for_exception(request, exc)
        if response.status_code >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response,
                request=request,
            )  # fmt: skip
        content = response.content
        start_response(f"{response.status_code} {response.reason_phrase}", [
            *response.items(),
            *(("Set-Cookie", cookie.OutputString()) for cookie in response.cookies.values()),
        ])  # fmt: skip
        # What request_finished's receivers do that concerns this path, without the signal: a
        # connection that broke or outlived CONN_MAX_AGE is closed (the next request opens a
        # fresh one); no urlconf was set and the cache keeps its pool.
        request.close()
        close_old_connections()
        return [content]
