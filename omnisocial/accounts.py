"""Pages about people and access: the first run, open sign-up, accepting an invitation, password
reset (Django's own views), the workspace's members and its API keys.

Writes go through omnisocial/team.py and omnisocial/services.py. The members and API keys pages
start every query from the request's workspace (another workspace's member, invitation or key
is a 404) and only its owners change anything (`write_role`, as every page).
"""

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views import View
from django.views.generic import FormView, TemplateView

from omnisocial import ratelimit, services, team
from omnisocial.models import ApiKey, Membership, validate_currency
from omnisocial.params import id_param
from omnisocial.tenancy import SESSION_KEY, Role, WorkspaceViewMixin, workspace_owner


def origin(request) -> str:
    """The app's public origin for links sent out: PUBLIC_BASE_URL, else this request's."""
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class CurrencyField(forms.CharField):
    """A three-letter ISO 4217 code, upper-cased."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Three letters, e.g. USD, EUR, GBP.")
        super().__init__(max_length=3, min_length=3, **kwargs)
        self.widget.attrs.update(autocapitalize="characters", spellcheck="false", size="4")

    def clean(self, value):
        value = super().clean(value).strip().upper()
        validate_currency(value)
        return value


def _errors_onto(form: forms.Form, exc: ValidationError, aliases: dict[str, str] | None = None):
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        name = (aliases or {}).get(field, field)
        form.add_error(name if name in form.fields else None, errors)


def _enter(request, user, workspace_id: int) -> None:
    """Signs `user` in with `workspace_id` as the workspace the pages show."""
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_KEY] = workspace_id


# --- first run and open sign-up ------------------------------------------------------------------


class OwnerSignupForm(SetPasswordMixin, forms.Form):
    """An owner and their first workspace. The password passes AUTH_PASSWORD_VALIDATORS."""

    email = forms.EmailField(
        max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password1, password2 = SetPasswordMixin.create_password_fields(
        label1="Password", label2="Password again"
    )
    workspace_name = forms.CharField(
        label="Workspace name", max_length=120,
        help_text="Your brand or shop: one workspace holds its posts, stores and reports.",
    )  # fmt: skip
    reporting_currency = CurrencyField(
        label="Reporting currency", initial="USD",
        help_text="Revenue from every store is converted into it. Three letters, e.g. EUR. "
        "It is fixed once the first order arrives.",
    )  # fmt: skip
    time_zone = forms.ChoiceField(
        label="Time zone", initial="UTC", choices=time_zone_choices,
        help_text="Days, weeks and KPI periods are cut in it.",
    )  # fmt: skip

    def fieldsets(self) -> list[tuple[str, list]]:
        return [
            ("Your account", [self[name] for name in ("email", "password1", "password2")]),
            ("Your workspace", [self[name] for name in
                                ("workspace_name", "reporting_currency", "time_zone")]),
        ]  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        self.validate_passwords()
        email = (cleaned.get("email") or "").strip().lower()
        model = get_user_model()
        self.validate_password_for_user(model(username=email, email=email))
        return cleaned


class WelcomeView(FormView):
    """The first run: on an install without any account, the first visit (any page leads to the
    login form, which shows this one) creates the owner and the first workspace, then signs the
    owner in. Once an account exists it leads to the login form."""

    template_name = "registration/welcome.html"
    form_class = OwnerSignupForm
    first_run = True

    def closed(self):
        """The answer while this page is not open, else None."""
        if not team.first_run_pending():
            return redirect("home")
        return None

    def dispatch(self, request, *args, **kwargs):
        return self.closed() or super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(first_run=self.first_run, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            workspace = team.owner_signup(
                email=data["email"], password=data["password1"],
                workspace_name=data["workspace_name"],
                reporting_currency=data["reporting_currency"], time_zone=data["time_zone"],
                first_run=self.first_run,
            )  # fmt: skip
        except ValidationError as exc:
            _errors_onto(form, exc, {"name": "workspace_name", "__all__": "__all__"})
            return self.form_invalid(form)
        _enter(self.request, team.account_of(data["email"]), workspace.pk)
        messages.success(
            self.request,
            f"Welcome to {workspace.name}. Next: connect a store, then invite your team from "
            "Settings › Members.",
        )
        return redirect("analytics:revenue")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class SignupView(WelcomeView):
    """Open sign-up (OPEN_SIGNUP=true): anyone creates an account with a workspace of their own.
    Closed (the default), people join by invitation and this page sends them to the login form."""

    first_run = False

    def closed(self):
        if team.first_run_pending():
            return redirect("welcome")
        if self.request.user.is_authenticated:
            return redirect("home")
        if not settings.OPEN_SIGNUP:
            messages.info(
                self.request,
                "Sign-up is closed: ask an owner of your workspace for an invitation.",
            )
            return redirect("login")
        return None


# --- invitations ---------------------------------------------------------------------------------


class InvitationPasswordForm(SetPasswordMixin, forms.Form):
    password1, password2 = SetPasswordMixin.create_password_fields(
        label1="Choose a password", label2="Password again"
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        self.validate_passwords()
        self.validate_password_for_user(get_user_model()(username=self.email, email=self.email))
        return cleaned


class InvitationView(View):
    """/invitations/<token>/: the invited person joins the workspace. Without an account they
    choose a password here; with one they log in first (the link never sets the password of an
    account that has one), then join. Unknown links answer 404, used or expired ones 410."""

    template_name = "registration/invitation.html"

    def dispatch(self, request, *args, **kwargs):
        self.invitation = team.invitation_for_token(kwargs["token"])
        return super().dispatch(request, *args, **kwargs)

    def render(self, status=200, **context):
        invitation = self.invitation
        user = self.request.user
        context.setdefault("invitation", invitation)
        if invitation is not None:
            context.setdefault("account_exists", team.account_of(invitation.email) is not None)
            context.setdefault(
                "signed_in_as_invited",
                user.is_authenticated and user.get_username() == invitation.email,
            )
        response = render(self.request, self.template_name, context, status=status)
        add_never_cache_headers(response)  # the page answers for a secret link
        return response

    def refused(self):
        if self.invitation is None:
            return self.render(status=404, refusal="This invitation link is not valid: check "
                               "that it was copied whole, or ask for a new one.")  # fmt: skip
        refusal = team.invitation_refusal(self.invitation)
        return self.render(status=410, refusal=refusal) if refusal else None

    def get(self, request, token: str):
        refused = self.refused()
        if refused:
            return refused
        return self.render(form=InvitationPasswordForm(email=self.invitation.email))

    def post(self, request, token: str):
        refused = self.refused()
        if refused:
            return refused
        invitation = self.invitation
        form = None
        try:
            if request.user.is_authenticated:
                user = team.invitation_accept(invitation=invitation, user=request.user)
            else:
                form = InvitationPasswordForm(request.POST, email=invitation.email)
                if not form.is_valid():
                    return self.render(status=400, form=form)
                user = team.invitation_accept(
                    invitation=invitation, password=form.cleaned_data["password1"]
                )
        except ValidationError as exc:
            return self.render(status=400, form=form, error=" ".join(exc.messages))
        _enter(request, user, invitation.workspace_id)
        messages.success(
            request,
            f"You joined {invitation.workspace.name} as {invitation.get_role_display().lower()}.",
        )
        return redirect("analytics:revenue")


# --- password reset ------------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, with the link at the app's public origin and a limit on the
    emails asked for per address (PASSWORD_RESET_RATE): the form answers the same whether the
    address has an account or not, so the limit applies to every address."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        address = form.cleaned_data["email"].strip().lower()[:254]
        wait = ratelimit.hit("password-reset", address, settings.PASSWORD_RESET_RATE)
        if wait:
            form.add_error(
                None,
                f"Too many reset emails asked for this address. Try again in {wait // 60 + 1} "
                "minutes.",
            )
            response = self.form_invalid(form)
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        self.extra_email_context = {"origin": origin(self.request)}
        return super().form_valid(form)


# --- members -------------------------------------------------------------------------------------


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=150)
    role = forms.ChoiceField(
        choices=[(Role.VIEWER, "Viewer"), (Role.ANALYST, "Analyst"), (Role.OWNER, "Owner")],
        initial=Role.ANALYST,
        help_text="Viewers read everything; analysts also edit posts, links, coupons and KPIs; "
        "owners also manage stores, members, keys and settings.",
    )


class TeamView(WorkspaceViewMixin, TemplateView):
    """Settings › Members: the members with their roles and the open invitations; its owners
    invite by email (a link that works once, for INVITATION_DAYS days), change roles and remove
    members. A workspace always keeps an owner."""

    template_name = "omnisocial/team.html"
    write_role = Role.OWNER

    def get_context_data(self, **kwargs):
        ws = self.workspace
        can_manage = workspace_owner(self.request, ws)
        now = timezone.now()
        invitations = []
        if can_manage:
            invitations = [
                i for i in ws.invitations.filter(accepted_at=None, revoked_at=None)
                .select_related("invited_by").order_by("email")
                if i.state(now) in ("pending", "expired")
            ]  # fmt: skip
        members = list(ws.memberships.select_related("user").order_by("user__username"))
        owners = [m.pk for m in members if m.role == Role.OWNER]
        return super().get_context_data(
            members=members,
            # The last owner cannot be removed: no button to press for nothing.
            last_owner=owners[0] if len(owners) == 1 else None,
            invitations=invitations,
            now=now,
            can_manage=can_manage,
            roles=Role.choices,
            form=kwargs.pop("form", None) or InviteForm(),
            console_email=settings.MAILERS["default"]["BACKEND"].endswith(".console.EmailBackend"),
            invitation_days=settings.INVITATION_DAYS,
            **kwargs,
        )

    def post(self, request):
        action = request.POST.get("action")
        handler = {
            "invite": self.invite, "role": self.role, "remove": self.remove, "revoke": self.revoke,
        }.get(action)  # fmt: skip
        if handler is None:
            return HttpResponseBadRequest(
                "`action` must be invite, role, remove or revoke.",
                content_type="text/plain; charset=utf-8",
            )
        return handler(request)

    def _membership(self, request) -> Membership:
        try:
            member_id = id_param(request.POST, "member")
        except ValidationError:
            member_id = None
        membership = (
            self.workspace.memberships.select_related("user", "workspace")
            .filter(pk=member_id)
            .first()
            if member_id
            else None
        )
        if membership is None:
            raise Http404("No such member in this workspace.")
        return membership

    def invite(self, request):
        form = InviteForm(request.POST)
        wait = form.is_valid() and ratelimit.hit(
            "invitation", str(self.workspace.pk), settings.INVITATION_RATE
        )
        if wait:
            form.add_error(None, f"Too many invitations sent from this workspace. Try again in "
                           f"{wait // 60 + 1} minutes.")  # fmt: skip
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code, response["Retry-After"] = 429, str(wait)
            return response
        if form.is_valid():
            try:
                sent = team.invitation_create(
                    workspace=self.workspace, email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"], invited_by=request.user,
                    link_for=lambda token: origin(request)
                    + reverse("invitation-accept", args=[token]),
                )  # fmt: skip
            except ValidationError as exc:
                _errors_onto(form, exc)
            else:
                response = self.render_to_response(self.get_context_data(sent=sent))
                add_never_cache_headers(response)  # the link is shown this once
                return response
        response = self.render_to_response(self.get_context_data(form=form))
        response.status_code = 400
        return response

    def role(self, request):
        membership = self._membership(request)
        try:
            team.membership_role_change(membership=membership, role=request.POST.get("role", ""))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"{membership.user.email} is now {Role(request.POST['role']).label.lower()}.",
            )
        return redirect("team")

    def remove(self, request):
        membership = self._membership(request)
        try:
            team.membership_remove(membership=membership)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("team")
        if membership.user_id == request.user.pk:
            messages.success(request, f"You left {self.workspace.name}.")
            request.session.pop(SESSION_KEY, None)
            return redirect("home")
        messages.success(request, f"Removed {membership.user.email} from {self.workspace.name}.")
        return redirect("team")

    def revoke(self, request):
        try:
            invitation_id = id_param(request.POST, "invitation")
        except ValidationError:
            invitation_id = None
        invitation = (
            self.workspace.invitations.filter(pk=invitation_id).first() if invitation_id else None
        )
        if invitation is None:
            raise Http404("No such invitation in this workspace.")
        team.invitation_revoke(invitation=invitation)
        messages.success(request, f"Withdrew the invitation of {invitation.email}.")
        return redirect("team")


# --- API keys ------------------------------------------------------------------------------------


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=80, help_text="What uses it, e.g. “Reporting script”, to tell keys apart."
    )
    scope = forms.ChoiceField(
        choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ,
        help_text="Read only: GET requests. Read and write: what an analyst may do. No key "
        "manages keys, stores, members or settings.",
    )  # fmt: skip


class ApiKeysView(WorkspaceViewMixin, TemplateView):
    """Settings › API keys: the workspace's keys; its owners mint one (the secret is shown on
    that answer only, never stored: only its hash is) and revoke them. No key is an owner."""

    template_name = "omnisocial/api_keys.html"
    write_role = Role.OWNER

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            keys=self.workspace.api_keys.select_related("created_by").order_by("-created_at"),
            can_manage=workspace_owner(self.request, self.workspace),
            form=kwargs.pop("form", None) or ApiKeyForm(),
            **kwargs,
        )

    def post(self, request):
        if "revoke" in request.POST:
            try:
                key_id = id_param(request.POST, "revoke")
            except ValidationError:
                key_id = None
            key = self.workspace.api_keys.filter(pk=key_id).first() if key_id else None
            if key is None:
                raise Http404("No such API key in this workspace.")
            services.api_key_revoke(key=key)
            messages.success(request, f"Revoked {key}: requests with it now answer 401.")
            return redirect("api-key-list")
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 400
            return response
        key, raw_key = services.api_key_create(
            workspace=self.workspace, name=form.cleaned_data["name"], created_by=request.user,
            scope=form.cleaned_data["scope"],
        )  # fmt: skip
        response = self.render_to_response(
            self.get_context_data(new_key=key, raw_key=raw_key, form=ApiKeyForm())
        )
        add_never_cache_headers(response)  # the key is shown this once
        return response
