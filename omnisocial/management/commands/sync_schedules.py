from django.core.management.base import BaseCommand
from django_q.models import Schedule

from omnisocial.schedules import SCHEDULES

MANAGED_PREFIX = "omnisocial:"


class Command(BaseCommand):
    help = "Creates or updates the django-q2 schedules declared in omnisocial/schedules.py."

    def handle(self, *args, **options):
        declared = set()
        for entry in SCHEDULES:
            name = MANAGED_PREFIX + entry["name"]
            declared.add(name)
            defaults = {key: value for key, value in entry.items() if key != "name"}
            _, created = Schedule.objects.update_or_create(name=name, defaults=defaults)
            self.stdout.write(f"{'created' if created else 'kept'} schedule {name}")
        stale = Schedule.objects.filter(name__startswith=MANAGED_PREFIX).exclude(name__in=declared)
        removed, _ = stale.delete()
        self.stdout.write(f"{len(declared)} schedules declared, {removed} stale removed.")
