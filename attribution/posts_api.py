"""The posts API: GET, POST /api/posts and GET, PUT, PATCH /api/posts/<id>, each post with its
tracked links.

It lives here, with the links it shows, rather than in the shared core: posts are saved through
`omnisocial.services.post_save`, which announces the save (`post_saved`) for attribution to tag
the post's links in the same transaction, so the answer lists them. Querysets start from the
request's workspace, so another workspace's id answers 404 and a write naming another
workspace's campaign is refused with 400. The root URLconf (omnisocial/urls.py) mounts it.
"""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from attribution.api import short_url
from attribution.models import TrackedLink
from omnisocial import services
from omnisocial.api_errors import service_errors
from omnisocial.instants import InstantField, InstantFilter
from omnisocial.models import Campaign, Platform, Post
from omnisocial.tenancy import WorkspaceAPIMixin, WorkspaceFilterSet


class TaggedLinkOutput(serializers.ModelSerializer):
    shortUrl = serializers.SerializerMethodField()
    destinationUrl = serializers.CharField(source="destination_url")
    taggedUrl = serializers.CharField(source="tagged_url")

    class Meta:
        model = TrackedLink
        fields = ["id", "code", "shortUrl", "destinationUrl", "taggedUrl", "source"]

    def get_shortUrl(self, link) -> str:  # noqa: N802 - the documented camelCase key
        return short_url(self.context["request"], link)


class RefusedUrlOutput(serializers.Serializer):
    url = serializers.CharField()
    reason = serializers.CharField()


class PostOutput(serializers.ModelSerializer):
    linkUrl = serializers.CharField(source="link_url")
    externalId = serializers.CharField(source="external_id")
    contentType = serializers.CharField(source="content_type")
    publishedAt = serializers.DateTimeField(source="published_at", allow_null=True)
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    boostedSpend = serializers.DecimalField(source="boosted_spend", max_digits=14, decimal_places=2)
    boostedCurrency = serializers.CharField(source="boosted_currency")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    taggedLinks = TaggedLinkOutput(source="tagged_links", many=True)

    class Meta:
        model = Post
        fields = [
            "id", "platform", "reference", "caption", "linkUrl", "externalId", "contentType",
            "publishedAt", "campaign", "boostedSpend", "boostedCurrency", "createdAt",
            "updatedAt", "taggedLinks",
        ]  # fmt: skip


class PostSavedOutput(PostOutput):
    untaggedUrls = RefusedUrlOutput(
        source="untagged", many=True,
        help_text="URLs of the caption or link field left untagged, with the reason.",
    )  # fmt: skip

    class Meta(PostOutput.Meta):
        fields = [*PostOutput.Meta.fields, "untaggedUrls"]


class PostInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    caption = serializers.CharField(required=False, allow_blank=True, default="")
    linkUrl = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="")
    externalId = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="",
        help_text="The utm_content of its links; `post-<id>` when blank. Never changes once set.",
    )  # fmt: skip
    contentType = serializers.ChoiceField(
        choices=Post.ContentType.choices, required=False, default=Post.ContentType.PRODUCT
    )
    publishedAt = InstantField(required=False, allow_null=True, default=None)
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.none(), required=False, allow_null=True, default=None
    )
    boostedSpend = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, default="0.00"
    )
    boostedCurrency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, default=""
    )

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        if workspace is not None:
            self.fields["campaign"].queryset = workspace.campaigns.all()


# The service's argument for each input key.
POST_ARGUMENTS = {
    "platform": "platform", "caption": "caption", "linkUrl": "link_url",
    "externalId": "external_id", "reference": "reference", "contentType": "content_type",
    "publishedAt": "published_at", "campaign": "campaign", "boostedSpend": "boosted_spend",
    "boostedCurrency": "boosted_currency",
}  # fmt: skip
# The input key of each service argument, for its errors.
POST_FIELDS = {argument: key for key, argument in POST_ARGUMENTS.items()}


class PostFilter(WorkspaceFilterSet):
    contentType = django_filters.ChoiceFilter(
        field_name="content_type", choices=Post.ContentType.choices
    )
    publishedAfter = InstantFilter(field_name="published_at", lookup_expr="gte")
    publishedBefore = InstantFilter(field_name="published_at", lookup_expr="lt")

    class Meta:
        model = Post
        fields = ["platform", "campaign", "reference"]


class _PostApi(WorkspaceAPIMixin):
    serializer_class = PostOutput
    queryset = Post.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        links = TrackedLink.objects.order_by("created_at", "pk")
        return self.workspace.posts.prefetch_related(
            Prefetch("links", queryset=links, to_attr="tagged_links")
        ).order_by("-published_at", "-pk")

    def _save(self, values: dict, post: Post | None = None) -> Response:
        with service_errors(POST_FIELDS):
            saved = services.post_save(workspace=self.workspace, post=post, **values)
        result = self.get_queryset().get(pk=saved.pk)
        result.untagged = [{"url": url, "reason": why} for url, why in saved.tagging.refused]
        output = PostSavedOutput(result, context={"request": self.request}).data
        return Response(output, status=status.HTTP_200_OK if post else status.HTTP_201_CREATED)


class PostListCreateApi(_PostApi, generics.ListAPIView):
    """GET /api/posts (filters: platform, campaign, reference, contentType, publishedAfter,
    publishedBefore). POST: create a post; its links are tagged at once."""

    filterset_class = PostFilter

    @extend_schema(request=PostInput, responses={201: PostSavedOutput})
    def post(self, request):
        data = PostInput(data=request.data, workspace=self.workspace)
        data.is_valid(raise_exception=True)
        values = {POST_ARGUMENTS[key]: value for key, value in data.validated_data.items()}
        return self._save(values)


class PostDetailApi(_PostApi, generics.RetrieveAPIView):
    """GET, PUT, PATCH /api/posts/<id>. PATCH changes only the keys it sends."""

    @extend_schema(request=PostInput, responses=PostSavedOutput)
    def put(self, request, pk: int):
        return self._update(request, partial=False)

    @extend_schema(request=PostInput, responses=PostSavedOutput)
    def patch(self, request, pk: int):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool) -> Response:
        post = self.get_object()
        data = PostInput(data=request.data, workspace=self.workspace, partial=partial)
        data.is_valid(raise_exception=True)
        current = {argument: getattr(post, argument) for argument in POST_ARGUMENTS.values()}
        sent = {POST_ARGUMENTS[key]: value for key, value in data.validated_data.items()}
        return self._save({**current, **sent}, post=post)
