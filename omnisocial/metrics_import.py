"""Cost and metrics import: rows of a CSV file or of an API batch, read into posts' daily
metrics, every bad row named with why before anything is saved.

Two layouts, told apart by their columns (docs/metrics.md, docs/api.md):
- GA4 cost data: `date, utm_source, utm_medium, utm_campaign, utm_content, impressions, clicks,
  cost`; `utm_content` is the post's reference (what its tracked links carry), `clicks` its link
  clicks, `cost` its spend;
- per post: `reference, date, impressions, reach, engagements, link_clicks, spend`.
Both take an optional `currency` (the spend's; the workspace's reporting currency when absent).
A blank cell leaves the stored figure as it is; a row gives at least one figure.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from omnisocial.models import Workspace, validate_currency
from omnisocial.post_metrics import (
    COUNTS,
    MAX_COUNT,
    MetricsRow,
    Rates,
    UpsertResult,
    post_metrics_upsert,
    spend_convert,
)

API_BATCH_MAX = 10_000
CSV_ROWS_MAX = 50_000

# Column names as files and API clients spell them -> the figure they give.
ALIASES = {
    "date": "day", "day": "day",
    "reference": "reference", "utm_content": "reference",
    "impressions": "impressions", "views": "impressions",
    "reach": "reach",
    "engagements": "engagements",
    "link_clicks": "link_clicks", "clicks": "link_clicks",
    "spend": "spend", "cost": "spend",
    "currency": "currency",
}  # fmt: skip
# GA4's other cost-data columns: read, not needed (the reference names the post).
KNOWN_UNUSED = {"utm_source", "utm_medium", "utm_campaign", "utm_id", "utm_term",
                "utm_source_platform", "utm_creative_format", "utm_marketing_tactic"}  # fmt: skip


def column_name(raw: str) -> str:
    """`Link clicks`, `link-clicks`, `linkClicks` and `link_clicks` are one column."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", raw.strip())
    return re.sub(r"[\s\-]+", "_", name).lower()


@dataclass
class ImportRows:
    """What a file or batch holds: the good rows (with their row numbers), the bad ones with
    their reasons, and the columns left unread."""

    rows: list[MetricsRow] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    layout: str = ""
    rates: Rates | None = None  # what converted the rows' spend; the save converts with it

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.errors)


def _count(value: str, name: str) -> int:
    if not re.fullmatch(r"[0-9]+", value):
        raise ValueError(f"{name} {value!r} is not a whole number of 0 or more")
    number = int(value)
    if number > MAX_COUNT:
        raise ValueError(f"{name} {value} is too large")
    return number


def _spend(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"spend {value!r} is not an amount such as 12.50") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"spend {value!r} is not an amount of 0 or more")
    if amount >= Decimal("1e12"):
        raise ValueError(f"spend {value} is too large")
    return amount


def _day(value: str, today: date) -> date:
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            day = datetime.strptime(value, pattern).date()  # noqa: DTZ007 - a calendar day
        except ValueError:
            continue
        if day > today:
            raise ValueError(f"date {value} is in the future (today is {today.isoformat()})")
        return day
    raise ValueError(f"date {value!r} is not a day such as 2026-03-01 or 20260301")


def rows_read(
    *, workspace: Workspace, records: list[dict], rates: Rates | None, first: int = 1
) -> ImportRows:
    """Reads `records` (dicts of column -> text) into metrics rows. Every problem of a row is
    named (`{"row": n, "reasons": [...]}`, n counting from `first`); a bad row is left out, the
    others are kept. Spend in another currency is converted here, so a missing rate is a bad
    row too."""
    found = ImportRows(rates=rates)
    columns = {column_name(str(key)) for record in records for key in record}
    found.ignored = sorted(c for c in columns if c not in ALIASES and c not in KNOWN_UNUSED)
    found.layout = "ga4" if "utm_content" in columns else "post"
    references = dict(workspace.posts.exclude(reference="").values_list("reference", "pk"))
    today = timezone.localdate(timezone.now(), workspace.zone)
    seen: dict[tuple[int, date], int] = {}
    for number, record in enumerate(records, first):
        values: dict[str, str] = {}
        for key, value in record.items():
            name = ALIASES.get(column_name(str(key)))
            text = "" if value is None else str(value).strip()
            if name and text:
                values[name] = text
        reasons, row = _row_read(workspace, values, references, today, rates)
        if row is not None and row.key in seen:
            reasons.append(
                f"{values['reference'].lower()} on {row.day.isoformat()} is already given by "
                f"row {seen[row.key]}"
            )
        if reasons:
            found.errors.append({"row": number, "reasons": reasons})
            continue
        seen[row.key] = number
        found.rows.append(row)
        found.numbers.append(number)
    return found


def _row_read(workspace, values, references, today, rates) -> tuple[list[str], MetricsRow | None]:
    reasons = []
    reference = values.get("reference", "").lower()
    post_id = references.get(reference)
    if not reference:
        reasons.append("no reference (utm_content) to name the post")
    elif post_id is None:
        reasons.append(f"no post of this workspace has the reference {reference!r}")
    day = None
    if "day" not in values:
        reasons.append("no date")
    else:
        try:
            day = _day(values["day"], today)
        except ValueError as exc:
            reasons.append(str(exc))
    counts, spend = {}, None
    for name in COUNTS:
        if name in values:
            try:
                counts[name] = _count(values[name], name.replace("_", " "))
            except ValueError as exc:
                reasons.append(str(exc))
    if "spend" in values:
        try:
            spend = _spend(values["spend"])
        except ValueError as exc:
            reasons.append(str(exc))
    currency = values.get("currency", workspace.reporting_currency).upper()
    try:
        validate_currency(currency)
    except ValidationError as exc:
        reasons.extend(exc.messages)
        currency = None
    if not counts and spend is None and "spend" not in values and not reasons:
        reasons.append("no figure: give impressions, reach, engagements, link clicks or spend")
    if spend is not None and day is not None and currency:
        try:
            spend_convert(workspace=workspace, amount=spend, currency=currency, day=day,
                          rates=rates)  # fmt: skip
        except ValidationError as exc:
            reasons.extend(exc.messages)
    if reasons:
        return reasons, None
    return [], MetricsRow(post_id=post_id, day=day, counts=counts, spend=spend, currency=currency)


def csv_records(content: bytes) -> list[dict]:
    """A CSV file's rows as dicts (UTF-8, with or without BOM; comma or semicolon). Raises
    ValidationError for a file that cannot be read at all."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("The file is not UTF-8 text: export it as CSV (UTF-8).") from exc
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = {column_name(name) for name in (reader.fieldnames or [])}
    if not columns & {"reference", "utm_content"} or not columns & {"date", "day"}:
        raise ValidationError(
            "The first line must name the columns: date and utm_content (GA4 cost data) or "
            "date and reference (per post), then the figures."
        )
    records = []
    for record in reader:
        if len(records) == CSV_ROWS_MAX:
            raise ValidationError(
                f"The file has more than {CSV_ROWS_MAX:,} rows: split it, or send batches to the "
                "API."
            )
        record.pop(None, None)  # cells past the header's columns
        if any((value or "").strip() for value in record.values()):
            records.append(record)
    return records


def rows_preview(*, workspace: Workspace, found: ImportRows, source: str) -> UpsertResult:
    """What saving `found` would do (created, updated, unchanged), found by running the save
    and rolling it back: the preview and the save cannot disagree."""
    with transaction.atomic():
        result = post_metrics_upsert(
            workspace=workspace, rows=found.rows, source=source, rates=found.rates
        )
        transaction.set_rollback(True)
    return result


def rows_save(*, workspace: Workspace, found: ImportRows, source: str) -> UpsertResult:
    """Saves the good rows (the bad ones were named in the preview), idempotently."""
    return post_metrics_upsert(
        workspace=workspace, rows=found.rows, source=source, rates=found.rates
    )
