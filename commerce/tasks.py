"""django-q2 entry points: they take ids, load rows and call one service."""

import time

from django.conf import settings

from commerce.models import StoreImport, StoreProbe, WebhookDelivery
from commerce.probe import probe_run
from commerce.services import history, inbox


def delivery_process(delivery_id: int) -> str:
    delivery = WebhookDelivery.objects.select_related("store__workspace").get(pk=delivery_id)
    return inbox.delivery_process(delivery=delivery).status


def deliveries_sweep(not_before: float | None = None) -> int:
    """Processes the inbox's `received` deliveries (enqueued by the endpoint, and every minute).

    `not_before` (epoch seconds) ends the interval during which the web process that enqueued
    this sweep enqueues no other: a delivery it stored in that interval may have committed after
    the first pass, so the task waits for the end of the interval and passes once more.
    """
    done = inbox.deliveries_sweep()
    if not_before is not None:
        wait = min(not_before - time.time(), inbox.SWEEP_INTERVAL)
        if wait > 0:
            time.sleep(wait)
            done += inbox.deliveries_sweep()
    return done


def store_probe_run(probe_id: int) -> str:
    """Sends a store's test delivery (queued by the store page) and records its verdict."""
    found = StoreProbe.objects.select_related("store").filter(pk=probe_id).first()
    if found is None:  # the store was disconnected meanwhile
        return "gone"
    return probe_run(probe=found).outcome


def store_import_run(import_id: int) -> str:
    """Runs (or resumes) a store's order import, queued by `history.import_request`, the
    schedule or its own previous slice: half the task timeout at most per task, then it queues
    the rest, so the worker never kills it half-way through a page."""
    found = StoreImport.objects.filter(pk=import_id).first()
    if found is None:  # the store was disconnected meanwhile
        return "gone"
    limit = settings.Q_CLUSTER["timeout"] / 2
    return history.import_run(store_import=found, time_limit=limit).status


def stores_sync() -> int:
    """Every STORE_SYNC_MINUTES: a missed-webhook sync of each store with API credentials."""
    return history.stores_sync()
