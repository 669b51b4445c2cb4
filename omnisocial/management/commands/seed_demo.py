from django.core.management.base import BaseCommand

from omnisocial.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Creates (or tops up) the demo workspace; safe to run again. Login demo@example.com / demo."
    )

    def handle(self, *args, **options):
        summary = seed_demo(log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(summary))
