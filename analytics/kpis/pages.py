"""Pages: KPIs (progress, state, projection, the create form) and alerts (acknowledge)."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from analytics.kpis import selectors, services
from analytics.models import Alert, RevenueKPI
from analytics.post_picker import picker_posts, search_field
from attribution.models import AttributionModel
from omnisocial.labels import post_label
from omnisocial.models import Platform
from omnisocial.params import is_id
from omnisocial.tenancy import WorkspaceViewMixin


def kpi_form_values(kpi: RevenueKPI) -> dict:
    """A KPI as the form writes it, to edit it in the same form that creates one."""
    return {
        "kpi": str(kpi.pk),
        "name": kpi.name,
        "target": str(kpi.target),
        "scope": kpi.scope,
        "platform": kpi.platform,
        "campaign": str(kpi.campaign_id or ""),
        "post": str(kpi.post_id or ""),
        "period": kpi.period,
        "start_date": kpi.start_date.isoformat() if kpi.start_date else "",
        "end_date": kpi.end_date.isoformat() if kpi.end_date else "",
        "attribution_model": kpi.attribution_model,
    }


class KpiListView(WorkspaceViewMixin, TemplateView):
    """KPIs: each KPI's progress bar, state and projection, and the form that creates one or,
    with ?edit=<id>, changes one."""

    template_name = "analytics/kpi_list.html"

    def get_context_data(self, **kwargs):
        form = kwargs.pop("form", None)
        if form is None:
            editing = self._kpi(self.request.GET.get("edit", ""))
            form = kpi_form_values(editing) if editing is not None else {}
        zone = self.workspace.zone
        # The post picker lists the recent posts and the KPI's own (its search finds older ones),
        # each named as every other page names it (platform, reference, day).
        listed = picker_posts(self.workspace, chosen=[form.get("post", "")])
        posts = [(str(post.pk), post_label(post, zone=zone)) for post in listed]
        return super().get_context_data(
            rows=selectors.kpis_progress(workspace=self.workspace, now=timezone.now()),
            open_alerts=selectors.alerts_recent_open(workspace=self.workspace, limit=5),
            scopes=RevenueKPI.Scope.choices,
            periods=RevenueKPI.Period.choices,
            platforms=Platform.choices,
            models=AttributionModel.choices,
            campaigns=self.workspace.campaigns.all(),
            posts=posts,
            post_search=search_field("post"),
            form=form,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        form = request.POST
        editing = None
        if form.get("kpi"):
            editing = self._kpi(form["kpi"])
            if editing is None:
                raise Http404("No such KPI in this workspace.")
        try:
            if editing is None:
                kpi = services.kpi_create(workspace=self.workspace, owner=request.user,
                                          **self._arguments(form))  # fmt: skip
            else:
                kpi = services.kpi_update(kpi=editing, **self._arguments(form))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            # Nothing was saved: the form again, with the reasons, as a 400.
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(request, f"KPI “{kpi.name}” {'created' if editing is None else 'saved'}.")
        return redirect(f"{reverse('analytics:kpi-list')}#kpi-{kpi.pk}")

    def _kpi(self, kpi_id: str) -> RevenueKPI | None:
        if not is_id(kpi_id):
            return None
        try:
            return selectors.kpi_get(workspace=self.workspace, kpi_id=int(kpi_id))
        except RevenueKPI.DoesNotExist:
            return None

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
        # The scope's subject is always given (None when missing), so an edit never keeps the
        # subject it had before without saying so.
        campaign_id = form.get("campaign", "")
        if arguments["scope"] == RevenueKPI.Scope.CAMPAIGN:
            arguments["campaign"] = (self.workspace.campaigns.filter(pk=campaign_id).first()
                                     if is_id(campaign_id) else None)  # fmt: skip
        post_id = form.get("post", "")
        if arguments["scope"] == RevenueKPI.Scope.POST:
            arguments["post"] = (self.workspace.posts.filter(pk=post_id).first()
                                 if is_id(post_id) else None)  # fmt: skip
            # Any post of the workspace may be chosen (the picker lists only the recent ones);
            # an id of no post here, another workspace's included, is refused by its id.
            if post_id and arguments["post"] is None:
                raise ValidationError({"post": f"Post {post_id} is not a post of this workspace."})
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
