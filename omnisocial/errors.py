"""Error pages that say what happened, in the product's look (JSON for API clients)."""

import sys

import psycopg
import redis
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404
from django.views import defaults

from omnisocial.api_errors import error_body

# What a request meets while the database (or the shared cache) cannot be reached: Django's
# wrappers of the driver's errors, the driver's own where one escapes unwrapped, and redis-py's.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError,
                        psycopg.InterfaceError)  # fmt: skip
CACHE_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
UNAVAILABLE = DATABASE_UNAVAILABLE + CACHE_UNAVAILABLE
RETRY_AFTER_SECONDS = 60


def wants_html(request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def not_found(request, exception=None):
    """404 as a page for browsers and in the API's error shape for everyone else (API clients ask
    for JSON or for anything), so an unknown API URL answers in the API's own error shape.

    Only a reason the code wrote is shown: an unmatched URL's reason would list the URL patterns
    the resolver tried."""
    reason = ""
    if isinstance(exception, Http404) and not isinstance(exception, Resolver404):
        reason = str(exception)
    if not wants_html(request):
        return JsonResponse(error_body("not_found", reason or "Not found."), status=404)
    return render(request, "404.html", {"reason": reason}, status=404)


def service_unavailable(request, exception: BaseException | None = None) -> HttpResponse:
    """503 with Retry-After while the database or the cache cannot be reached: a short page for
    browsers, `{"detail": ...}` for API clients, like the webhooks' own answer. The page is
    rendered without the request, so no context processor goes looking for the database."""
    what = "cache" if isinstance(exception, CACHE_UNAVAILABLE) else "database"
    reason = f"OmniSocial is temporarily unavailable: its {what} cannot be reached. Retry later."
    if wants_html(request):
        response = HttpResponse(
            render_to_string("503.html", {"reason": reason, "retry_after": RETRY_AFTER_SECONDS}),
            status=503,
        )
    else:
        response = JsonResponse(error_body("unavailable", reason), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request):
    """handler500: an error that escaped every view and middleware. One that says the database
    or the cache is unreachable (raised, say, while a middleware loads the session) is answered
    503 like those the views raise (omnisocial.middleware.ServiceUnavailableMiddleware)."""
    exception = sys.exc_info()[1]
    if isinstance(exception, UNAVAILABLE):
        return service_unavailable(request, exception)
    return defaults.server_error(request)
