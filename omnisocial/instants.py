"""Instants that arrive from outside (API input, filters): aware, in UTC, in a sane range.

An ISO 8601 offset may say -23:35 and a year may say 0416; PostgreSQL refuses offsets past
±15:59, so such values must be normalised or refused before they reach a query.
"""

from datetime import UTC, date, datetime

import django_filters
from django.core.exceptions import ValidationError
from rest_framework import serializers

EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
# Days of what users set (a KPI's date range): the same span.
EARLIEST_DAY, LATEST_DAY = date(EARLIEST_YEAR, 1, 1), date(LATEST_YEAR, 12, 31)
DAY_RANGE_MESSAGE = f"Give a day from {EARLIEST_DAY} to {LATEST_DAY}."


def day_in_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def validate_day(day: date | None) -> None:
    """A validator (model, form or DRF field): ValidationError for a day outside 2000-2099."""
    if day is not None and not day_in_range(day):
        raise ValidationError(DAY_RANGE_MESSAGE, code="day_out_of_range")


def instant_normalise(value: datetime | None) -> datetime | None:
    """The same instant in UTC; ValidationError outside 2000-2099 (no order or post is)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationError("Give a time zone (e.g. 2026-11-25T10:00:00Z).")
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationError("The time is out of range.") from exc
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(f"Give a time between {EARLIEST_YEAR} and {LATEST_YEAR}.")
    return value


class InstantField(serializers.DateTimeField):
    """An API date-time normalised to UTC and kept within 2000-2099."""

    def to_internal_value(self, value):
        try:
            return instant_normalise(super().to_internal_value(value))
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


class _InstantFormField(django_filters.fields.IsoDateTimeField):
    def clean(self, value):
        return instant_normalise(super().clean(value))


class InstantFilter(django_filters.IsoDateTimeFilter):
    """A filter on an ISO 8601 instant, normalised like `InstantField` (400 when out of range)."""

    field_class = _InstantFormField
