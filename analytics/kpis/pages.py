"""Pages: KPIs (progress, state, projection, the create form) and alerts (acknowledge)."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from analytics.kpis import selectors, services
from analytics.models import Alert, RevenueKPI
from attribution.models import AttributionModel
from omnisocial.models import Platform
from omnisocial.params import is_id
from omnisocial.tenancy import WorkspaceViewMixin


class KpiListView(WorkspaceViewMixin, TemplateView):
    """KPIs: each KPI's progress bar, state and projection, and the form to create one."""

    template_name = "analytics/kpi_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            rows=selectors.kpis_progress(workspace=self.workspace, now=timezone.now()),
            open_alerts=selectors.alerts_recent_open(workspace=self.workspace, limit=5),
            scopes=RevenueKPI.Scope.choices,
            periods=RevenueKPI.Period.choices,
            platforms=Platform.choices,
            models=AttributionModel.choices,
            campaigns=self.workspace.campaigns.all(),
            form=kwargs.pop("form", {}),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        form = request.POST
        try:
            kpi = services.kpi_create(workspace=self.workspace, owner=request.user,
                                      **self._arguments(form))  # fmt: skip
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            # Nothing was saved: the form again, with the reasons, as a 400.
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, f"KPI “{kpi.name}” created.")
        return redirect("analytics:kpi-list")

    def _arguments(self, form) -> dict:
        try:
            target = Decimal(form.get("target", "").replace(",", "").strip())
        except InvalidOperation as exc:
            raise ValidationError({"target": "The target is an amount such as 25000.00."}) from exc
        arguments = {
            "name": form.get("name", "").strip(),
            "target": target,
            "scope": form.get("scope", RevenueKPI.Scope.WORKSPACE),
            "platform": form.get("platform", ""),
            "period": form.get("period", RevenueKPI.Period.MONTH),
            "attribution_model": form.get("attribution_model", ""),
        }
        for field in ("start_date", "end_date"):
            try:
                arguments[field] = date.fromisoformat(form[field]) if form.get(field) else None
            except ValueError as exc:
                raise ValidationError({field: "Dates are written 2026-11-30."}) from exc
        campaign_id = form.get("campaign", "")
        if arguments["scope"] == RevenueKPI.Scope.CAMPAIGN and is_id(campaign_id):
            arguments["campaign"] = self.workspace.campaigns.filter(pk=campaign_id).first()
        post_id = form.get("post", "")
        if arguments["scope"] == RevenueKPI.Scope.POST and is_id(post_id):
            arguments["post"] = self.workspace.posts.filter(pk=post_id).first()
        return arguments


class KpiDeleteView(WorkspaceViewMixin, View):
    def post(self, request, pk: int):
        try:
            kpi = selectors.kpi_get(workspace=self.workspace, kpi_id=pk)
        except RevenueKPI.DoesNotExist as exc:
            raise Http404("No such KPI in this workspace.") from exc
        services.kpi_delete(kpi=kpi)
        messages.success(request, f"KPI “{kpi.name}” deleted.")
        return redirect("analytics:kpi-list")


class AlertListView(WorkspaceViewMixin, TemplateView):
    template_name = "analytics/alert_list.html"

    def get_context_data(self, **kwargs):
        kind = self.request.GET.get("kind", "")
        state = self.request.GET.get("state", "open")
        acknowledged = {"open": False, "acknowledged": True}.get(state)
        alerts = selectors.alert_list(
            workspace=self.workspace,
            kind=kind if kind in Alert.Kind.values else None,
            acknowledged=acknowledged,
        )
        page = Paginator(alerts, 50).get_page(self.request.GET.get("page"))
        return super().get_context_data(
            alerts=page.object_list,
            page_obj=page,
            is_paginated=page.has_other_pages(),
            kinds=Alert.Kind.choices,
            kind=kind,
            state=state,
            **kwargs,
        )


class AlertAcknowledgeView(WorkspaceViewMixin, View):
    def post(self, request, pk: int):
        try:
            alert = selectors.alert_get(workspace=self.workspace, alert_id=pk)
        except Alert.DoesNotExist as exc:
            raise Http404("No such alert in this workspace.") from exc
        services.alert_acknowledge(alert=alert, user=request.user)
        next_url = request.POST.get("next") or ""
        if next_url.startswith("/") and not next_url.startswith("//"):
            return redirect(next_url)
        return redirect("analytics:alert-list")
