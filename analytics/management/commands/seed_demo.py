from django.core.management.base import BaseCommand

from analytics.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Creates (or tops up) the demo workspace; safe to run again. Login demo@example.com / demo."
    )

    def handle(self, *args, verbosity=1, **options):
        """One summary line; each step's line with --verbosity 2."""
        summary = seed_demo(log=self.stdout.write if verbosity > 1 else lambda _: None)
        self.stdout.write(self.style.SUCCESS(summary))
