import csv
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from commerce import services


class Command(BaseCommand):
    help = (
        "Loads exchange rates from a CSV with columns day,from,to,rate (1 `from` = rate `to`), "
        "then converts the orders that were waiting for a rate."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        rows, problems = [], []
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if set(reader.fieldnames or []) != {"day", "from", "to", "rate"}:
                raise CommandError("Expected the columns day,from,to,rate.")
            for row in reader:
                try:
                    rate = Decimal(row["rate"].strip())
                    src, dst = row["from"].strip().upper(), row["to"].strip().upper()
                    if rate <= 0 or len(src) != 3 or len(dst) != 3:
                        raise ValueError("a rate is positive between ISO 4217 codes")
                    rows.append((date.fromisoformat(row["day"].strip()), src, dst, rate))
                except (ValueError, InvalidOperation) as exc:
                    problems.append(f"line {reader.line_num}: {exc}")
        for problem in problems:
            self.stderr.write(problem)
        count = services.exchange_rates_load(rates=rows)
        self.stdout.write(self.style.SUCCESS(f"{count} rates loaded, {len(problems)} rejected."))
