"""CSV downloads of the analytics tables, safe to open in a spreadsheet.

A cell that starts with = + - @ (or a tab or carriage return) is a formula to Excel, LibreOffice
and Google Sheets, and a caption or coupon code is text a stranger wrote: such cells get a leading
apostrophe so they stay text (OWASP's advice for CSV injection). Numbers are written as they are,
so negative amounts stay numbers; six-place quantities (credited orders, weights) are written
exactly but without trailing zeros (2, 0.5, 0.333333).

A table that grows with the workspace's history (the orders) streams (`csv_stream`): its rows
are written as they are read, a chunk of the query at a time, so a download of every order holds
one chunk in memory, not the whole table.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str | int | Decimal:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal) and value.as_tuple().exponent == -6:
        whole = value.to_integral_value()
        return whole.quantize(Decimal(1)) if value == whole else value.normalize()
    if isinstance(value, int | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return response


class _Line:
    """A file-like target for csv.writer that hands back what it was given to write."""

    def write(self, text: str) -> str:
        return text


def csv_stream(
    filename: str, header: Sequence[str], rows: Iterable[Sequence]
) -> StreamingHttpResponse:
    """`csv_response`, written while `rows` is read: pass an iterator over the query
    (`queryset.iterator(chunk_size=...)`) so that nothing holds every row."""
    writer = csv.writer(_Line())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
