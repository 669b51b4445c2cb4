"""Error pages that say what happened, in the product's look."""

from django.shortcuts import render


def not_found(request, exception=None):
    return render(request, "404.html", {"reason": str(exception or "")}, status=404)
