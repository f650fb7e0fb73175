"""The audit log viewer: read-only (no edit or delete exists anywhere in the app), filterable, exportable."""

import csv
import json

from django import forms
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from imis.platform.permissions import permission_required

from .models import AuditEntry
from .selectors import audit_entries, audit_models


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(label=_("Record type"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("All"))] + list(AuditEntry.Action.choices))
    actor = forms.CharField(label=_("Who"), required=False)
    object_id = forms.CharField(label=_("Record id"), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", _("All"))] + [(m, m) for m in audit_models()]


def _cell(value) -> str:
    """Spreadsheet-safe text: a cell starting with = + - @ is not read as a formula."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


@require_GET
@permission_required("settings.manage")
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = audit_entries(**{key: value for key, value in filters.items() if value})
    if request.GET.get("export") == "csv":
        writer = csv.writer(_Echo())

        def rows():
            yield "\ufeff"
            yield writer.writerow(["when", "who", "action", "record", "id", "label", "before", "after"])
            for entry in entries.iterator(chunk_size=2000):
                yield writer.writerow([entry.created.isoformat(), _cell(entry.actor_label), entry.action,
                                       entry.model, entry.object_id, _cell(entry.object_label),
                                       _cell(entry.before) if entry.before is not None else "",
                                       _cell(entry.after) if entry.after is not None else ""])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/log.html", {"form": form, "page": page, "query": query.urlencode()})
