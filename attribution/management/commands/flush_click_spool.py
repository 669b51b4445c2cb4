from django.core.management.base import BaseCommand

from attribution.services import click_spool_flush


class Command(BaseCommand):
    help = "Stores clicks that were spooled while the database was unavailable (idempotent)."

    def handle(self, *args, **options):
        stored = click_spool_flush()
        self.stdout.write(f"{stored} spooled clicks stored.")
