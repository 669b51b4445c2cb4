from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from commerce import services
from commerce.models import WebhookDelivery


class Command(BaseCommand):
    help = "Processes failed (and waiting) webhook deliveries again from their stored raw bodies."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, help="only this store's deliveries")
        parser.add_argument("--id", type=int, action="append", dest="ids", help="one delivery id")
        parser.add_argument(
            "--status", action="append", choices=["failed", "waiting", "received"],
            help="statuses to replay (default: failed)",
        )  # fmt: skip

    def handle(self, *args, store=None, ids=None, status=None, **options):
        deliveries = WebhookDelivery.objects.filter(verified=True).select_related(
            "store__workspace"
        )
        if ids:
            deliveries = deliveries.filter(pk__in=ids)
        else:
            deliveries = deliveries.filter(status__in=status or ["failed"])
        if store:
            deliveries = deliveries.filter(store_id=store)
        deliveries = list(deliveries.order_by("received_at", "pk"))
        if ids and len(deliveries) != len(set(ids)):
            raise CommandError("Some ids are not verified deliveries.")
        outcome: dict[str, int] = {}
        for delivery in tqdm(deliveries, desc="replaying", unit="delivery", disable=None):
            done = services.delivery_replay(delivery=delivery)
            outcome[done.status] = outcome.get(done.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(outcome.items())) or "nothing to replay"
        self.stdout.write(self.style.SUCCESS(f"Replayed {len(deliveries)}: {summary}."))
