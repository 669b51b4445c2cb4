from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics import services
from omnisocial.models import Workspace


class Command(BaseCommand):
    help = (
        "Evaluates revenue KPIs and looks for outlier posts and campaigns now (what the hourly "
        "schedule does), and prints the alerts raised."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Only this workspace (its slug).")

    def handle(self, *args, **options):
        workspaces = Workspace.objects.order_by("slug")
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
        now = timezone.now()
        total = 0
        for workspace in workspaces:
            alerts = services.workspace_check(workspace=workspace, now=now)
            for alert in alerts:
                self.stdout.write(f"{workspace.slug}: [{alert.severity}] {alert.title}")
            total += len(alerts)
        self.stdout.write(f"{total} alert{'s' if total != 1 else ''} raised.")
