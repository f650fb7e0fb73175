"""One workflow step as a page: a form (or none: a confirmation), the service it calls, back to the record.

Licences, sewer and water connections each walk a record through steps (inspect, approve, fee, activate, …); the
views are the same shape everywhere: show the step's form, call the service with the cleaned data, turn its
ValidationError into form errors (or a message when the step has no form), and go back to the record's page.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from imis.tenant_apps.registry.forms import add_service_errors


def workflow_step(request, *, record, form_class, call: Callable, success: str, title: str, back: str,
                  template: str, context_name: str, initial: dict | None = None, context: dict | None = None):
    """`call(record, cleaned_data)` runs the step; `back` is the record's page; `template` extends
    components/workflow_step.html and gets the record as `context_name`."""
    form = form_class(request.POST or None, initial=initial) if form_class else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            call(record, form.cleaned_data if form else {})
        except ValidationError as error:
            if form is None:
                messages.error(request, " ".join(error.messages))
                return redirect(back)
            add_service_errors(form, error)
        else:
            messages.success(request, success)
            return redirect(back)
    return render(request, template, {context_name: record, "record": record, "form": form, "title": title, "back": back,
                                      **(context or {})})
