"""API of the shared core: the workspace, its campaigns and API keys. (The posts API shows each
post's tracked links, so it lives with them: attribution/posts_api.py.)

Writes go through omnisocial/services.py; querysets start from the request's workspace, so
another workspace's id answers 404.
"""

import django_filters
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from omnisocial import services
from omnisocial.api_errors import service_errors
from omnisocial.models import ApiKey, AttributionModel, Campaign, Workspace
from omnisocial.tenancy import ApiClient, Role, WorkspaceAPIMixin, WorkspaceFilterSet


class WorkspaceOutput(serializers.Serializer):
    workspace = serializers.CharField(source="slug")
    name = serializers.CharField()
    reportingCurrency = serializers.CharField(source="reporting_currency")
    timeZone = serializers.CharField(source="time_zone")
    revenueBasis = serializers.ChoiceField(
        source="revenue_basis", choices=Workspace.RevenueBasis.choices,
        help_text="total: the order total; net: merchandise (less tax and shipping; refunds "
        "take off their items net of tax).",
    )  # fmt: skip
    lookbackDays = serializers.IntegerField(source="lookback_days")
    attributionModels = serializers.ListField(
        source="attribution_models", child=serializers.CharField()
    )
    defaultAttributionModel = serializers.CharField(source="default_attribution_model")


class WorkspaceInput(serializers.Serializer):
    revenueBasis = serializers.ChoiceField(
        choices=Workspace.RevenueBasis.choices, required=False, source="revenue_basis"
    )
    lookbackDays = serializers.IntegerField(
        min_value=1, max_value=365, required=False, source="lookback_days"
    )
    attributionModels = serializers.ListField(
        child=serializers.ChoiceField(choices=AttributionModel.choices), required=False,
        allow_empty=False, source="attribution_models",
    )  # fmt: skip
    defaultAttributionModel = serializers.ChoiceField(
        choices=AttributionModel.choices, required=False, source="default_attribution_model"
    )


# Service field -> API key, for errors.
WORKSPACE_KEYS = {
    "revenue_basis": "revenueBasis", "lookback_days": "lookbackDays",
    "attribution_models": "attributionModels",
    "default_attribution_model": "defaultAttributionModel",
}  # fmt: skip


class WhoAmIView(WorkspaceAPIMixin, APIView):
    """GET /api/workspace: the workspace this request acts for (handy to check an API key) and
    its attribution settings. PATCH (its owner, signed in): change the revenue basis, the
    lookback window or the models kept; a change of those re-attributes every order (queued)."""

    write_role = Role.OWNER

    @extend_schema(responses=WorkspaceOutput)
    def get(self, request):
        return Response(WorkspaceOutput(self.workspace).data)

    @extend_schema(request=WorkspaceInput, responses=WorkspaceOutput)
    def patch(self, request):
        data = WorkspaceInput(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(WORKSPACE_KEYS):
            services.workspace_settings_update(workspace=self.workspace, **data.validated_data)
        self.workspace.refresh_from_db()
        return Response(WorkspaceOutput(self.workspace).data)


# --- campaigns -----------------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(
        max_length=100, required=False, allow_blank=True,
        help_text="The utm_campaign of its posts' links; made from the name when blank.",
    )  # fmt: skip
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "slug", "createdAt"]


class CampaignFilter(WorkspaceFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Campaign
        fields = ["slug", "name"]


class _CampaignApi(WorkspaceAPIMixin):
    serializer_class = CampaignSerializer
    queryset = Campaign.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return self.workspace.campaigns.order_by("name", "pk")

    def _save(self, serializer, campaign=None) -> Campaign:
        values = serializer.validated_data
        return services.campaign_save(
            workspace=self.workspace,
            campaign=campaign,
            name=values.get("name", campaign.name if campaign else ""),
            slug=values.get("slug", ""),
        )


class CampaignListCreateApi(_CampaignApi, generics.ListCreateAPIView):
    """GET /api/campaigns (filters: slug, name). POST: create one."""

    filterset_class = CampaignFilter

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = self._save(serializer)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(_CampaignApi, generics.RetrieveUpdateDestroyAPIView):
    """GET, PUT, PATCH, DELETE /api/campaigns/<id>. Deleting keeps its posts, without campaign
    (through `campaign_delete`, which rebuilds the rollups, as the admin does)."""

    def perform_destroy(self, instance):
        services.campaign_delete(campaign=instance)

    def update(self, request, *args, **kwargs):
        campaign = self.get_object()
        serializer = self.get_serializer(
            campaign, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        return Response(CampaignSerializer(self._save(serializer, campaign)).data)


# --- API keys ------------------------------------------------------------------------------------


class ApiKeyOutput(serializers.ModelSerializer):
    prefix = serializers.SerializerMethodField(help_text="The key's visible start: `osk_<prefix>`.")
    isActive = serializers.BooleanField(source="is_active")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "prefix", "scope", "isActive", "createdAt", "lastUsedAt", "revokedAt",
        ]  # fmt: skip

    def get_prefix(self, key) -> str:
        return f"osk_{key.prefix}"


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(help_text="The secret: shown in this answer only, never again.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]


class ApiKeyInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    scope = serializers.ChoiceField(
        choices=ApiKey.Scope.choices, default=ApiKey.Scope.WRITE,
        help_text="read: GET only; write (default): what an analyst may do.",
    )  # fmt: skip


class ApiKeyListCreateApi(WorkspaceAPIMixin, generics.ListAPIView):
    """GET /api/keys: the workspace's keys (prefix only). POST: create one; the answer holds the
    secret, the only time it is shown. Minting and revoking keys is for an owner signed in."""

    write_role = Role.OWNER
    serializer_class = ApiKeyOutput
    filterset_fields = ["name"]
    queryset = ApiKey.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return self.workspace.api_keys.order_by("-created_at", "-pk")

    @extend_schema(request=ApiKeyInput, responses={201: ApiKeyCreatedOutput})
    def post(self, request):
        data = ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = None if isinstance(request.user, ApiClient) else request.user
        key, raw_key = services.api_key_create(
            workspace=self.workspace, name=data.validated_data["name"], created_by=user,
            scope=data.validated_data["scope"],
        )  # fmt: skip
        key.key = raw_key
        response = Response(ApiKeyCreatedOutput(key).data, status=status.HTTP_201_CREATED)
        add_never_cache_headers(response)  # the key is shown this once
        return response


class ApiKeyDetailApi(WorkspaceAPIMixin, generics.RetrieveDestroyAPIView):
    """GET /api/keys/<id>; DELETE revokes it (kept, listed as revoked, never valid again)."""

    write_role = Role.OWNER
    serializer_class = ApiKeyOutput
    queryset = ApiKey.objects.none()  # for the schema; get_queryset scopes it

    def get_queryset(self):
        return self.workspace.api_keys.all()

    def perform_destroy(self, instance):
        services.api_key_revoke(key=instance)
