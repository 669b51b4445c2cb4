"""Pages of the commerce app and the stores' webhook endpoint."""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from commerce import probe, selectors, services
from commerce.models import StoreConnection, StorePlatform
from commerce.services import inbox, stores
from omnisocial import ratelimit
from omnisocial.params import is_id
from omnisocial.tenancy import Role, WorkspaceViewMixin, workspace_owner

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request, store_id: int, platform: str):
    """`POST /commerce/stores/<id>/webhooks/<platform>`: store first, answer fast, process later.

    One INSERT per delivery: the store comes from a short per-process cache, and processing is
    left to the sweep task (see `services.deliveries_sweep_soon`).

    Never answers a redirect: stores count a 3xx as delivered and would drop the order. While
    the database is unreachable it answers 503 with the reason, never 200 (the store would drop
    the order) nor an error page: the store retries later and nothing was half-written.
    """
    try:
        return _webhook(request, store_id, platform)
    except (OperationalError, InterfaceError):
        logger.exception("webhook for store %s not stored: database unavailable", store_id)
        response = HttpResponse(
            "Database unavailable: the delivery was not stored; retry later.",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = "60"
        return response


# Deliveries that fail verification (wrong signature, not UTF-8), per store and client address;
# beyond it that address is answered 429 for the rest of the window, and nothing is stored.
UNVERIFIED_RATE_DEFAULT = "20/min"


def _unverified_rate() -> str:
    return getattr(settings, "COMMERCE_WEBHOOK_UNVERIFIED_RATE", UNVERIFIED_RATE_DEFAULT)


def _too_many(message: str, wait: int) -> HttpResponse:
    response = HttpResponse(message, status=429, content_type="text/plain")
    response["Retry-After"] = str(wait)
    return response


def _webhook(request, store_id: int, platform: str) -> HttpResponse:
    limit = settings.COMMERCE_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return HttpResponse("Payload too large.", status=413, content_type="text/plain")
    try:
        body = request.body
    except RequestDataTooBig:
        return HttpResponse("Payload too large.", status=413, content_type="text/plain")
    if len(body) > limit:
        return HttpResponse("Payload too large.", status=413, content_type="text/plain")
    store = selectors.webhook_store(store_id=store_id, platform=platform)
    if store is None:
        return HttpResponse("No such store.", status=404, content_type="text/plain")
    inspection = inbox.delivery_inspect(
        store=store,
        body=body,
        headers=request.headers,
        store_reload=lambda: selectors.webhook_store(
            store_id=store_id, platform=platform, fresh=True
        ),
    )
    # The signature is checked before anything is counted, so each delivery takes a place in
    # one limit, atomically: a verified one in the store's budget (COMMERCE_WEBHOOK_RATE),
    # anything else in its sender's (store and address, COMMERCE_WEBHOOK_UNVERIFIED_RATE).
    # Unsigned traffic to a store's public URL (ids are sequential) can then never push its real
    # orders into 429. The store's budget is a flood guard of thousands a minute, counted in
    # batches (`ratelimit.hit_batched`: most deliveries skip the round trip to the shared cache;
    # across N web processes at most N * (batch - 1) beyond it get through, under 1% with 6
    # workers at 6000/min); the sender's small limit is counted exactly, one round trip each.
    if inspection.verified or inspection.ping:
        wait = ratelimit.hit_batched("webhook", str(store_id), settings.COMMERCE_WEBHOOK_RATE)
        if wait:
            # Stores retry a 429 later (with backoff): nothing is lost, a flood is slowed down.
            return _too_many("Too many deliveries.", wait)
    else:
        sender = f"{store_id}|{request.META.get('REMOTE_ADDR', '')}"
        wait = ratelimit.hit("webhook-unverified", sender, _unverified_rate())
        if wait:
            return _too_many("Too many deliveries that failed verification.", wait)
    reception = inbox.delivery_keep(inspection=inspection, body=body, headers=request.headers)
    return HttpResponse(
        reception.message or "OK", status=reception.status_code, content_type="text/plain"
    )


def webhook_url(request, store: StoreConnection) -> str:
    """The URL to paste into the store: at PUBLIC_BASE_URL, or (shown only, while that setting is
    empty) at the address this page was asked for. The test delivery uses PUBLIC_BASE_URL only."""
    return probe.public_webhook_url(store) or request.build_absolute_uri(probe.webhook_path(store))


def secret_shown(response):
    """An answer that shows a secret once: no browser or proxy may keep it and show it again."""
    add_never_cache_headers(response)
    return response


def tracking_snippet(request, store: StoreConnection) -> str:
    src = request.build_absolute_uri(settings.STATIC_URL + "omnisocial/track.js")
    return f'<script src="{src}" data-store="{store.pk}" defer></script>'


class StoreListView(WorkspaceViewMixin, TemplateView):
    """Connect Stores: the workspace's stores, their UTM health, and the connect form."""

    template_name = "commerce/store_list.html"
    write_role = Role.OWNER  # connecting a store

    def get_context_data(self, **kwargs):
        stores = list(selectors.store_list(workspace=self.workspace))
        rows = [(store, selectors.store_health(store=store)) for store in stores]
        return super().get_context_data(
            rows=rows, platforms=StorePlatform.choices, form=kwargs.pop("form", {}),
            can_manage=workspace_owner(self.request, self.workspace), **kwargs,
        )  # fmt: skip

    def post(self, request, *args, **kwargs):
        try:
            store = stores.store_connect(
                workspace=self.workspace,
                platform=request.POST.get("platform", ""),
                shop_domain=request.POST.get("shop_domain", ""),
                currency=request.POST.get("currency", ""),
                webhook_secret=request.POST.get("webhook_secret", ""),
                name=request.POST.get("name", ""),
                api_key=request.POST.get("api_key", ""),
                api_secret=request.POST.get("api_secret", ""),
            )
        except stores.StoreTaken as exc:
            response = self.render_to_response(
                self.get_context_data(form=request.POST, taken=exc.store)
            )
            response.status_code = 400
            return response
        except ValidationError as exc:
            response = self.render_to_response(
                self.get_context_data(form=request.POST, errors=_field_errors(exc))
            )
            response.status_code = 400
            return response
        messages.success(request, "Store connected: paste the webhook URL below into the store.")
        if store.platform != StorePlatform.CUSTOM:
            return redirect("commerce:store-detail", pk=store.pk)
        # A generated secret is shown on this answer only.
        detail = StoreDetailView(request=request, args=(), kwargs={"pk": store.pk})
        return secret_shown(
            detail.render_to_response(detail.get_context_data(new_secret=store.webhook_secret))
        )


def _field_errors(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {field: " ".join(errors) for field, errors in exc.message_dict.items()}
    return {"form": " ".join(exc.messages)}


class StoreDetailView(WorkspaceViewMixin, TemplateView):
    """A store's health, what to paste into the store (webhook URL, snippet; a generated secret
    once, on the answer that made it), the secret's rotation, its recent orders and its inbox."""

    template_name = "commerce/store_detail.html"
    write_role = Role.OWNER

    def _store(self) -> StoreConnection:
        try:
            return selectors.store_get(workspace=self.workspace, store_id=self.kwargs["pk"])
        except StoreConnection.DoesNotExist as exc:
            raise Http404("No such store in this workspace.") from exc

    def post(self, request, *args, **kwargs):
        """`test`: sends a test delivery to the store's webhook URL (commerce.probe). Otherwise
        rotates the webhook secret (the previous one stays valid for an hour); a generated
        (custom store) secret is shown on this answer only: it is never shown again."""
        store = self._store()
        if "test" in request.POST:
            return self._probe(request, store)
        if "edit" in request.POST:
            return self._edit(request, store)
        if "import" in request.POST:
            return self._import(request, store)
        try:
            store = services.store_secret_rotate(
                store=store, new_secret=request.POST.get("webhook_secret", "")
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("commerce:store-detail", pk=store.pk)
        until = timezone.localtime(store.previous_secret_expires_at, self.workspace.zone)
        messages.success(
            request,
            "Secret rotated. Deliveries signed with the previous one are accepted until "
            f"{until:%H:%M} ({self.workspace.time_zone}).",
        )
        if store.platform != StorePlatform.CUSTOM:
            return redirect("commerce:store-detail", pk=store.pk)
        return secret_shown(
            self.render_to_response(self.get_context_data(new_secret=store.webhook_secret))
        )

    def _edit(self, request, store: StoreConnection):
        """The store's name, currency (while it has no orders) and API credentials; a form
        saves only what it shows, and credentials left empty stay as they are."""
        post = request.POST
        api_key = post.get("api_key", "").strip()
        try:
            changed = stores.store_update(
                store=store, name=post.get("name"), currency=post.get("currency"),
                api_key=api_key or None, api_secret=post.get("api_secret", ""),
            )  # fmt: skip
        except ValidationError as exc:
            response = self.render_to_response(
                self.get_context_data(edit_form=post, errors=_field_errors(exc))
            )
            response.status_code = 400
            return response
        messages.success(request, "Saved." if changed else "Nothing changed.")
        return redirect("commerce:store-detail", pk=store.pk)

    def _import(self, request, store: StoreConnection):
        from commerce.services import history

        try:
            history.import_request(store=store, days=_days(post_days=request.POST.get("days")))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Import queued: its progress shows below.")
        return redirect(reverse("commerce:store-detail", kwargs={"pk": store.pk}) + "#import")

    def _probe(self, request, store: StoreConnection):
        """Queues the test delivery for the worker; the page shows its verdict when it has one
        (and reloads itself until then)."""
        try:
            probe.probe_request(store=store)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(reverse("commerce:store-detail", kwargs={"pk": store.pk}) + "#probe")

    def get_context_data(self, **kwargs):
        store = self._store()
        return super().get_context_data(
            store=store,
            can_manage=workspace_owner(self.request, self.workspace),
            webhook_url=webhook_url(self.request, store),
            public_base_url=settings.PUBLIC_BASE_URL,
            last_probe=store.probes.first(),
            last_import=store.imports.first(),
            health=selectors.store_health(store=store),
            history_days=settings.STORE_HISTORY_DAYS,
            snippet=tracking_snippet(self.request, store),
            deliveries=selectors.store_deliveries(store=store, limit=20),
            orders=selectors.store_orders(store=store, limit=20),
            **kwargs,
        )


def _days(*, post_days: str | None) -> int | None:
    """The days of history asked for (blank: the default); the service says what is allowed."""
    if not post_days:
        return None
    if not is_id(post_days):
        raise ValidationError("Days are a whole number.")
    return int(post_days)


class StoreDisconnectView(WorkspaceViewMixin, TemplateView):
    """`stores/<pk>/disconnect/`: says first what disconnecting does to the store's orders and
    journeys; its POST disconnects (owner)."""

    template_name = "commerce/store_disconnect.html"
    write_role = Role.OWNER

    def _store(self) -> StoreConnection:
        try:
            return selectors.store_get(workspace=self.workspace, store_id=self.kwargs["pk"])
        except StoreConnection.DoesNotExist as exc:
            raise Http404("No such store in this workspace.") from exc

    def get_context_data(self, **kwargs):
        store = self._store()
        return super().get_context_data(
            store=store, orders=store.orders.count(),
            can_manage=workspace_owner(self.request, self.workspace), **kwargs,
        )  # fmt: skip

    def post(self, request, *args, **kwargs):
        store = self._store()
        label = str(store)
        counts = stores.store_disconnect(store=store)
        messages.success(request, f"{label} disconnected: {counts['orders']} orders removed from "
                         "the figures; clicks and posts stay.")  # fmt: skip
        return redirect("commerce:store-list")
