"""CSV downloads: streamed, UTF-8 with a byte-order mark (spreadsheets then read Bangla right), and safe from
formula injection (a cell starting like a formula is quoted; phone numbers in E.164 stay as they are)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

from django.db import connection
from django.http import StreamingHttpResponse
from django_tenants.utils import tenant_context

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONES = re.compile(r"^\+\d{6,15}(; \+\d{6,15})*$")


def csv_cell(value) -> object:
    """Text a spreadsheet would run as a formula (= + - @, tab, CR) gets a leading quote; None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PHONES.match(value):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """Streams `rows` (lists of values, possibly a lazy iterable of a queryset) as a CSV attachment. The rows are
    read in the schema of the request's municipality even though streaming happens after the view returned."""
    tenant = getattr(connection, "tenant", None)
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"
        yield writer.writerow(header)
        if tenant is None or getattr(tenant, "schema_name", "public") == "public":
            for row in rows:
                yield writer.writerow([csv_cell(value) for value in row])
            return
        with tenant_context(tenant):
            for row in rows:
                yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
