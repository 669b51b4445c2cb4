"""Recurring work, declared in code and synced into django-q2 by `manage.py sync_schedules`.

Each entry: (name, dotted function, schedule type, minutes between runs for MINUTES schedules).
Later features append theirs here; the sync is idempotent and removes schedules no longer declared.
"""

SCHEDULES: list[dict] = []
