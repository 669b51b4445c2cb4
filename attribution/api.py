"""Attribution API: tag a URL for a post, list links, manage allowed domains, start and follow
a recalculation, read the data-driven model's removal effects."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.response import Response

from attribution import recalculations, selectors, services
from attribution.models import AllowedDomain, Recalculation, TrackedLink
from omnisocial.api_errors import Conflict, service_errors
from omnisocial.instants import validate_day
from omnisocial.tenancy import WorkspaceAPIMixin

# The bodies are the API's error shape (omnisocial/api_schema.py documents it).
REFUSED = {
    409: OpenApiResponse(description="A recalculation is queued or running: its id and URL."),
    429: OpenApiResponse(description="Within RECALCULATION_COOLDOWN of the last one."),
}


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
        with service_errors(field="url"):
            link = services.link_tag(
                post=post,
                url=data.validated_data["url"],
                utm_term=data.validated_data["utmTerm"],
            )
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
        with service_errors(field="domain"):
            domain = services.domain_allow(
                workspace=self.workspace, domain=serializer.validated_data["domain"]
            )
        return Response(DomainSerializer(domain).data, status=status.HTTP_201_CREATED)


class DomainDeleteView(WorkspaceAPIMixin, generics.DestroyAPIView):
    """DELETE /attribution/domains/<id>: links may no longer be created for it."""

    serializer_class = DomainSerializer
    queryset = AllowedDomain.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return self.workspace.allowed_domains.all()


class RecalculationOutput(serializers.ModelSerializer):
    requestedBy = serializers.CharField(source="requested_by")
    statusLabel = serializers.CharField(source="get_status_display")
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    attributions = serializers.IntegerField(
        allow_null=True, help_text="RevenueAttribution rows written (touches x models)."
    )

    class Meta:
        model = Recalculation
        fields = [
            "id", "status", "statusLabel", "since", "requestedBy", "orders", "attributions",
            "error", "createdAt", "startedAt", "finishedAt",
        ]  # fmt: skip


class RecalculationInput(serializers.Serializer):
    since = serializers.DateField(
        required=False, allow_null=True, validators=[validate_day],
        help_text="Only orders from this day (the workspace's time zone) on; all when absent.",
    )  # fmt: skip


class RecalculationListCreateView(WorkspaceAPIMixin, generics.ListAPIView):
    """GET: the workspace's recalculations asked for through the API, newest first. POST: queue
    one (every order, or those from `since` on); 202 with where to follow it, 409 while one is
    queued or running, 429 (with Retry-After) within RECALCULATION_COOLDOWN of the last one."""

    serializer_class = RecalculationOutput
    queryset = Recalculation.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return Recalculation.objects.filter(workspace=self.workspace)

    @extend_schema(request=RecalculationInput, responses={202: RecalculationOutput, **REFUSED})
    def post(self, request):
        data = RecalculationInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            recalculation = recalculations.recalculation_request(
                workspace=self.workspace, requested_by=str(request.auth or request.user),
                since=data.validated_data.get("since"),
            )  # fmt: skip
        except ValidationError as exc:
            if exc.code == "cooldown":
                throttled = Throttled(wait=exc.params["wait"])
                throttled.detail = exc.messages[0]  # the service's sentence says when, alone
                raise throttled from exc
            raise Conflict(exc.messages[0]) from exc
        recalculation.refresh_from_db()  # a synchronous worker may have run it already
        location = reverse("attribution:api-recalculation", args=[recalculation.pk])
        return Response(
            RecalculationOutput(recalculation).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )


class RecalculationDetailView(WorkspaceAPIMixin, generics.RetrieveAPIView):
    """One recalculation: queued, running, done (with the orders and rows it wrote), busy or
    failed (with the reason)."""

    serializer_class = RecalculationOutput
    queryset = Recalculation.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return Recalculation.objects.filter(workspace=self.workspace)


class RemovalEffectOutput(serializers.Serializer):
    postId = serializers.IntegerField(source="post_id", allow_null=True)
    campaignId = serializers.IntegerField(source="campaign_id", allow_null=True)
    platform = serializers.SerializerMethodField()
    effect = serializers.FloatField(
        help_text="The share of conversions lost when this touch is removed from every path."
    )

    def get_platform(self, row) -> str:
        """The post's platform for a post, the platform itself for a platform's row."""
        return row.post.platform if row.post_id and row.post else row.platform


class RemovalEffectsOutput(serializers.Serializer):
    convertingJourneys = serializers.IntegerField(
        source="converting_journeys",
        help_text="Converting journeys the last full recalculation learnt from.",
    )
    computedAt = serializers.DateTimeField(source="computed_at", allow_null=True)
    fallback = serializers.BooleanField(
        help_text="True while there is too little data: data-driven credit is multi-touch."
    )
    effects = RemovalEffectOutput(many=True)


class RemovalEffectsView(WorkspaceAPIMixin, generics.GenericAPIView):
    """What data-driven credit is computed from: each post's (or campaign's, or platform's)
    removal effect, largest first, from the last full recalculation."""

    serializer_class = RemovalEffectsOutput

    def get(self, request):
        return Response(RemovalEffectsOutput(selectors.learnt_effects(self.workspace)).data)
