"""Store API: connect a store, read its UTM health, rotate its secret. JSON keys in camelCase."""

from datetime import timedelta

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce import selectors, services
from commerce.models import StoreConnection, StorePlatform
from commerce.views import secret_shown, tracking_snippet, webhook_url
from omnisocial.api_errors import service_errors
from omnisocial.tenancy import Role, WorkspaceAPIMixin

# The store services' field names as the API spells them, for their errors.
STORE_FIELDS = {
    "shop_domain": "shopDomain", "webhook_secret": "webhookSecret", "api_key": "apiKey",
    "api_secret": "apiSecret", "grace": "graceMinutes",
}  # fmt: skip


class StoreInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=StorePlatform.choices)
    shopDomain = serializers.CharField(max_length=255)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    webhookSecret = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    apiKey = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", write_only=True,
        help_text="Shopify Admin API access token (shpat_…) or WooCommerce consumer key (ck_…); "
        "stored encrypted, never returned.",
    )  # fmt: skip
    apiSecret = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", write_only=True,
        help_text="WooCommerce consumer secret (cs_…); stored encrypted, never returned.",
    )  # fmt: skip


class RotateInput(serializers.Serializer):
    webhookSecret = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )
    graceMinutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60, default=60)


class HealthOutput(serializers.Serializer):
    ordersLast7Days = serializers.IntegerField()
    ordersWithSignal = serializers.IntegerField()
    signalShare = serializers.FloatField(allow_null=True)
    lastOrderAt = serializers.DateTimeField(allow_null=True)
    lastDeliveryAt = serializers.DateTimeField(allow_null=True)
    usualGapSeconds = serializers.FloatField(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())


class StoreOutput(serializers.Serializer):
    """The documented shape of `store_output`."""

    id = serializers.IntegerField()
    platform = serializers.ChoiceField(choices=StorePlatform.choices)
    name = serializers.CharField()
    shopDomain = serializers.CharField()
    currency = serializers.CharField()
    isActive = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    webhookUrl = serializers.URLField()
    snippet = serializers.CharField()
    previousSecretExpiresAt = serializers.DateTimeField(allow_null=True)
    storeUrl = serializers.CharField(help_text="WooCommerce: the site's URL; Shopify: the shop's.")
    hasApiCredentials = serializers.BooleanField()
    apiError = serializers.CharField(help_text="The platform's last refusal of the credentials.")
    lastSyncedAt = serializers.DateTimeField(allow_null=True)
    health = HealthOutput()


class StoreWithSecretOutput(StoreOutput):
    webhookSecret = serializers.CharField(
        required=False,
        help_text="A custom store's generated secret: in the answer that creates or rotates it, "
        "never again.",
    )


def health_output(health: selectors.StoreHealth) -> dict:
    return {
        "ordersLast7Days": health.orders_last_7_days,
        "ordersWithSignal": health.orders_with_signal,
        "signalShare": None if health.signal_share is None else round(health.signal_share, 4),
        "lastOrderAt": health.last_order_at,
        "lastDeliveryAt": health.last_delivery_at,
        "usualGapSeconds": None if health.usual_gap is None else health.usual_gap.total_seconds(),
        "warnings": health.warnings,
    }


def store_output(request, store: StoreConnection, *, with_secret: bool = False) -> dict:
    data = {
        "id": store.pk,
        "platform": store.platform,
        "name": store.name,
        "shopDomain": store.shop_domain,
        "currency": store.currency,
        "isActive": store.is_active,
        "createdAt": store.created_at,
        "webhookUrl": webhook_url(request, store),
        "snippet": tracking_snippet(request, store),
        "previousSecretExpiresAt": store.previous_secret_expires_at,
        "storeUrl": store.store_url,
        "hasApiCredentials": bool(store.api_key),
        "apiError": store.api_error,
        "lastSyncedAt": store.last_synced_at,
        "health": health_output(selectors.store_health(store=store)),
    }
    # A generated secret is shown when it is created (the custom store must copy it); a pasted
    # one is never echoed back.
    if with_secret and store.platform == StorePlatform.CUSTOM:
        data["webhookSecret"] = store.webhook_secret
    return data


class StoreListCreateApi(WorkspaceAPIMixin, APIView):
    """GET /commerce/stores: the workspace's stores. POST (an owner): connect one."""

    write_role = Role.OWNER

    @extend_schema(
        operation_id="commerce_stores_list",
        responses=inline_serializer("StoreList", {"results": StoreOutput(many=True)}),
    )
    def get(self, request):
        stores = selectors.store_list(workspace=self.workspace)
        return Response({"results": [store_output(request, store) for store in stores]})

    @extend_schema(request=StoreInput, responses={201: StoreWithSecretOutput})
    def post(self, request):
        data = StoreInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        with service_errors(STORE_FIELDS):
            store = services.store_connect(
                workspace=self.workspace,
                platform=values["platform"],
                shop_domain=values["shopDomain"],
                currency=values["currency"],
                webhook_secret=values["webhookSecret"],
                name=values["name"],
                api_key=values["apiKey"],
                api_secret=values["apiSecret"],
            )
        return secret_shown(
            Response(store_output(request, store, with_secret=True), status=status.HTTP_201_CREATED)
        )


class _StoreApi(WorkspaceAPIMixin, APIView):
    write_role = Role.OWNER  # a store's secret is the keys to its orders

    def get_store(self, pk: int) -> StoreConnection:
        try:
            return selectors.store_get(workspace=self.workspace, store_id=pk)
        except StoreConnection.DoesNotExist as exc:
            raise Http404("No such store in this workspace.") from exc


class StoreDetailApi(_StoreApi):
    """GET /commerce/stores/<id>: one store with its UTM health."""

    @extend_schema(responses=StoreOutput)
    def get(self, request, pk: int):
        return Response(store_output(request, self.get_store(pk)))


class StoreSecretRotateApi(_StoreApi):
    """POST /commerce/stores/<id>/rotate-secret: new secret, the old one valid for a while."""

    @extend_schema(request=RotateInput, responses=StoreWithSecretOutput)
    def post(self, request, pk: int):
        store = self.get_store(pk)
        data = RotateInput(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(STORE_FIELDS):
            store = services.store_secret_rotate(
                store=store,
                new_secret=data.validated_data["webhookSecret"],
                grace=timedelta(minutes=data.validated_data["graceMinutes"]),
            )
        return secret_shown(Response(store_output(request, store, with_secret=True)))
