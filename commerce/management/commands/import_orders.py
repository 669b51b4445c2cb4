from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from commerce import services
from commerce.imports import BadRow, read_orders
from commerce.models import StoreConnection


class Command(BaseCommand):
    help = (
        "Backfills a store's orders from a CSV (columns in docs/webhooks.md) or the platform's "
        "JSON order export. Bad rows are reported by line; running the same file again changes "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="StoreConnection id")
        parser.add_argument("file", type=Path)
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, store, file, batch_size, **options):
        try:
            connection = StoreConnection.objects.select_related("workspace").get(pk=store)
        except StoreConnection.DoesNotExist as exc:
            raise CommandError(f"No store with id {store}.") from exc
        if not file.exists():
            raise CommandError(f"{file} does not exist.")
        errors: list[BadRow] = []
        try:
            orders = tqdm(
                read_orders(file, platform=connection.platform, errors=errors),
                desc="importing", unit="order", disable=None,
            )  # fmt: skip
            result = services.order_import(store=connection, orders=orders, batch_size=batch_size)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for bad in errors:
            self.stderr.write(f"line {bad.line}: {bad.reason}")
        for note in result.notes:
            self.stderr.write(note)
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {len(errors)} rejected."
            )
        )
