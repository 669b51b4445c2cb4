"""The one mechanism that hands every page and API view its workspace.

A request's workspace comes from the API key it authenticated with, or else from the session
user's memberships (the one chosen with the switcher, else their first). Views start every queryset
from it, so another workspace's object is simply not found: 404, never 403 and never its data.
"""

from dataclasses import dataclass
from datetime import UTC
from functools import cached_property

import django_filters
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import authentication, exceptions, permissions

from omnisocial.models import ApiKey, Membership, Workspace
from omnisocial.params import IdChoiceFilter

SESSION_KEY = "workspace_id"


@dataclass(frozen=True)
class ApiClient:
    """The `request.user` of a request authenticated with a workspace API key."""

    key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def pk(self) -> str:
        return f"apikey:{self.key.pk}"

    def __str__(self) -> str:
        return str(self.key)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer osk_<prefix>_<secret>`: a workspace key, looked up by its hash."""

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2 or not header[1].startswith("osk_"):
            raise exceptions.AuthenticationFailed("Malformed API key: expected 'Bearer osk_…'.")
        key = (
            ApiKey.objects.select_related("workspace")
            .filter(key_hash=ApiKey.hash_secret(header[1]), revoked_at__isnull=True)
            .first()
        )
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiClient(key=key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def memberships_of(user) -> list[Membership]:
    """The user's memberships, read once per request (kept on the user object)."""
    if not getattr(user, "is_authenticated", False) or isinstance(user, ApiClient):
        return []
    cached = getattr(user, "_omnisocial_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("workspace"))
        user._omnisocial_memberships = cached
    return cached


def workspace_for(request: HttpRequest) -> Workspace | None:
    """The request's workspace, or None when it has none. Cached on the request."""
    cached = getattr(request, "_omnisocial_workspace", False)
    if cached is not False:
        return cached
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        workspace = auth.workspace
    else:
        memberships = memberships_of(request.user)
        chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        workspace = next((m.workspace for m in memberships if m.workspace_id == chosen), None)
        if workspace is None and memberships:
            workspace = memberships[0].workspace
    request._omnisocial_workspace = workspace
    return workspace


# --- roles ---------------------------------------------------------------------------------------

Role = Membership.Role
RANK = {Role.VIEWER: 0, Role.ANALYST: 1, Role.OWNER: 2}
# What an API key acts as: a read key as a viewer, a write key as an analyst; never an owner, so
# a leaked key cannot mint keys, take over stores or change settings.
KEY_ROLE = {ApiKey.Scope.READ: Role.VIEWER, ApiKey.Scope.WRITE: Role.ANALYST}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def role_of(request: HttpRequest, workspace: Workspace | None) -> str | None:
    """The request's role in the workspace: its membership's, or its API key's scope's."""
    if workspace is None:
        return None
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        return KEY_ROLE.get(auth.scope, Role.VIEWER) if auth.workspace_id == workspace.pk else None
    for membership in memberships_of(getattr(request, "user", None)):
        if membership.workspace_id == workspace.pk:
            return membership.role
    return None


def may(request: HttpRequest, workspace: Workspace | None, needed: str) -> bool:
    role = role_of(request, workspace)
    return role is not None and RANK.get(role, -1) >= RANK[needed]


def role_needed(view, method: str) -> str:
    """A view's reads need a viewer; its writes `write_role` (an analyst unless it says
    otherwise)."""
    if method.upper() in SAFE_METHODS:
        return Role.VIEWER
    return getattr(view, "write_role", Role.ANALYST)


def workspace_owner(request: HttpRequest, workspace: Workspace) -> bool:
    """Whether the request may do what only an owner does (stores, keys, settings)."""
    return may(request, workspace, Role.OWNER)


class RolePermission(permissions.BasePermission):
    """For every API view: the request's role must reach what the method needs (a 403 with the
    reason otherwise)."""

    def has_permission(self, request, view) -> bool:
        needed = role_needed(view, request.method)
        if may(request, workspace_for(request), needed):
            return True
        self.message = (
            "A read-only API key cannot change anything."
            if isinstance(request.auth, ApiKey) and needed != Role.OWNER
            else f"This needs the {Role(needed).label.lower()} role in the workspace"
            + (" (signed in: no API key manages keys, stores or settings)."
               if needed == Role.OWNER else ".")
        )  # fmt: skip
        return False


def workspace_context(request: HttpRequest) -> dict:
    """Template context: the current workspace and the ones the switcher offers."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    memberships = memberships_of(request.user)
    return {
        "workspace": workspace_for(request),
        "workspaces": [m.workspace for m in memberships],
        "nav_items": _nav_items(),
    }


# The navigation, in order; an entry shows once its page exists.
NAVIGATION = [
    ("Analytics › Revenue", "analytics:revenue"),
    ("Posts", "post-list"),
    ("Orders", "analytics:orders"),
    ("Stores", "commerce:store-list"),
    ("Tracking", "attribution:tracking"),
    ("KPIs", "analytics:kpi-list"),
    ("Settings", "workspace-settings"),
]


def _nav_items() -> list[tuple[str, str]]:
    items = []
    for label, name in NAVIGATION:
        try:
            items.append((label, reverse(name)))
        except NoReverseMatch:
            continue
    return items


class WorkspaceViewMixin(LoginRequiredMixin):
    """For pages: login required, `self.workspace` set, querysets start from it; a write (POST)
    needs the view's `write_role` (an analyst unless it says otherwise)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            workspace = workspace_for(request)
            if workspace is None:
                raise PermissionDenied("Your account is not a member of any workspace yet.")
            needed = role_needed(self, request.method)
            if not may(request, workspace, needed):
                raise PermissionDenied(
                    f"This needs the {Role(needed).label.lower()} role in the workspace."
                )
        return super().dispatch(request, *args, **kwargs)

    @cached_property
    def workspace(self) -> Workspace:
        return workspace_for(self.request)


class WorkspaceAPIMixin:
    """For DRF views: `self.workspace` from the API key or the session user's membership; every
    request's role is checked against what its method needs (`RolePermission`)."""

    permission_classes = [permissions.IsAuthenticated, RolePermission]

    def dispatch(self, request, *args, **kwargs):
        # Instants leave the API in UTC, however the request authenticated (pages show the
        # workspace's zone; a session's API call must not answer in it).
        with timezone.override(UTC):
            return super().dispatch(request, *args, **kwargs)

    @cached_property
    def workspace(self) -> Workspace:
        workspace = workspace_for(self.request)
        if workspace is None:
            raise exceptions.PermissionDenied("This account is not a member of any workspace.")
        return workspace


# --- filters -------------------------------------------------------------------------------------


def scoped_choices(model):
    """A queryset callable for a choice filter (`ModelChoiceFilter(queryset=...)`): the request's
    workspace's objects only. Another workspace's id is then refused as an unknown choice, the
    very answer a non-existent id gets (400), so a filter never tells which ids exist elsewhere.
    """
    try:
        model._meta.get_field("workspace")
    except FieldDoesNotExist as exc:
        raise ImproperlyConfigured(
            f"{model.__name__} has no workspace: declare the filter's choices explicitly."
        ) from exc

    def queryset(request):
        workspace = workspace_for(request) if request is not None else None
        if workspace is None:
            return model.objects.none()
        return model.objects.filter(workspace=workspace)

    return queryset


class WorkspaceFilterSet(django_filters.FilterSet):
    """A FilterSet whose generated choice filters (a foreign key named in `Meta.fields`) offer
    the request's workspace's objects only. Declared `ModelChoiceFilter`s pass
    `queryset=scoped_choices(Model)` themselves."""

    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        filter_class, params = super().filter_for_lookup(field, lookup_type)
        if filter_class is django_filters.ModelChoiceFilter:
            filter_class = IdChoiceFilter  # ids read by omnisocial.params, as everywhere
        if "queryset" in params:
            # The relation's own choice limits (limit_choices_to), within the workspace.
            scoped, limits = scoped_choices(field.related_model), params["queryset"]
            params = {**params, "queryset": lambda request: scoped(request) & limits}
        return filter_class, params


class WorkspaceFilterBackend(DjangoFilterBackend):
    """DRF's filter backend (REST_FRAMEWORK["DEFAULT_FILTER_BACKENDS"]): the FilterSet it builds
    for a view's `filterset_fields` is a WorkspaceFilterSet."""

    filterset_base = WorkspaceFilterSet
