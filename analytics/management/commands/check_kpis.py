from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.kpis import services
from omnisocial.jobs import each_workspace
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
        # A workspace whose check fails is logged and reported; the others are checked anyway.
        run = each_workspace(
            "KPI check",
            lambda workspace: services.workspace_check(workspace=workspace, now=now),
            workspaces,
        )
        total = 0
        for slug, alerts in run.results.items():
            for alert in alerts:
                self.stdout.write(f"{slug}: [{alert.severity}] {alert.title}")
            total += len(alerts)
        self.stdout.write(f"{total} alert{'s' if total != 1 else ''} raised.")
        for slug, error in run.failed.items():
            self.stderr.write(f"{slug}: failed: {error}")
        if run.failed:
            raise CommandError(
                f"The check failed for {len(run.failed)} workspace"
                f"{'s' if len(run.failed) != 1 else ''}: {', '.join(run.failed)}."
            )
