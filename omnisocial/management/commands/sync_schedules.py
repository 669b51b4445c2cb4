from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone
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
            defaults = {key: value for key, value in entry.items() if key not in {"name", "at"}}
            create_defaults = {**defaults, "next_run": _next_at(entry.get("at"))}
            _, created = Schedule.objects.update_or_create(
                name=name, defaults=defaults, create_defaults=create_defaults
            )
            self.stdout.write(f"{'created' if created else 'kept'} schedule {name}")
        stale = Schedule.objects.filter(name__startswith=MANAGED_PREFIX).exclude(name__in=declared)
        removed, _ = stale.delete()
        self.stdout.write(f"{len(declared)} schedules declared, {removed} stale removed.")


def _next_at(at: str | None) -> datetime:
    """The next time of day `at` ("HH:MM", UTC) from now; now when no time is given."""
    now = timezone.now()
    if not at:
        return now
    hour, minute = (int(part) for part in at.split(":"))
    candidate = datetime.combine(now.date(), time(hour, minute), tzinfo=now.tzinfo)
    return candidate if candidate > now else candidate + timedelta(days=1)
