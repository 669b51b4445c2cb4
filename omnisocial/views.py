"""Pages of the shared core: home, posts, the workspace switcher."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST
from django.views.generic import DetailView, ListView

from attribution.selectors import links_of, posts_with_click_counts, untagged_urls
from omnisocial.models import Membership, Platform, Post
from omnisocial.tenancy import SESSION_KEY, WorkspaceViewMixin


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def home(request):
    """The login form for visitors; Analytics › Revenue for signed-in users."""
    if not request.user.is_authenticated:
        return LoginView.as_view()(request)
    return redirect("analytics:revenue")


@login_required
@require_POST
def workspace_switch(request):
    membership = get_object_or_404(
        Membership, user=request.user, workspace_id=request.POST.get("workspace")
    )
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
