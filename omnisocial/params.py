"""The one reader of id parameters in queries and forms (`?post=`, `?campaign=`, `workspace`).

An id is ASCII digits only, 1 to MAX_ID: `str.isdigit` also accepts superscripts and other
scripts' digits that `int()` refuses (or reads as another number), and a longer number would
overflow the database's integer. Anything else is refused with a reason naming the parameter,
which pages and the API answer as 400.
"""

import django_filters
import django_filters.fields
from django.core.exceptions import ValidationError

# The largest id a BigAutoField holds.
MAX_ID = 2**63 - 1


def is_id(value: str) -> bool:
    """Whether `value` is written as an id (it may still name nothing)."""
    return value.isascii() and value.isdecimal() and len(value) <= 19 and 0 < int(value) <= MAX_ID


def id_param(params, name: str) -> int | None:
    """The id `params[name]` names, or None when it is absent or blank; raises
    ValidationError({name: reason}) for anything that is not a whole number in range."""
    value = params.get(name) or ""
    if not value:
        return None
    if not is_id(value):
        raise ValidationError({name: f"`{name}` must be an id (a whole number), not {value!r}."})
    return int(value)


def count_param(params, name: str, *, default: int, most: int) -> int:
    """A count `params[name]` asks for (1 to `most`, ASCII digits), `default` when absent or
    blank; raises ValidationError({name: reason}) otherwise."""
    value = params.get(name) or ""
    if not value:
        return default
    if not (value.isascii() and value.isdecimal() and len(value) <= 6 and 0 < int(value) <= most):
        raise ValidationError({name: f"`{name}` must be a whole number from 1 to {most}."})
    return int(value)


class IdChoiceField(django_filters.fields.ModelChoiceField):
    """A model choice read by `is_id`: Django's own field runs `int()` on the text, which reads
    `１` (a full-width digit) as 1 and names an object the client never wrote."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not is_id(text):
            raise ValidationError(
                "%(value)r is not an id (a whole number).", code="invalid_choice",
                params={"value": text},
            )  # fmt: skip
        return super().to_python(text)


class IdChoiceFilter(django_filters.ModelChoiceFilter):
    """django-filter's model choice over IdChoiceField (a bad id answers 400 naming the filter)."""

    field_class = IdChoiceField
