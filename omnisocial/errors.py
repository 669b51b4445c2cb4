"""Error pages that say what happened, in the product's look (JSON for API clients)."""

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404


def not_found(request, exception=None):
    """404 as a page for browsers and as `{"detail": ...}` for everyone else (API clients ask
    for JSON or for anything), so an unknown API URL answers in the API's own error shape.

    Only a reason the code wrote is shown: an unmatched URL's reason would list the URL patterns
    the resolver tried."""
    reason = ""
    if isinstance(exception, Http404) and not isinstance(exception, Resolver404):
        reason = str(exception)
    if "text/html" not in request.headers.get("Accept", ""):
        return JsonResponse({"detail": reason or "Not found."}, status=404)
    return render(request, "404.html", {"reason": reason}, status=404)
