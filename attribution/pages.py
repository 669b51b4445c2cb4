"""Pages: the tracking set-up (allowed domains and the storefront snippet)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.generic import TemplateView

from attribution import services
from omnisocial.tenancy import WorkspaceViewMixin


class TrackingView(WorkspaceViewMixin, TemplateView):
    template_name = "attribution/tracking.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            domains=self.workspace.allowed_domains.all(),
            snippet_url=self.request.build_absolute_uri(static("omnisocial/track.js")),
            **kwargs,
        )

    def post(self, request):
        if "remove" in request.POST:
            self.workspace.allowed_domains.filter(pk=request.POST["remove"]).delete()
            return redirect("attribution:tracking")
        try:
            domain = services.domain_allow(
                workspace=self.workspace, domain=request.POST.get("domain", "")
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Links may now point to {domain.domain}.")
        return redirect("attribution:tracking")
