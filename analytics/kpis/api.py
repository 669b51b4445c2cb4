"""KPI, alert and insights API. JSON keys in camelCase, money and ratios as strings."""

import django_filters
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.kpis import insights, selectors, services
from analytics.kpis.projection import KpiProgress
from analytics.models import Alert, RevenueKPI
from attribution.models import AttributionModel
from omnisocial.api_errors import Conflict, service_errors
from omnisocial.instants import validate_day
from omnisocial.models import Platform
from omnisocial.tenancy import WorkspaceAPIMixin, WorkspaceFilterSet

# API names of the service's arguments.
KPI_INPUT_FIELDS = {
    "name": "name",
    "scope": "scope",
    "platform": "platform",
    "campaign": "campaign",
    "post": "post",
    "target": "target",
    "period": "period",
    "startDate": "start_date",
    "endDate": "end_date",
    "attributionModel": "attribution_model",
    "exceedRatio": "exceed_ratio",
    "behindRatio": "behind_ratio",
}
# The API name of each service argument, for its errors.
KPI_ERROR_FIELDS = {field: name for name, field in KPI_INPUT_FIELDS.items()}


class KpiInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    scope = serializers.ChoiceField(choices=RevenueKPI.Scope.choices, default="workspace")
    platform = serializers.ChoiceField(
        choices=Platform.choices, required=False, allow_blank=True, default=""
    )
    campaign = serializers.IntegerField(required=False, allow_null=True, default=None)
    post = serializers.IntegerField(required=False, allow_null=True, default=None)
    target = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    period = serializers.ChoiceField(choices=RevenueKPI.Period.choices, default="month")
    startDate = serializers.DateField(
        required=False, allow_null=True, default=None, validators=[validate_day]
    )
    endDate = serializers.DateField(
        required=False, allow_null=True, default=None, validators=[validate_day]
    )
    attributionModel = serializers.ChoiceField(
        choices=AttributionModel.choices, required=False, allow_blank=True, default=""
    )
    exceedRatio = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    behindRatio = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)

    def validate(self, attrs):
        start, end = attrs.get("startDate"), attrs.get("endDate")
        if start is not None and end is not None and end < start:
            raise serializers.ValidationError({"endDate": ["The range ends before it starts."]})
        return attrs


class KpiOutput(serializers.Serializer):
    """The documented shape of `kpi_output` (the schema's description of it)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    scope = serializers.ChoiceField(choices=RevenueKPI.Scope.choices)
    platform = serializers.CharField(allow_null=True)
    campaign = serializers.IntegerField(allow_null=True)
    post = serializers.IntegerField(allow_null=True)
    period = serializers.ChoiceField(choices=RevenueKPI.Period.choices)
    periodStart = serializers.DateField()
    periodEnd = serializers.DateField()
    attributionModel = serializers.CharField()
    currency = serializers.CharField()
    target = serializers.CharField(help_text="An amount, as a string.")
    actual = serializers.CharField()
    projected = serializers.CharField()
    progress = serializers.CharField(help_text="A ratio, as a string.")
    projectedProgress = serializers.CharField()
    elapsedShare = serializers.CharField()
    requiredDailyRate = serializers.CharField(allow_null=True)
    state = serializers.CharField()
    conclusive = serializers.BooleanField()
    exceedRatio = serializers.CharField()
    behindRatio = serializers.CharField()
    link = serializers.URLField()


class AlertOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Alert.Kind.choices)
    severity = serializers.ChoiceField(choices=Alert.Severity.choices)
    title = serializers.CharField()
    message = serializers.CharField()
    figures = serializers.DictField()
    kpi = serializers.IntegerField(allow_null=True)
    post = serializers.IntegerField(allow_null=True)
    campaign = serializers.IntegerField(allow_null=True)
    createdAt = serializers.DateTimeField()
    acknowledgedAt = serializers.DateTimeField(allow_null=True)
    link = serializers.URLField()


class KpiInsight(KpiOutput):
    recommendation = serializers.CharField()


class InsightsOutput(serializers.Serializer):
    workspace = inline_serializer(
        "InsightsWorkspace",
        {
            "slug": serializers.CharField(),
            "name": serializers.CharField(),
            "currency": serializers.CharField(),
            "timeZone": serializers.CharField(),
        },
    )
    generatedAt = serializers.DateTimeField()
    kpis = KpiInsight(many=True)
    recommendations = inline_serializer(
        "Recommendation",
        {
            "type": serializers.CharField(),
            "severity": serializers.CharField(),
            "title": serializers.CharField(),
            "recommendation": serializers.CharField(),
            "figures": serializers.DictField(),
            "subject": serializers.DictField(),
            "link": serializers.URLField(),
            "alertId": serializers.IntegerField(),
            "createdAt": serializers.DateTimeField(),
        },
        many=True,
    )


UNREADABLE = OpenApiResponse(
    description="The stored KPI's progress cannot be computed (its dates are out of range): "
    "PATCH them or DELETE it."
)
KPI_LIST = inline_serializer("KpiList", {"results": KpiOutput(many=True)})
ALERT_PAGE = inline_serializer(
    "PaginatedAlertList",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": AlertOutput(many=True),
    },
)


def _ratio(value) -> str | None:
    return None if value is None else str(value)


def kpi_output(request, progress: KpiProgress) -> dict:
    kpi = progress.kpi
    return {
        "id": kpi.pk,
        "name": kpi.name,
        "scope": kpi.scope,
        "platform": kpi.platform or None,
        "campaign": kpi.campaign_id,
        "post": kpi.post_id,
        "period": kpi.period,
        "periodStart": progress.period.start,
        "periodEnd": progress.period.end,
        "attributionModel": kpi.model_name,
        "currency": progress.currency,
        "target": str(kpi.target),
        "actual": str(progress.actual),
        "projected": str(progress.projected),
        "progress": str(progress.progress),
        "projectedProgress": str(progress.projected_progress),
        "elapsedShare": str(progress.elapsed_share),
        "requiredDailyRate": _ratio(progress.required_daily_rate),
        "state": progress.state,
        "conclusive": progress.conclusive,
        "exceedRatio": str(kpi.exceed_ratio),
        "behindRatio": str(kpi.behind_ratio),
        "link": request.build_absolute_uri(kpi_page_path(kpi)),
    }


def kpi_page_path(kpi: RevenueKPI) -> str:
    return f"{reverse('analytics:kpi-list')}#kpi-{kpi.pk}"


def alert_link(request, alert: Alert) -> str:
    """The page that shows the alert's subject: the post, the KPI, or the alert itself."""
    if alert.post_id is not None:
        path = reverse("post-detail", args=[alert.post_id])
    elif alert.kpi_id is not None:
        path = f"{reverse('analytics:kpi-list')}#kpi-{alert.kpi_id}"
    else:
        path = f"{reverse('analytics:alert-list')}#alert-{alert.pk}"
    return request.build_absolute_uri(path)


def alert_output(request, alert: Alert) -> dict:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "severity": alert.severity,
        "title": alert.title,
        "message": alert.message,
        "figures": alert.figures,
        "kpi": alert.kpi_id,
        "post": alert.post_id,
        "campaign": alert.campaign_id,
        "createdAt": alert.created_at,
        "acknowledgedAt": alert.acknowledged_at,
        "link": alert_link(request, alert),
    }


class _KpiApi(WorkspaceAPIMixin, APIView):
    def kpi_arguments(self, values: dict) -> dict:
        """The service's arguments; campaign and post ids are looked up in this workspace."""
        arguments = {KPI_INPUT_FIELDS[name]: value for name, value in values.items()}
        for field, related in (("campaign", self.workspace.campaigns),
                               ("post", self.workspace.posts)):  # fmt: skip
            if arguments.get(field) is not None:
                found = related.filter(pk=arguments[field]).first()
                if found is None:
                    raise ValidationError({field: f"No such {field} in this workspace."})
                arguments[field] = found
        return arguments

    def get_kpi(self, pk: int) -> RevenueKPI:
        try:
            return selectors.kpi_get(workspace=self.workspace, kpi_id=pk)
        except RevenueKPI.DoesNotExist as exc:
            raise Http404("No such KPI in this workspace.") from exc

    def progress_response(self, request, kpi: RevenueKPI, **kwargs) -> Response:
        """The KPI with its progress now; 409 with the reason for a stored KPI whose progress
        cannot be computed (dates out of range: PATCH them or DELETE it)."""
        try:
            progress = selectors.kpi_progress(kpi=kpi, now=timezone.now())
        except selectors.KpiUnreadable as exc:
            raise Conflict(str(exc)) from exc
        return Response(kpi_output(request, progress), **kwargs)


class KpiListCreateApi(_KpiApi):
    """GET /analytics/api/kpis: every KPI with its progress now. POST: create one."""

    @extend_schema(operation_id="analytics_api_kpis_list", responses=KPI_LIST)
    def get(self, request):
        progress = selectors.kpis_progress(workspace=self.workspace, now=timezone.now())
        return Response({"results": [kpi_output(request, p) for p in progress]})

    @extend_schema(request=KpiInput, responses={201: KpiOutput})
    def post(self, request):
        data = KpiInput(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(KPI_ERROR_FIELDS):
            kpi = services.kpi_create(
                workspace=self.workspace,
                owner=request.user if not request.auth else None,
                **self.kpi_arguments(data.validated_data),
            )
        return self.progress_response(request, kpi, status=status.HTTP_201_CREATED)


class KpiDetailApi(_KpiApi):
    """GET, PATCH, DELETE /analytics/api/kpis/<id>."""

    @extend_schema(responses={200: KpiOutput, 409: UNREADABLE})
    def get(self, request, pk: int):
        return self.progress_response(request, self.get_kpi(pk))

    @extend_schema(request=KpiInput(partial=True), responses=KpiOutput)
    def patch(self, request, pk: int):
        kpi = self.get_kpi(pk)
        data = KpiInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        given = {name: value for name, value in data.validated_data.items() if name in request.data}
        with service_errors(KPI_ERROR_FIELDS):
            kpi = services.kpi_update(kpi=kpi, **self.kpi_arguments(given))
        return self.progress_response(request, kpi)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        services.kpi_delete(kpi=self.get_kpi(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertFilter(WorkspaceFilterSet):
    kind = django_filters.ChoiceFilter(choices=Alert.Kind.choices)
    # acknowledged=true keeps alerts whose acknowledged_at is set.
    acknowledged = django_filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = Alert
        fields = ["kind", "acknowledged"]


class AlertListApi(WorkspaceAPIMixin, APIView):
    """GET /analytics/api/alerts?kind=&acknowledged=true|false: newest first, paginated."""

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", enum=Alert.Kind.values),
            OpenApiParameter("acknowledged", bool),
            OpenApiParameter("page", int),
        ],
        responses=ALERT_PAGE,
    )
    def get(self, request):
        alerts = AlertFilter(
            request.GET, queryset=selectors.alert_list(workspace=self.workspace), request=request
        )
        if not alerts.is_valid():
            raise ApiValidationError(alerts.errors)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(alerts.qs, request, view=self)
        return paginator.get_paginated_response([alert_output(request, a) for a in page])


class AlertAcknowledgeApi(WorkspaceAPIMixin, APIView):
    """POST /analytics/api/alerts/<id>/acknowledge: idempotent."""

    @extend_schema(request=None, responses=AlertOutput)
    def post(self, request, pk: int):
        try:
            alert = selectors.alert_get(workspace=self.workspace, alert_id=pk)
        except Alert.DoesNotExist as exc:
            raise Http404("No such alert in this workspace.") from exc
        alert = services.alert_acknowledge(alert=alert, user=request.user)
        return Response(alert_output(request, alert))


class InsightsApi(WorkspaceAPIMixin, APIView):
    """GET /analytics/api/insights: KPI states and open recent alerts as recommendations, for the
    advisor service. The JSON is documented in docs/insights.md."""

    @extend_schema(responses=InsightsOutput)
    def get(self, request):
        now = timezone.now()
        workspace = self.workspace
        kpis = selectors.kpis_progress(workspace=workspace, now=now)
        alerts = selectors.alerts_recent_open(workspace=workspace, now=now)
        return Response(
            {
                "workspace": {
                    "slug": workspace.slug,
                    "name": workspace.name,
                    "currency": workspace.reporting_currency,
                    "timeZone": workspace.time_zone,
                },
                "generatedAt": now,
                "kpis": [
                    {
                        **kpi_output(request, progress),
                        "recommendation": insights.kpi_recommendation(progress),
                    }
                    for progress in kpis
                ],
                "recommendations": [
                    {
                        "type": alert.kind,
                        "severity": alert.severity,
                        "title": alert.title,
                        "recommendation": insights.alert_recommendation(alert),
                        "figures": alert.figures,
                        "subject": _subject(alert),
                        "link": alert_link(request, alert),
                        "alertId": alert.pk,
                        "createdAt": alert.created_at,
                    }
                    for alert in alerts
                ],
            }
        )


def _subject(alert: Alert) -> dict:
    if alert.post_id is not None:
        return {"type": "post", "id": alert.post_id, "name": str(alert.post)}
    if alert.campaign_id is not None:
        return {"type": "campaign", "id": alert.campaign_id, "name": alert.campaign.name}
    return {"type": "kpi", "id": alert.kpi_id, "name": alert.kpi.name if alert.kpi else ""}
