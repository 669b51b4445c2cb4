"""The post picker of the Coupons and KPI forms, and the post search it calls.

A workspace can hold tens of thousands of posts; a <select> listing every one took most of a
page's second to build and render at 10,000. The picker lists the RECENT_POSTS newest posts
(published first, newest first) plus the ones already chosen, so a form shown again with its
choices keeps them; a search field beside it (static/omnisocial/post-picker.js) asks
`PostSearchView` for older posts by caption, reference or platform post id and adds the matches as
options. Without scripts the form still works with the recent posts.

Validation never reads the listed posts: a form accepts any post of the workspace (its posts'
queryset) and refuses another workspace's post with the reason, so a post found by the search, or
typed by hand, is kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Q, QuerySet
from django.http import JsonResponse
from django.urls import reverse
from django.utils.html import format_html
from django.views import View

from omnisocial.api_errors import error_body
from omnisocial.labels import post_label
from omnisocial.models import Post, Workspace
from omnisocial.params import is_id
from omnisocial.tenancy import WorkspaceViewMixin

# How many posts a picker lists before any search: a campaign's worth of recent posts is what a
# marketer picks from most, and 200 options render in a few milliseconds.
RECENT_POSTS = 200
# The most matches a search answers: enough to scan, few enough to read as options.
SEARCH_MATCHES = 50
# A longer query is not a caption search but a paste gone wrong.
QUERY_MAX_CHARS = 100
# Only what a post's label reads (a caption is read whole: its excerpt is cut at a word).
LABEL_FIELDS = ("pk", "platform", "reference", "published_at", "caption")


def _newest_first(posts: QuerySet[Post]) -> QuerySet[Post]:
    # Published posts newest first, then the unpublished ones (drafts), on every database.
    return posts.only(*LABEL_FIELDS).order_by(F("published_at").desc(nulls_last=True), "-pk")


def picker_posts(workspace: Workspace, *, chosen: Iterable = ()) -> list[Post]:
    """The posts a picker lists: the chosen ones the recent list leaves out (first, so a form
    shown again shows its choices at the top), then the RECENT_POSTS newest. `chosen` holds ids
    as a form sends them; anything not an id of the workspace's posts is left out."""
    recent = list(_newest_first(workspace.posts.all())[:RECENT_POSTS])
    listed = {post.pk for post in recent}
    wanted = {int(value) for value in chosen if is_id(str(value))} - listed
    older = list(_newest_first(workspace.posts.filter(pk__in=wanted))) if wanted else []
    return older + recent


def posts_matching(workspace: Workspace, query: str, *, limit: int = SEARCH_MATCHES) -> list[Post]:
    """The workspace's posts whose caption, reference or platform post id holds every word of
    `query` (any case), newest first, at most `limit`."""
    matches = workspace.posts.all()
    for word in query.split():
        matches = matches.filter(
            Q(caption__icontains=word)
            | Q(reference__icontains=word)
            | Q(external_id__icontains=word)
        )
    return list(_newest_first(matches)[:limit])


class PostPickerWidget(forms.SelectMultiple):
    """A multiple select of `picker_posts` (the recent posts plus the chosen ones) with the
    search field beside it; the field's queryset, every post of the workspace, validates."""

    def __init__(self, *args, workspace: Workspace | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def optgroups(self, name, value, attrs=None):
        zone = self.workspace.zone
        self.choices = [
            (post.pk, post_label(post, zone=zone))
            for post in picker_posts(self.workspace, chosen=value)
        ]
        return super().optgroups(name, value, attrs)

    def render(self, name, value, attrs=None, renderer=None):
        select = super().render(name, value, attrs, renderer)
        select_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        return select + search_field(select_id)


def search_field(select_id: str) -> str:
    """The search box that fills the picker `select_id` (hidden until the script shows it)."""
    return format_html(
        '<input type="search" class="post-search" hidden data-post-search="{}" data-for="{}" '
        'aria-label="Search older posts by caption, reference or platform post id" '
        'placeholder="Search older posts: caption, reference, post id" autocomplete="off">'
        '<span class="muted small post-search-status" aria-live="polite"></span>',
        reverse("analytics:post-search"),
        select_id,
    )


class PostsField(forms.ModelMultipleChoiceField):
    """Posts of one workspace, picked with `PostPickerWidget`; another workspace's post (or an
    id that is no post) is refused by its id."""

    default_error_messages = {
        "invalid_choice": "Post %(value)s is not a post of this workspace.",
        "invalid_pk_value": "“%(pk)s” is not a post id.",
    }

    def __init__(self, *, workspace: Workspace, **kwargs):
        super().__init__(
            queryset=workspace.posts.all(), widget=PostPickerWidget(workspace=workspace), **kwargs
        )


class HtmlSafeEncoder(DjangoJSONEncoder):
    """JSON whose `<`, `>` and `&` are written as \\u escapes (the same text once parsed), so a
    caption's markup never appears raw in a response a browser might render as a page."""

    def encode(self, o) -> str:
        return super().encode(o).translate(HTML_ESCAPES)


HTML_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


class PostSearchView(WorkspaceViewMixin, View):
    """GET /analytics/posts/search/?q=<words>: up to SEARCH_MATCHES posts of the request's
    workspace matching every word (without q, the newest ones), newest first, as
    `{"results": [{"id", "label"}]}` with the one post label. Read-only (a viewer may search);
    another workspace's posts are never answered."""

    def get(self, request, *args, **kwargs):
        query = " ".join(request.GET.get("q", "").split())
        if len(query) > QUERY_MAX_CHARS:
            reason = f"q is at most {QUERY_MAX_CHARS} characters."
            return JsonResponse(error_body("invalid", reason, {"q": [reason]}), status=400)
        zone = self.workspace.zone
        results = [
            {"id": post.pk, "label": post_label(post, zone=zone)}
            for post in posts_matching(self.workspace, query)
        ]
        return JsonResponse({"results": results}, encoder=HtmlSafeEncoder)
