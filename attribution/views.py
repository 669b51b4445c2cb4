"""The click redirect: the hot path. One cached lookup, one INSERT, a 302."""

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.http import require_safe

from attribution import clicks, selectors, services
from attribution.models import new_click_id
from attribution.tagging import append_query


@require_safe
def click_redirect(request, code: str) -> HttpResponse:
    """Records the click and sends the visitor to the tagged destination with `osc_click`.

    Bots and link-preview fetchers get the same redirect (a preview must still work) but are
    stored as bots and never counted.
    """
    target = selectors.link_target(code)
    if target is None:
        raise Http404("This link does not exist or has been removed.")
    click_id = new_click_id()
    visitor_id, new_visitor = clicks.visitor_id(request)
    reason = clicks.bot_reason(request)
    seen_cookie = clicks.SEEN_COOKIE_PREFIX + code
    services.click_record(
        target=target,
        click_id=click_id,
        visitor_id=visitor_id,
        clicked_at=timezone.now(),
        referrer=request.META.get("HTTP_REFERER", ""),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip_prefix=clicks.ip_prefix(request),
        is_bot=bool(reason),
        bot_reason=reason,
        is_unique=seen_cookie not in request.COOKIES,
    )
    # Click ids the platforms add to our short link (Instagram's fbclid...) go on to the store.
    passed = [(k, v) for k, v in request.GET.items() if k in clicks.PASS_THROUGH_PARAMS]
    location = append_query(target.tagged_url, [*passed, ("osc_click", click_id)])
    response = HttpResponseRedirect(location)
    response["Cache-Control"] = "no-store"
    if not reason:
        secure = request.is_secure()
        if new_visitor:
            response.set_cookie(
                clicks.VISITOR_COOKIE, visitor_id, max_age=clicks.VISITOR_COOKIE_AGE,
                secure=secure, httponly=True, samesite="Lax",
            )  # fmt: skip
        response.set_cookie(
            seen_cookie, "1", max_age=clicks.UNIQUE_CLICK_WINDOW, path=f"/r/{code}",
            secure=secure, httponly=True, samesite="Lax",
        )  # fmt: skip
    return response
