"""Exchange rates over the API: list them, add a day's rate for a currency pair.

Rates are market data shared by every workspace (an order is converted with the rate of its day,
whoever recorded it), so a client may add a missing day's rate but not replace one that exists:
that would change other workspaces' reported revenue. Corrections go through the
`load_exchange_rates` command or the admin.
"""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from commerce import services
from commerce.models import ExchangeRate
from omnisocial.tenancy import WorkspaceAPIMixin


class ExchangeRateSerializer(serializers.ModelSerializer):
    fromCurrency = serializers.RegexField(r"^[A-Za-z]{3}$", source="from_currency")
    toCurrency = serializers.RegexField(r"^[A-Za-z]{3}$", source="to_currency")
    rate = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=0)

    class Meta:
        model = ExchangeRate
        fields = ["id", "day", "fromCurrency", "toCurrency", "rate"]
        read_only_fields = ["id"]
        validators = []  # the pair's day is checked in the view, with a clearer reason

    def validate_rate(self, value):
        if value <= 0:
            raise serializers.ValidationError("A rate must be positive.")
        return value


class ExchangeRateFilter(django_filters.FilterSet):
    fromCurrency = django_filters.CharFilter(field_name="from_currency", lookup_expr="iexact")
    toCurrency = django_filters.CharFilter(field_name="to_currency", lookup_expr="iexact")
    after = django_filters.DateFilter(field_name="day", lookup_expr="gte")
    before = django_filters.DateFilter(field_name="day", lookup_expr="lte")

    class Meta:
        model = ExchangeRate
        fields = ["day"]


class ExchangeRateListCreateApi(WorkspaceAPIMixin, generics.ListAPIView):
    """GET /api/exchange-rates (filters: day, after, before, fromCurrency, toCurrency), newest
    day first. POST: add a day's rate; orders waiting for it are converted."""

    serializer_class = ExchangeRateSerializer
    filterset_class = ExchangeRateFilter
    queryset = ExchangeRate.objects.order_by("-day", "from_currency", "to_currency", "pk")

    @extend_schema(request=ExchangeRateSerializer, responses={201: ExchangeRateSerializer})
    def post(self, request):
        data = ExchangeRateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        pair = (values["from_currency"].upper(), values["to_currency"].upper())
        if pair[0] == pair[1]:
            raise ApiValidationError({"toCurrency": ["The two currencies must differ."]})
        existing = ExchangeRate.objects.filter(
            day=values["day"], from_currency=pair[0], to_currency=pair[1]
        )
        if existing.exists():
            raise ApiValidationError(
                {"day": [f"{pair[0]}→{pair[1]} already has a rate on {values['day']}."]}
            )
        services.exchange_rates_load(rates=[(values["day"], *pair, values["rate"])])
        rate = existing.get()
        return Response(ExchangeRateSerializer(rate).data, status=status.HTTP_201_CREATED)
