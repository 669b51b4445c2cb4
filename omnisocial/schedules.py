"""Recurring work, declared in code and synced into django-q2 by `manage.py sync_schedules`.

Each entry holds a django_q Schedule's fields (name, func, schedule_type, minutes...).
Later features append theirs here; the sync is idempotent and removes schedules no longer declared.
"""

SCHEDULES: list[dict] = [
    # Clicks spooled while the database was unavailable (on the worker's host).
    {
        "name": "flush-click-spool",
        "func": "attribution.tasks.click_spool_flush",
        "schedule_type": "I",
        "minutes": 1,
    },
    # Webhook deliveries still `received`: the endpoint asks for a sweep as it stores them; this
    # one catches any whose request for a sweep was lost (a worker restart, a broker hiccup).
    {
        "name": "sweep-webhook-deliveries",
        "func": "commerce.tasks.deliveries_sweep",
        "schedule_type": "I",
        "minutes": 1,
    },
]
