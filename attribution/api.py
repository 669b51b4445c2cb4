"""Attribution API: tag a URL for a post, list links, manage allowed domains."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from attribution import selectors, services
from attribution.models import AllowedDomain, TrackedLink
from omnisocial.tenancy import WorkspaceAPIMixin


def short_url(request, link: TrackedLink) -> str:
    base = settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    return f"{base}{link.short_path}"


class LinkOutput(serializers.ModelSerializer):
    postId = serializers.IntegerField(source="post_id")
    shortUrl = serializers.SerializerMethodField()
    destinationUrl = serializers.CharField(source="destination_url")
    taggedUrl = serializers.CharField(source="tagged_url")
    utmSource = serializers.CharField(source="utm_source")
    utmMedium = serializers.CharField(source="utm_medium")
    utmCampaign = serializers.CharField(source="utm_campaign")
    utmContent = serializers.CharField(source="utm_content")
    utmTerm = serializers.CharField(source="utm_term")
    createdAt = serializers.DateTimeField(source="created_at")
    clicks = serializers.IntegerField(source="human_clicks", read_only=True)
    uniqueClicks = serializers.IntegerField(source="unique_clicks", read_only=True)

    class Meta:
        model = TrackedLink
        fields = [
            "id", "postId", "code", "shortUrl", "destinationUrl", "taggedUrl", "source",
            "utmSource", "utmMedium", "utmCampaign", "utmContent", "utmTerm", "createdAt",
            "clicks", "uniqueClicks",
        ]  # fmt: skip

    def get_shortUrl(self, link) -> str:  # noqa: N802 - the documented camelCase key
        return short_url(self.context["request"], link)


class LinkInput(serializers.Serializer):
    post = serializers.IntegerField()
    url = serializers.CharField(max_length=2000)
    utmTerm = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class LinkListCreateView(WorkspaceAPIMixin, generics.ListAPIView):
    """GET: the workspace's links (`?post=<id>` for one post's). POST: tag a URL for a post."""

    serializer_class = LinkOutput
    filterset_fields = ["post", "source"]
    queryset = TrackedLink.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return selectors.links_with_counts(self.workspace.links.all())

    @extend_schema(request=LinkInput, responses={200: LinkOutput, 201: LinkOutput})
    def post(self, request):
        data = LinkInput(data=request.data)
        data.is_valid(raise_exception=True)
        post = get_object_or_404(self.workspace.posts, pk=data.validated_data["post"])
        existed = post.links.filter(destination_url=data.validated_data["url"].strip()).exists()
        try:
            link = services.link_tag(
                post=post,
                url=data.validated_data["url"],
                utm_term=data.validated_data["utmTerm"],
            )
        except ValidationError as exc:
            raise ApiValidationError({"url": exc.messages}) from exc
        link = selectors.links_with_counts(post.links.filter(pk=link.pk)).get()
        return Response(
            LinkOutput(link, context={"request": request}).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class DomainSerializer(serializers.ModelSerializer):
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = AllowedDomain
        fields = ["id", "domain", "createdAt"]


class DomainListCreateView(WorkspaceAPIMixin, generics.ListCreateAPIView):
    """Hosts the workspace's links may point to, besides its connected stores."""

    serializer_class = DomainSerializer
    queryset = AllowedDomain.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return self.workspace.allowed_domains.all()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            domain = services.domain_allow(
                workspace=self.workspace, domain=serializer.validated_data["domain"]
            )
        except ValidationError as exc:
            raise ApiValidationError({"domain": exc.messages}) from exc
        return Response(DomainSerializer(domain).data, status=status.HTTP_201_CREATED)


class DomainDeleteView(WorkspaceAPIMixin, generics.DestroyAPIView):
    """DELETE /attribution/domains/<id>: links may no longer be created for it."""

    serializer_class = DomainSerializer
    queryset = AllowedDomain.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return self.workspace.allowed_domains.all()
