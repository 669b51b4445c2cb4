"""Recurring work, declared in code and synced into django-q2 by `manage.py sync_schedules`.

Each entry holds a django_q Schedule's fields (name, func, schedule_type, minutes...).
Later features append theirs here; the sync is idempotent and removes schedules no longer declared.
"""

from django.conf import settings

SCHEDULES: list[dict] = [
    # Clicks spooled while the database was unavailable (on the worker's host).
    {
        "name": "flush-click-spool",
        "func": "attribution.tasks.click_spool_flush",
        "schedule_type": "I",
        "minutes": 1,
    },
    # New clicks into the DailyClicks rollup the dashboard counts from (clicks past its mark are
    # counted raw, so figures are exact in between; a minute keeps that tail small).
    {
        "name": "roll-up-clicks",
        "func": "attribution.tasks.clicks_roll_up_all",
        "schedule_type": "I",
        "minutes": 1,
    },
    # Safety net behind the order signals (imports, lost tasks): orders changed since last pass.
    {
        "name": "attribute-changed-orders",
        "func": "attribution.tasks.attribute_changed_orders",
        "schedule_type": "I",
        "minutes": 5,
    },
    # Nightly full rebuild: refreshes the data-driven model's removal effects and every rollup.
    {
        "name": "recalculate-attribution",
        "func": "attribution.tasks.recalculate_all_workspaces",
        "schedule_type": "D",
        "at": "03:00",
    },
    # Revenue KPIs and outliers (analytics); alerts are raised on transitions, so hourly is quiet.
    {
        "name": "check-kpis",
        "func": "analytics.tasks.evaluate_all_workspaces",
        "schedule_type": "H",
    },
    # Webhook deliveries still `received`: the endpoint asks for a sweep as it stores them; this
    # one catches any whose request for a sweep was lost (a worker restart, a broker hiccup).
    {
        "name": "sweep-webhook-deliveries",
        "func": "commerce.tasks.deliveries_sweep",
        "schedule_type": "I",
        "minutes": 1,
    },
    # Orders the webhooks missed, from each store's own API (commerce.services.history); also
    # resumes an import whose worker was lost.
    {
        "name": "sync-store-orders",
        "func": "commerce.tasks.stores_sync",
        "schedule_type": "I",
        "minutes": settings.STORE_SYNC_MINUTES,
    },
    # Meta and TikTok figures (omnisocial.connections): each connection's daily run once a day of
    # its workspace, and runs paused by the platforms' usage limits resumed once they allow.
    {
        "name": "sync-platform-metrics",
        "func": "analytics.platform_sync.platform_syncs_due",
        "schedule_type": "H",
    },
]
