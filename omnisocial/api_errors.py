"""The API's one error shape (REST_FRAMEWORK["EXCEPTION_HANDLER"]).

Every refusal of a DRF view answers

    {"detail": "<one readable sentence>", "code": "<one of CODES>",
     "fields": {"<field or parameter>": ["<reason>", ...]}}

`detail` says what went wrong in words, `code` says which kind of error it is (a client branches
on it, never on the words), and `fields`, present only when the error is about particular fields
or query parameters, names each with its reasons. Nested inputs are named by their path
(`attributionModels.1`, `rows.2`), so every reason is a string under one flat name.

Views raise; they never build an error answer. DRF's exceptions, Django's `ValidationError`
(what services and `RevenueFilters.from_params` raise), `Http404` and `PermissionDenied` all come
here. A service that names its own fields differently from the API (`lookback_days` for
`lookbackDays`), or raises a reason about no field that the API places on one, is called inside
`service_errors`, which renames them on the way.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

# The documented codes, each with its status and what it means (docs/api.md lists the same).
CODES = {
    "invalid": (400, "A field, query parameter or id is invalid; `fields` names each with "
                "its reasons."),
    "parse_error": (400, "The body is not readable as its Content-Type (malformed JSON)."),
    "not_authenticated": (401, "No API key and no session."),
    "authentication_failed": (401, "The API key is malformed, unknown or revoked."),
    "permission_denied": (403, "Authenticated, but the key's scope or the user's role does not "
                          "allow this."),
    "not_found": (404, "No such object in this workspace (another workspace's ids answer this "
                  "too), or no such page of a list."),
    "method_not_allowed": (405, "The endpoint does not take this HTTP method."),
    "not_acceptable": (406, "The Accept header asks for a format the endpoint cannot give."),
    "conflict": (409, "The request clashes with the object's state (a recalculation already "
                 "queued, a KPI whose progress cannot be computed)."),
    "unsupported_media_type": (415, "The body's Content-Type is not one the endpoint reads."),
    "throttled": (429, "Too many requests; the Retry-After header says when to retry."),
    "unavailable": (503, "The database or the shared cache cannot be reached for now; the "
                    "Retry-After header says when to retry."),
}  # fmt: skip

# A code for an exception whose own is not documented, by its status.
CODE_BY_STATUS = {status_code: code for code, (status_code, _) in reversed(CODES.items())}


class Conflict(exceptions.APIException):
    """409: the request is fine, but the object's state refuses it for now."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the object."
    default_code = "conflict"


def error_body(code: str, detail: str, fields: Mapping[str, list[str]] | None = None) -> dict:
    """The one error shape; also what the API's answers given outside DRF views use (an unknown
    URL, an unreachable database)."""
    body = {"detail": detail, "code": code}
    if fields:
        body["fields"] = dict(fields)
    return body


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: the answer for an exception a view raised, in the one
    shape; None (a server error) for anything that is not a refusal of the request."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    code = exc.default_code if exc.default_code in CODES else None
    code = code or CODE_BY_STATUS.get(exc.status_code, "invalid")
    if isinstance(exc.detail, list | dict):
        fields, general = _fields_and_general(exc.detail)
        detail = _sentence(fields, general)
    else:
        fields, detail = {}, str(exc.detail)
    set_rollback()
    return Response(error_body(code, detail, fields), status=exc.status_code, headers=headers)


@contextmanager
def service_errors(
    names: Mapping[str, str] | None = None, *, field: str | None = None
) -> Iterator[None]:
    """Django ValidationErrors raised in the block, as the API names them: a service's field is
    renamed by `names` (service name -> API name), and reasons about no field go on `field`."""
    try:
        yield
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            renamed = {
                (names or {}).get(key, key): errors for key, errors in exc.error_dict.items()
            }
            raise DjangoValidationError(renamed) from exc
        if field is not None:
            raise DjangoValidationError({field: exc.error_list}) from exc
        raise


def _django_detail(exc: DjangoValidationError) -> dict | list:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return exc.messages


def _fields_and_general(detail, prefix: str = "") -> tuple[dict[str, list[str]], list[str]]:
    """Reasons by flat field name, and the reasons about no field."""
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if not prefix and key in (api_settings.NON_FIELD_ERRORS_KEY, NON_FIELD_ERRORS):
                _, reasons = _fields_and_general(value)
                general.extend(reasons)
                continue
            nested, reasons = _fields_and_general(value, f"{prefix}{key}.")
            fields.update(nested)
            if reasons:
                fields.setdefault(f"{prefix}{key}", []).extend(reasons)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                # A list of lists or of objects: the items of a list field, by position.
                nested, reasons = _fields_and_general(value, f"{prefix}{index}.")
                fields.update(nested)
                if reasons:
                    fields.setdefault(f"{prefix}{index}", []).extend(reasons)
            else:
                general.append(str(value))
    else:
        general.append(str(detail))
    # Within a field (a prefix), the reasons are the field's own: the caller files them.
    return fields, general


def _sentence(fields: dict[str, list[str]], general: list[str]) -> str:
    """One readable sentence for a validation error: its general reasons, else the first bad
    field's first reason (and how many more fields are bad)."""
    if general:
        return " ".join(general)
    if not fields:
        return "Invalid input."
    name, reasons = next(iter(fields.items()))
    more = len(fields) - 1
    sentence = f"{name}: {reasons[0]}"
    if more:
        sentence += f" (and {more} more field{'s' if more > 1 else ''})"
    return sentence
