"""The post pages: a post with its tracked links, the new-post and edit forms (saving tags the
post's links and says which URLs could not be tracked), and adding a link to a post.

They live here, with the links they show, rather than in the shared core: omnisocial announces a
saved post (`post_saved`) and attribution tags it, so a page that lists the links it tagged
belongs above both. The URLs and their names are mounted by the root URLconf (omnisocial/urls.py).
"""

from decimal import Decimal
from functools import cached_property

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView, FormView

from attribution.selectors import links_of, untagged_urls
from attribution.services import link_tag
from omnisocial import post_metrics, services
from omnisocial.models import Platform, Post, Workspace
from omnisocial.tenancy import WorkspaceViewMixin
from omnisocial.views import errors_onto, render_invalid


class PostDetailView(WorkspaceViewMixin, DetailView):
    """posts/<pk>/: the post with its last 30 days of metrics, its tracked links (short links to
    copy) and the URLs of its caption or link field left untagged, with the reason."""

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


class PostForm(forms.Form):
    """What a marketer says about a post; saved through `services.post_save` like every path."""

    platform = forms.ChoiceField(choices=Platform.choices)
    caption = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Links to your store in the caption are tracked too.",
    )  # fmt: skip
    link_url = forms.URLField(
        label="Link", required=False, max_length=2000, assume_scheme="https",
        help_text="The post's link (bio or swipe-up link); it gets a short tracked link.",
    )  # fmt: skip
    content_type = forms.ChoiceField(label="Content type", choices=Post.ContentType.choices)
    published_at = forms.DateTimeField(
        label="Published", required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In the workspace's time zone.",
    )  # fmt: skip
    campaign = forms.ModelChoiceField(queryset=None, required=False, empty_label="No campaign")
    external_id = forms.CharField(
        label="Platform post id", max_length=100, required=False,
        help_text="The post's id on the platform (Instagram media id, Facebook <page>_<post>, "
        "TikTok video id): synced and imported metrics find the post by it.",
    )  # fmt: skip
    boost_spend = forms.DecimalField(
        label="Boost spend", min_value=0, max_digits=12, decimal_places=2, required=False,
        help_text="Paid to promote the post, in the reporting currency: spread evenly over the "
        "boost's days as its daily ad spend (ROAS divides revenue by it).",
    )  # fmt: skip
    boost_start = forms.DateField(
        label="Boost from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    boost_end = forms.DateField(
        label="Boost to", required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Inclusive; days in the workspace's time zone.",
    )  # fmt: skip
    reference = forms.CharField(
        label="Reference (utm_content)", max_length=100, required=False,
        help_text="Left blank, it becomes post-<id>. It never changes once links are shared.",
    )  # fmt: skip

    def __init__(self, *args, workspace: Workspace, post: Post | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = workspace.campaigns.all()
        self.fields["boost_spend"].label = f"Boost spend ({workspace.reporting_currency})"
        if post is not None:  # shared links carry it: an edit must not move the post's orders
            self.fields["reference"].disabled = True
            self.fields["reference"].help_text = "Shared links carry it, so it stays as it is."


class PostFormView(WorkspaceViewMixin, FormView):
    """New post (posts/new/) and edit (posts/<pk>/edit/): saving tags every link to the store
    and says which URLs could not be tracked and why."""

    template_name = "omnisocial/post_form.html"
    form_class = PostForm

    @cached_property
    def post_object(self) -> Post | None:
        if "pk" not in self.kwargs:
            return None
        try:
            return self.workspace.posts.get(pk=self.kwargs["pk"])
        except Post.DoesNotExist as exc:
            raise Http404("No such post in this workspace.") from exc

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "workspace": self.workspace,
                "post": self.post_object}  # fmt: skip

    def get_initial(self):
        post = self.post_object
        if post is None:
            return {}
        boost = post_metrics.post_boost(post=post)
        initial = {name: getattr(post, name) for name in PostForm.base_fields if
                   not name.startswith("boost_")}  # fmt: skip
        initial.update(boost_spend=boost.total or None, boost_start=boost.start,
                       boost_end=boost.end)  # fmt: skip
        if post.published_at:
            initial["published_at"] = timezone.localtime(post.published_at, self.workspace.zone)
        return initial

    def get_context_data(self, **kwargs):
        return super().get_context_data(post=self.post_object, **kwargs)

    def form_valid(self, form):
        data = dict(form.cleaned_data)
        if self.post_object is not None:
            data.pop("reference")
        boost = {name: data.pop(name) for name in ("boost_spend", "boost_start", "boost_end")}
        total = boost["boost_spend"] or Decimal("0.00")
        # A save that leaves the boost as the form showed it changes neither the spend rows nor
        # what the post recorded of its boost (a form saves only what it changes).
        if self.post_object is not None:
            shown = post_metrics.post_boost(post=self.post_object)
            boost_changed = (total, boost["boost_start"], boost["boost_end"]) != (
                shown.total or Decimal("0.00"), shown.start, shown.end,
            )  # fmt: skip
        else:
            boost_changed = total > 0
        if boost_changed:
            data.update(boosted_spend=total, boosted_currency=self.workspace.reporting_currency)
        try:
            # The boost is the post's daily spend (PostMetrics, source manual), the one source
            # ROAS reads; the post keeps its total only to show what was entered.
            with transaction.atomic():
                post = services.post_save(workspace=self.workspace, post=self.post_object, **data)
                if boost_changed:
                    post_metrics.post_boost_set(
                        post=post, total=total, start=boost["boost_start"],
                        end=boost["boost_end"],
                    )  # fmt: skip
        except ValidationError as exc:
            errors_onto(form, exc, {"externalId": "external_id", "linkUrl": "link_url"})
            return render_invalid(self, form)
        # Every tracked link of the post, as the page below lists them (links added one by one
        # stay, though this save tagged only the caption's and the link field's).
        tagged = post.links.count()
        messages.success(
            self.request,
            f"Saved. {tagged} tracked link{'' if tagged == 1 else 's'}: copy the short link "
            "below into the post."
            if tagged
            else "Saved. Add a link to your store to track it.",
        )
        for url, reason in post.tagging.refused:
            messages.warning(self.request, f"Not tracked: {url}: {reason}")
        return redirect("post-detail", pk=post.pk)

    def form_invalid(self, form):
        return render_invalid(self, form)


class LinkForm(forms.Form):
    url = forms.URLField(label="Store URL", max_length=2000, assume_scheme="https")
    utm_term = forms.CharField(
        label="utm_term", max_length=200, required=False,
        help_text="Optional: tells apart several links of one post (e.g. story, bio).",
    )  # fmt: skip


class PostLinkCreateView(WorkspaceViewMixin, View):
    """POST posts/<pk>/links/: a tracked link for one more URL of the post (the same URL gives
    the same link and short code)."""

    http_method_names = ["post"]

    def post(self, request, pk: int):
        try:
            post = self.workspace.posts.select_related("campaign").get(pk=pk)
        except Post.DoesNotExist as exc:
            raise Http404("No such post in this workspace.") from exc
        form = LinkForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
            return redirect("post-detail", pk=post.pk)
        try:
            link = link_tag(post=post, url=form.cleaned_data["url"],
                            utm_term=form.cleaned_data["utm_term"])  # fmt: skip
        except ValidationError as exc:
            messages.error(request, f"Not tracked: {' '.join(exc.messages)}")
        else:
            messages.success(request, f"Tracked link {link.short_path} ready: copy it below.")
        return redirect("post-detail", pk=post.pk)
