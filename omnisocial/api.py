"""API of the shared core."""

from rest_framework.response import Response
from rest_framework.views import APIView

from omnisocial.tenancy import WorkspaceAPIMixin


class WhoAmIView(WorkspaceAPIMixin, APIView):
    """The workspace this request acts for: handy to check an API key."""

    def get(self, request):
        return Response({"workspace": self.workspace.slug, "name": self.workspace.name})
