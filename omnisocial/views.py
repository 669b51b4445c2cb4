"""Pages of the shared core: home, campaigns, settings, the workspace switcher. The post pages
show their tracked links, so they live with the links in attribution/post_pages.py."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django.views.generic import FormView

from omnisocial import accounts, ratelimit, services, team
from omnisocial.models import Membership, Workspace, all_attribution_models
from omnisocial.params import id_param, is_id
from omnisocial.tenancy import SESSION_KEY, Role, WorkspaceViewMixin, workspace_owner


class EmailAuthenticationForm(AuthenticationForm):
    """The login form in the product's words: accounts are their email addresses."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Please enter a correct email and password. Both are case-sensitive.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"


class LoginView(auth_views.LoginView):
    """Login with a throttle on failures: after LOGIN_FAILURE_RATE failed attempts for one
    username from one address, that pair answers 429 until the window ends (a correct
    password included), while the account stays usable from elsewhere. The counters are in the
    shared cache (CACHE_URL), so the limit holds across web processes."""

    template_name = "registration/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def _ident(self) -> str:
        username = (self.request.POST.get("username") or "").strip().lower()[:254]
        return f"{username}|{self.request.META.get('REMOTE_ADDR', '')}"

    def post(self, request, *args, **kwargs):
        # Every attempt takes a place before the password is checked, and a success gives the
        # places back (form_valid): concurrent attempts served by several workers can then never
        # all pass a "fewer than the limit so far?" test before any failure is counted.
        wait = ratelimit.hit("login", self._ident(), settings.LOGIN_FAILURE_RATE)
        if wait:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, f"Too many failed attempts. Try again in {wait} seconds.")
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        ratelimit.reset("login", self._ident(), settings.LOGIN_FAILURE_RATE)
        return super().form_valid(form)

    def get(self, request, *args, **kwargs):
        # An install without any account: the first visit creates the owner instead.
        if team.first_run_pending():
            return accounts.WelcomeView.as_view()(request)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(open_signup=settings.OPEN_SIGNUP, **kwargs)


def home(request):
    """The login form for visitors; Analytics › Revenue for signed-in users."""
    if not request.user.is_authenticated:
        return LoginView.as_view()(request)
    return redirect("analytics:revenue")


@login_required
@require_POST
def workspace_switch(request):
    """Switches to `workspace` (an id), one of the user's workspaces: 400 for a value that is
    not an id, 404 for one the user is not a member of."""
    try:
        workspace_id = id_param(request.POST, "workspace")
    except ValidationError:
        workspace_id = None
    if workspace_id is None:
        return HttpResponseBadRequest(
            "Choose a workspace: `workspace` must be a workspace id (a whole number).",
            content_type="text/plain; charset=utf-8",
        )
    membership = Membership.objects.filter(user=request.user, workspace_id=workspace_id).first()
    if membership is None:  # another's workspace answers like one that does not exist
        raise Http404("No such workspace.")
    request.session[SESSION_KEY] = membership.workspace_id
    next_url = request.POST.get("next") or "/"
    return redirect(next_url if next_url.startswith("/") and not next_url.startswith("//") else "/")


class WorkspaceSettingsForm(forms.Form):
    revenue_basis = forms.ChoiceField(
        label="Revenue basis", choices=Workspace.RevenueBasis.choices,
        help_text="Order total, or merchandise: the total less tax and shipping (refunds take off "
        "their items net of tax).",
    )  # fmt: skip
    lookback_days = forms.IntegerField(
        label="Lookback window (days)", min_value=1, max_value=365,
        help_text="How long before an order a click still counts as a touch.",
    )  # fmt: skip
    attribution_models = forms.MultipleChoiceField(
        label="Models computed", widget=forms.CheckboxSelectMultiple,
        choices=[(m, m) for m in all_attribution_models()],
    )  # fmt: skip
    default_attribution_model = forms.ChoiceField(
        label="Default model", choices=[(m, m) for m in all_attribution_models()]
    )


class WorkspaceProfileForm(forms.Form):
    """The workspace itself: its name, reporting currency and time zone."""

    name = forms.CharField(label="Workspace name", max_length=120)
    reporting_currency = accounts.CurrencyField(
        label="Reporting currency",
        help_text="Revenue is converted into it. It is fixed once the first order arrives.",
    )
    time_zone = forms.ChoiceField(
        label="Time zone", choices=accounts.time_zone_choices,
        help_text="Days, weeks and KPI periods are cut in it; a change rebuilds every figure.",
    )  # fmt: skip


class WorkspaceSettingsView(WorkspaceViewMixin, FormView):
    """The workspace's attribution settings; its owner changes them, everyone else reads them.
    A change of basis, lookback or models re-attributes every order (queued)."""

    template_name = "omnisocial/settings.html"
    form_class = WorkspaceSettingsForm
    write_role = Role.OWNER

    def get_initial(self):
        ws = self.workspace
        return {name: getattr(ws, name) for name in WorkspaceSettingsForm.base_fields}

    def get_context_data(self, **kwargs):
        kwargs.setdefault("profile_form", WorkspaceProfileForm(
            initial={name: getattr(self.workspace, name) for name in services.PROFILE_FIELDS}
        ))  # fmt: skip
        return super().get_context_data(can_edit=workspace_owner(self.request, self.workspace),
                                        **kwargs)  # fmt: skip

    def post(self, request, *args, **kwargs):
        if request.POST.get("form") == "workspace":
            return self.profile_post(request)
        return super().post(request, *args, **kwargs)

    def profile_post(self, request):
        """The Workspace form: name, reporting currency and time zone, and nothing else (each
        form saves only the fields it shows)."""
        form = WorkspaceProfileForm(request.POST)
        if form.is_valid():
            try:
                changed = services.workspace_profile_update(
                    workspace=self.workspace, **form.cleaned_data
                )
            except ValidationError as exc:
                errors_onto(form, exc, {})
            else:
                if "time_zone" in changed:
                    messages.success(request, "Saved. Every figure is being rebuilt in the new "
                                     "time zone; the pages update when it finishes.")  # fmt: skip
                else:
                    messages.success(request, "Saved." if changed else "Nothing changed.")
                return redirect("workspace-settings")
        response = self.render_to_response(self.get_context_data(profile_form=form))
        response.status_code = 400
        return response

    def form_valid(self, form):
        try:
            changed = services.workspace_settings_update(
                workspace=self.workspace, **form.cleaned_data
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            response = self.form_invalid(form)
            response.status_code = 400
            return response
        if set(changed) & set(services.RECALCULATING_SETTINGS):
            messages.success(self.request, "Saved. Every order is being re-attributed under the "
                             "new settings; the figures update when it finishes.")  # fmt: skip
        else:
            messages.success(self.request, "Saved." if changed else "Nothing changed.")
        return redirect("workspace-settings")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


# --- set-up pages: campaigns, without the API (posts: attribution/post_pages.py) -----------------


def errors_onto(form: forms.Form, exc: ValidationError, aliases: dict[str, str]) -> None:
    """A service's ValidationError onto the form's fields (`aliases` maps the API's field names
    the service speaks, e.g. externalId, to the form's); the rest as a form-wide error."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        name = aliases.get(field, field)
        form.add_error(name if name in form.fields else None, errors)


def render_invalid(view, form):
    """The form again with its errors, answered 400."""
    response = view.render_to_response(view.get_context_data(form=form))
    response.status_code = 400
    return response


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.CharField(
        label="Slug (utm_campaign)", max_length=100, required=False,
        help_text="Left blank, it is made from the name.",
    )  # fmt: skip


class CampaignListView(WorkspaceViewMixin, FormView):
    """The workspace's campaigns with their posts, a form to create one, and deletion (the
    posts stay, without campaign; through `services.campaign_delete`, as the API)."""

    template_name = "omnisocial/campaign_list.html"
    form_class = CampaignForm

    def get_context_data(self, **kwargs):
        campaigns = self.workspace.campaigns.annotate(post_count=Count("posts")).order_by("name")
        return super().get_context_data(campaigns=campaigns, **kwargs)

    def post(self, request, *args, **kwargs):
        if "delete" in request.POST:
            raw = request.POST["delete"]
            campaign = self.workspace.campaigns.filter(pk=int(raw)).first() if is_id(raw) else None
            if campaign is None:
                raise Http404("No such campaign in this workspace.")
            services.campaign_delete(campaign=campaign)
            messages.success(request, f"Deleted {campaign.name}; its posts have no campaign now.")
            return redirect("campaign-list")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            campaign = services.campaign_save(workspace=self.workspace, **form.cleaned_data)
        except ValidationError as exc:
            errors_onto(form, exc, {})
            return render_invalid(self, form)
        messages.success(self.request, f"Created {campaign.name}: its links carry "
                         f"utm_campaign={campaign.slug}.")  # fmt: skip
        return redirect("campaign-list")

    def form_invalid(self, form):
        return render_invalid(self, form)
