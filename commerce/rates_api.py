"""Exchange rates over the API: list them, set a workspace's own rate for a day or a range.

Shared rates (market data loaded by staff with `load_exchange_rates` or the admin) convert every
workspace's orders, so no client writes them. What a client posts is its workspace's own rate: it
converts that workspace's orders only, wins over a shared rate of the same day, and posting it again
corrects it (the orders it reaches are re-converted and re-attributed).
"""

from datetime import timedelta

import django_filters
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from commerce import services
from commerce.models import ExchangeRate
from omnisocial.instants import DAY_RANGE_MESSAGE, day_in_range
from omnisocial.tenancy import WorkspaceAPIMixin, WorkspaceFilterSet

MAX_RANGE_DAYS = 366


class ExchangeRateSerializer(serializers.ModelSerializer):
    fromCurrency = serializers.CharField(source="from_currency")
    toCurrency = serializers.CharField(source="to_currency")
    rate = serializers.DecimalField(max_digits=20, decimal_places=10)
    scope = serializers.SerializerMethodField(
        help_text="`workspace`: this workspace's own rate; `shared`: shared market data."
    )

    class Meta:
        model = ExchangeRate
        fields = ["id", "day", "fromCurrency", "toCurrency", "rate", "scope"]

    def get_scope(self, rate: ExchangeRate) -> str:
        return "shared" if rate.workspace_id is None else "workspace"


class ExchangeRateWriteSerializer(serializers.Serializer):
    """One day (`day`) or every day of a range (`startDate` to `endDate`, inclusive)."""

    day = serializers.DateField(required=False)
    startDate = serializers.DateField(required=False)
    endDate = serializers.DateField(required=False)
    fromCurrency = serializers.RegexField(r"^[A-Za-z]{3}$")
    toCurrency = serializers.RegexField(r"^[A-Za-z]{3}$")
    rate = serializers.DecimalField(max_digits=20, decimal_places=10)

    def validate_rate(self, value):
        if value <= 0:
            raise serializers.ValidationError("A rate must be positive.")
        return value

    def validate(self, attrs):
        day, start, end = attrs.get("day"), attrs.get("startDate"), attrs.get("endDate")
        if day is not None and (start or end):
            raise serializers.ValidationError({"day": ["Give a day, or startDate and endDate."]})
        if day is None:
            if start is None or end is None:
                raise serializers.ValidationError(
                    {"day": ["Give a day, or startDate and endDate."]}
                )
            if end < start:
                raise serializers.ValidationError({"endDate": ["endDate is before startDate."]})
            if (end - start).days >= MAX_RANGE_DAYS:
                raise serializers.ValidationError(
                    {"endDate": [f"A range covers at most {MAX_RANGE_DAYS} days."]}
                )
        else:
            start = end = day
        if not (day_in_range(start) and day_in_range(end)):
            raise serializers.ValidationError({"day": [DAY_RANGE_MESSAGE]})
        src, dst = attrs["fromCurrency"].upper(), attrs["toCurrency"].upper()
        if src == dst:
            raise serializers.ValidationError({"toCurrency": ["The two currencies must differ."]})
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        return {"days": days, "pair": (src, dst), "rate": attrs["rate"]}


class ExchangeRateWriteResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = ExchangeRateSerializer(many=True)


class ExchangeRateFilter(WorkspaceFilterSet):
    fromCurrency = django_filters.CharFilter(field_name="from_currency", lookup_expr="iexact")
    toCurrency = django_filters.CharFilter(field_name="to_currency", lookup_expr="iexact")
    after = django_filters.DateFilter(field_name="day", lookup_expr="gte")
    before = django_filters.DateFilter(field_name="day", lookup_expr="lte")

    class Meta:
        model = ExchangeRate
        fields = ["day"]


class ExchangeRateListCreateApi(WorkspaceAPIMixin, generics.ListAPIView):
    """GET /api/exchange-rates (filters: day, after, before, fromCurrency, toCurrency): the shared
    rates and this workspace's own, newest day first. POST: set this workspace's own rate for a day
    or a range of days (creating or correcting it); the orders it reaches are re-converted."""

    serializer_class = ExchangeRateSerializer
    filterset_class = ExchangeRateFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no workspace
            return ExchangeRate.objects.none()
        return ExchangeRate.objects.filter(
            Q(workspace__isnull=True) | Q(workspace=self.workspace)
        ).order_by("-day", "from_currency", "to_currency", "workspace_id", "pk")

    @extend_schema(
        request=ExchangeRateWriteSerializer, responses={201: ExchangeRateWriteResultSerializer}
    )
    def post(self, request):
        data = ExchangeRateWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        src, dst = values["pair"]
        services.exchange_rates_load(
            rates=[(day, src, dst, values["rate"]) for day in values["days"]],
            workspace=self.workspace,
        )
        written = ExchangeRate.objects.filter(
            workspace=self.workspace, from_currency=src, to_currency=dst, day__in=values["days"]
        ).order_by("day")
        body = {"count": len(written), "results": ExchangeRateSerializer(written, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)
