import logging
from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from attribution import engine
from omnisocial.jobs import failure_text
from omnisocial.models import Workspace

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Rebuilds attribution rows and rollups in bulk (every workspace unless --workspace)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", metavar="SLUG")
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="Only orders from this day on.")
        parser.add_argument(
            "--release-lease",
            action="store_true",
            help="Clear the lease a killed run left (SQLite only; on PostgreSQL the lock dies "
            "with the killed process) and exit. Only when no recalculation is running.",
        )

    def handle(self, *args, **options):
        workspaces = Workspace.objects.all()
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces:
                raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        if options["release_lease"]:
            for workspace in workspaces:
                released = engine.lease_release(workspace=workspace)
                self.stdout.write(
                    f"{workspace.slug}: {'lease released' if released else 'no lease held'}."
                )
            return
        since = None
        if options["since"]:
            try:
                day = date.fromisoformat(options["since"])
            except ValueError as exc:
                raise CommandError("--since takes a date as YYYY-MM-DD.") from exc
        # A workspace that is busy or whose rebuild fails is reported (and logged); the next
        # workspace is rebuilt all the same, and the command ends in an error naming them.
        failed = []
        for workspace in workspaces:
            if options["since"]:
                since = datetime.combine(day, time.min, tzinfo=workspace.zone)
            bar = tqdm(total=0, desc=workspace.slug, unit="order", file=self.stderr)

            def progress(done, total, bar=bar):
                bar.total = total
                bar.n = done
                bar.refresh()

            try:
                result = engine.workspace_recalculate(
                    workspace=workspace, since=since, progress=progress
                )
            except engine.RecalculationBusy as exc:
                failed.append(f"{workspace.slug}: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - isolated per workspace, logged, reported
                logger.exception(
                    "recalculation failed for workspace %s (id %s)", workspace.slug, workspace.pk
                )
                failed.append(f"{workspace.slug}: failed: {failure_text(exc)}")
                continue
            finally:
                bar.close()
            self.stdout.write(
                f"{workspace.slug}: {result['orders']} orders, "
                f"{result['attributions']} attribution rows."
            )
        if failed:
            raise CommandError("\n".join(failed))
