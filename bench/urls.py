"""The project's URLs plus baselines: the least a Django view can do for the same job."""

from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from omnisocial.urls import handler404  # noqa: F401
from omnisocial.urls import urlpatterns as project_urlpatterns


def bare_insert_redirect(request):
    """One INSERT and a 302: the floor the click redirect is compared against."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_baseline (at) VALUES (%s)", [timezone.now()])
    return HttpResponseRedirect("https://shop.example/")


@csrf_exempt
def bare_insert_ok(request):
    """One INSERT of the body and a 200: the floor the webhook endpoint is compared against."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_baseline (at, body) VALUES (%s, %s)",
            [timezone.now(), request.body.decode("utf-8", "replace")],
        )
    return HttpResponse("ok")


urlpatterns = [
    *project_urlpatterns,
    path("bench/redirect", bare_insert_redirect),
    path("bench/ok", bare_insert_ok),
]
