"""Settings › Connections: Meta and TikTok connected in the browser (owners connect, pick the
accounts to sync and disconnect; analysts and viewers see), the OAuth callbacks, and each
connection's recent syncs with every problem they met (omnisocial.connections)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.decorators.csp import csp_override
from django.views.generic import TemplateView

from omnisocial import connections
from omnisocial.models import ConnectionPlatform, PlatformAccount, PlatformSync
from omnisocial.params import id_param
from omnisocial.platforms import PlatformError, meta, tiktok
from omnisocial.tenancy import Role, WorkspaceViewMixin, workspace_owner

SYNCS_SHOWN = 5


def redirect_uri(request, platform: str) -> str:
    """The OAuth redirect URL to enter in the platform app's settings (PUBLIC_BASE_URL's origin
    when set, else this request's)."""
    path = reverse(f"platform-callback-{platform}")
    return (settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")) + path


def _configured(platform: str) -> bool:
    if platform == ConnectionPlatform.META:
        return bool(settings.META_APP_ID and settings.META_APP_SECRET)
    return bool(settings.TIKTOK_APP_ID and settings.TIKTOK_APP_SECRET)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class ConnectionsView(WorkspaceViewMixin, TemplateView):
    template_name = "omnisocial/connections.html"
    write_role = Role.OWNER

    def dispatch(self, request, *args, **kwargs):
        """The Connect buttons post here and are redirected to the platform's Login dialog: a
        browser holds a form's redirect to the page's `form-action`, so this page's policy
        names the dialogs' origins beside its own (read from the settings on each request)."""
        dialogs = [_origin(settings.META_OAUTH_DIALOG_URL), _origin(settings.TIKTOK_AUTH_URL)]
        allowed = [*settings.SECURE_CSP.get("form-action", []), *dialogs]
        policy = {**settings.SECURE_CSP, "form-action": allowed}
        return csp_override(policy)(super().dispatch)(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        held = {c.platform: c for c in self.workspace.platform_connections.all()}
        platforms = []
        for platform in ConnectionPlatform:
            connection = held.get(platform.value)
            syncs = []
            if connection is not None:
                syncs = list(
                    connection.syncs.prefetch_related("issues__account")[:SYNCS_SHOWN]
                )  # fmt: skip
            platforms.append({
                "platform": platform,
                "configured": _configured(platform.value),
                "env": "META" if platform == ConnectionPlatform.META else "TIKTOK",
                "connection": connection,
                "accounts": list(connection.accounts.all()) if connection else [],
                "syncs": syncs,
                "redirect_uri": redirect_uri(self.request, platform.value),
            })  # fmt: skip
        return super().get_context_data(
            platforms=platforms,
            can_manage=workspace_owner(self.request, self.workspace),
            backfill_days=settings.PLATFORM_BACKFILL_DAYS,
            **kwargs,
        )

    def post(self, request):
        platform = request.POST.get("connect")
        if platform:
            if platform not in ConnectionPlatform.values:
                raise Http404("No such platform.")
            if not _configured(platform):
                messages.error(request, "Set the app's id and secret in the environment first.")
                return redirect("platform-connections")
            state, challenge = connections.oauth_begin(
                session=request.session, workspace=self.workspace, platform=platform
            )
            uri = redirect_uri(request, platform)
            if platform == ConnectionPlatform.META:
                url, query = meta.dialog_url(
                    state=state, redirect_uri=uri, code_challenge=challenge
                )
            else:
                url, query = tiktok.auth_url(state=state, redirect_uri=uri)
            return redirect(f"{url}?{urlencode(query)}")
        try:
            connection_id = id_param(request.POST, "connection")
        except ValidationError:
            connection_id = None
        connection = (
            self.workspace.platform_connections.filter(pk=connection_id).first()
            if connection_id
            else None
        )
        if connection is None:
            raise Http404("No such connection in this workspace.")
        action = request.POST.get("action")
        try:
            if action == "select":
                ids = {int(v) for v in request.POST.getlist("account") if v.isdigit()}
                sync = connections.accounts_select(connection=connection, account_ids=ids)
                messages.success(request, "Saved the accounts to sync." + (
                    f" Reading the last {settings.PLATFORM_BACKFILL_DAYS} days now."
                    if sync else ""))  # fmt: skip
            elif action in ("sync", "backfill"):
                days = request.POST.get("days", "").strip()
                kind = (
                    PlatformSync.Kind.BACKFILL if action == "backfill" else PlatformSync.Kind.DAILY
                )
                connections.sync_request(
                    connection=connection, kind=kind, days=int(days) if days.isdigit() else None
                )
                messages.success(request, "Sync queued: its result shows below when it ends.")
            elif action == "disconnect":
                connections.connection_disconnect(connection=connection)
                messages.success(request, "Disconnected: its figures already synced stay.")
            else:
                raise Http404("No such action.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("platform-connections")


class PlatformCallbackView(WorkspaceViewMixin, View):
    """Where the platform sends the person back: the state is checked (and used up) before
    anything else, then the code is exchanged and the accounts it grants are listed."""

    def get(self, request, platform: str):
        if platform not in ConnectionPlatform.values:
            raise Http404("No such platform.")
        if not workspace_owner(request, self.workspace):
            raise PermissionDenied("Only the workspace's owners connect platforms.")
        try:
            verifier = connections.oauth_finish(
                session=request.session, workspace=self.workspace, platform=platform,
                state=request.GET.get("state", ""),
            )  # fmt: skip
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("platform-connections")
        if request.GET.get("error") or request.GET.get("error_reason"):
            reason = request.GET.get("error_description") or request.GET.get("error_reason")
            messages.error(request, f"The platform did not connect: {reason or 'refused'}.")
            return redirect("platform-connections")
        try:
            if platform == ConnectionPlatform.META:
                saved = _meta_connect(request, self.workspace, verifier)
            else:
                saved = _tiktok_connect(request, self.workspace)
        except PlatformError as exc:
            messages.error(request, f"Not connected: {exc}")
            return redirect("platform-connections")
        messages.success(
            request,
            f"Connected {saved.get_platform_display()}: pick the accounts to sync below.",
        )
        return redirect("platform-connections")


def _meta_connect(request, workspace, verifier: str):
    code = request.GET.get("code", "")
    if not code:
        raise PlatformError("Meta sent no code back.")
    token = meta.code_exchange(
        code=code, redirect_uri=redirect_uri(request, "meta"), code_verifier=verifier
    )
    graph = meta.Graph(token["access_token"])
    person = graph.me()
    found = []
    for page in graph.pages():
        found.append(
            {"kind": PlatformAccount.Kind.PAGE, "external_id": page["id"],
             "name": page.get("name"), "page_token": page.get("access_token")}
        )  # fmt: skip
        instagram = page.get("instagram_business_account") or {}
        if instagram.get("id"):
            found.append({"kind": PlatformAccount.Kind.INSTAGRAM, "external_id": instagram["id"],
                          "name": "@" + str(instagram.get("username") or instagram.get("name")
                                            or instagram["id"])})  # fmt: skip
    for account in graph.ad_accounts():
        account_id = str(
            account.get("account_id") or str(account.get("id", "")).removeprefix("act_")
        )
        found.append(
            {"kind": PlatformAccount.Kind.AD_ACCOUNT, "external_id": account_id,
             "name": account.get("name"), "currency": account.get("currency")}
        )  # fmt: skip
    expires_in = token.get("expires_in")
    return connections.connection_save(
        workspace=workspace, platform="meta", token=token["access_token"],
        expires_in=int(expires_in) if str(expires_in or "").isdigit() else None,
        user=request.user, external_user=str(person.get("name") or person.get("id") or ""),
        accounts=found,
    )  # fmt: skip


def _tiktok_connect(request, workspace):
    code = request.GET.get("auth_code") or request.GET.get("code") or ""
    if not code:
        raise PlatformError("TikTok sent no authorisation code back.")
    data = tiktok.code_exchange(auth_code=code)
    advertisers = tiktok.Business(data["access_token"]).advertisers()
    found = [
        {"kind": PlatformAccount.Kind.ADVERTISER, "external_id": str(a["advertiser_id"]),
         "name": a.get("advertiser_name") or a.get("name"), "currency": a.get("currency")}
        for a in advertisers
    ]  # fmt: skip
    return connections.connection_save(
        workspace=workspace, platform="tiktok", token=data["access_token"],
        expires_in=None, user=request.user, external_user="", accounts=found,
    )  # fmt: skip
