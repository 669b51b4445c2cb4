"""Pages of the shared core: home, posts, the workspace switcher."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, FormView, ListView

from attribution.selectors import links_of, posts_with_click_counts, untagged_urls
from omnisocial import ratelimit, services
from omnisocial.models import Membership, Platform, Post, Workspace, all_attribution_models
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


def home(request):
    """The login form for visitors; Analytics › Revenue for signed-in users."""
    if not request.user.is_authenticated:
        return LoginView.as_view()(request)
    return redirect("analytics:revenue")


# The largest id a BigAutoField holds: a longer number names no workspace (and would overflow
# the database's integer).
MAX_ID = 2**63 - 1


@login_required
@require_POST
def workspace_switch(request):
    """Switches to `workspace` (an id), one of the user's workspaces: 400 for a value that is
    not an id, 404 for one the user is not a member of."""
    raw = request.POST.get("workspace", "")
    if not (raw.isascii() and raw.isdecimal()):
        return HttpResponseBadRequest(
            "Choose a workspace: `workspace` must be a workspace id (a whole number).",
            content_type="text/plain; charset=utf-8",
        )
    workspace_id = int(raw)
    membership = (
        Membership.objects.filter(user=request.user, workspace_id=workspace_id).first()
        if workspace_id <= MAX_ID
        else None
    )
    if membership is None:  # another's workspace answers like one that does not exist
        raise Http404("No such workspace.")
    request.session[SESSION_KEY] = membership.workspace_id
    next_url = request.POST.get("next") or "/"
    return redirect(next_url if next_url.startswith("/") and not next_url.startswith("//") else "/")


class PostListView(WorkspaceViewMixin, ListView):
    template_name = "omnisocial/post_list.html"
    context_object_name = "posts"
    paginate_by = 50

    def get_queryset(self):
        posts = posts_with_click_counts(self.workspace.posts.select_related("campaign"))
        platform = self.request.GET.get("platform")
        if platform in Platform.values:
            posts = posts.filter(platform=platform)
        return posts

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            platforms=Platform.choices, platform=self.request.GET.get("platform", ""), **kwargs
        )


class PostDetailView(WorkspaceViewMixin, DetailView):
    template_name = "omnisocial/post_detail.html"
    context_object_name = "post"

    def get_object(self, queryset=None):
        try:
            return self.workspace.posts.select_related("campaign").get(pk=self.kwargs["pk"])
        except Post.DoesNotExist as exc:
            raise Http404("No such post in this workspace.") from exc

    def get_context_data(self, **kwargs):
        links = list(links_of(self.object))
        return super().get_context_data(
            metrics=self.object.metrics.order_by("-day")[:30],
            links=links,
            untagged=untagged_urls(self.object, links),
            short_base=settings.PUBLIC_BASE_URL or self.request.build_absolute_uri("/").rstrip("/"),
            **kwargs,
        )


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
        return super().get_context_data(can_edit=workspace_owner(self.request, self.workspace),
                                        **kwargs)  # fmt: skip

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
