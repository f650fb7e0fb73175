"""Staff screens for field surveys: the review queue, one submission against the register (map, diff, photos),
edit-then-approve, reject, bulk approval; the forms a municipality offers; setting up a phone.

Who may do what: a form's reviewers (catalogue.FormSpec.review_roles) review it; its senders see their own
submissions and set up their phones; the municipal admin chooses the forms.
"""

from __future__ import annotations

import base64
import json
import math
import zlib

from django.contrib import messages
from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imis.shared_apps.accounts.selectors import api_tokens_of, request_roles
from imis.shared_apps.tenants.features import enabled_features_of
from imis.tenant_apps.registry.forms import add_service_errors
from imis.tenant_apps.registry.models import Building, Road

from .catalogue import FORMS, SUBMIT_ROLES, form_spec
from .changes import Issue
from .models import DeviceKey, Submission
from .review_forms import EDIT_FORMS, SERVICE_FIELD_NAMES
from .selectors import enabled_forms, queue_counts, submission_detail, submissions_listed
from .services import (
    device_key_issue,
    form_enable,
    forms_available,
    max_attachment_bytes,
    submission_approve,
    submission_reject,
    submission_review,
    submissions_approve_clean,
)
from .xforms import form_compiled, xlsx_bytes

PER_PAGE = 50
NEIGHBOUR_RADIUS_M = 60
NEIGHBOUR_LIMIT = 150
ROAD_LIMIT = 30
DEVICE_KEY_SESSION = "surveys_new_device_key"
STATUS_TONES = {"staged": "status-suspended", "approved": "status-active", "rejected": "status-archived"}
LEGEND_SUBMITTED = {"icon": "bi-square-fill text-primary", "label": gettext_lazy("Submitted")}
LEGEND_REGISTERED = {"icon": "bi-square-fill text-success", "label": gettext_lazy("In the register")}
LEGEND_POINT = {"icon": "bi-circle-fill text-warning-emphasis",
                "label": gettext_lazy("Point recorded or registered (point at it to see which)")}
LEGEND_NEIGHBOURS = {"icon": "bi-square text-secondary", "label": gettext_lazy("Other buildings")}
LEGEND_ROADS = {"icon": "bi-dash-lg text-secondary", "label": gettext_lazy("Roads")}


def _forbidden(request, reason="role"):
    return render(request, "errors/403.html", {"reason": reason}, status=403)


def _review_form_ids(request) -> list[str]:
    roles = request_roles(request)
    return [form_id for form_id, spec in FORMS.items() if spec.review_roles & roles]


def _is_sender(request) -> bool:
    return bool(request_roles(request) & SUBMIT_ROLES)


def _is_admin(request) -> bool:
    return "municipal_admin" in request_roles(request)


def _nav_flags(request) -> dict:
    return {"is_reviewer": bool(_review_form_ids(request)), "is_sender": _is_sender(request),
            "is_admin": _is_admin(request)}


def _status_badge(submission: Submission) -> dict:
    return {"tone": STATUS_TONES.get(submission.status, ""), "label": submission.get_status_display()}


def _issue_messages(submission: Submission) -> list[str]:
    return [Issue(item.get("code", ""), item.get("params", {})).message for item in submission.issues or []]


# --- the queue ----------------------------------------------------------------------------------------

@require_GET
def index(request):
    review_ids = _review_form_ids(request)
    if not review_ids and not _is_sender(request):
        return _forbidden(request)
    status = request.GET.get("status", "staged")
    if status not in Submission.Status.values:
        status = "staged"
    form_id = request.GET.get("form", "")
    if form_id not in FORMS:
        form_id = ""
    is_reviewer = bool(review_ids)
    queryset = (submissions_listed(form_ids=review_ids, status=status, form_id=form_id) if is_reviewer
                else submissions_listed(form_ids=FORMS, status=status, form_id=form_id,
                                        submitted_by_id=request.user.pk))
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"submission": s, "spec": form_spec(s.form_id), "badge": _status_badge(s), "issues": _issue_messages(s)}
            for s in page.object_list]
    counts = queue_counts(form_ids=review_ids) if is_reviewer else None
    return render(request, "surveys/index.html", {
        "is_reviewer": is_reviewer, "is_sender": _is_sender(request), "is_admin": _is_admin(request),
        "rows": rows, "page": page, "status": status, "form_id": form_id, "counts": counts,
        "statuses": Submission.Status.choices,
        "form_choices": [(fid, FORMS[fid].title) for fid in (review_ids or FORMS)],
        "available": forms_available(request.municipality),
        "clean_on_page": sum(1 for row in rows if row["submission"].is_clean and status == "staged"),
    })


@require_POST
def bulk_approve(request):
    ids = [int(value) for value in request.POST.getlist("submission") if value.isdigit()]
    review_ids = set(_review_form_ids(request))
    if not review_ids:
        return _forbidden(request)
    ids = list(Submission.objects.filter(pk__in=ids, form_id__in=review_ids).values_list("pk", flat=True))
    if not ids:
        messages.warning(request, _("Choose the submissions to approve."))
        return redirect("surveys:index")
    approved, skipped = submissions_approve_clean(submission_ids=ids, by=request.user)
    if approved:
        messages.success(request, _("%(count)s submission(s) approved and merged into the register.")
                         % {"count": len(approved)})
    for submission, reason in skipped[:10]:
        messages.warning(request, _("%(record)s left for review: %(reason)s")
                         % {"record": submission.target_label or submission.instance_name, "reason": reason})
    return redirect("surveys:index")


# --- one submission -----------------------------------------------------------------------------------

def _submission_or_404(pk: int) -> Submission:
    try:
        return submission_detail(pk)
    except Submission.DoesNotExist:
        raise Http404("No such submission")


def _may_view(request, submission: Submission) -> bool:
    return submission.form_id in _review_form_ids(request) or submission.submitted_by_id == request.user.pk


def _may_review(request, submission: Submission) -> bool:
    return submission.form_id in _review_form_ids(request)


def _feature(geometry: GEOSGeometry, **properties) -> dict:
    return {"type": "Feature", "geometry": json.loads(geometry.json), "properties": properties}


def _map_data(review) -> dict | None:
    """The submitted geometry over the registered one, with the buildings and roads around them."""
    geometries = [g for g in (review.proposed_geometry, review.current_geometry) if g is not None]
    if not geometries:
        return None
    lat = geometries[0].centroid.y
    d_lat = NEIGHBOUR_RADIUS_M / 111_320
    d_lon = NEIGHBOUR_RADIUS_M / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    extents = [g.extent for g in geometries]
    box = Polygon.from_bbox((min(e[0] for e in extents) - d_lon, min(e[1] for e in extents) - d_lat,
                             max(e[2] for e in extents) + d_lon, max(e[3] for e in extents) + d_lat))
    box.srid = 4326
    exclude = [review.target.pk] if isinstance(review.target, Building) else []
    features = [_feature(road.geom, role="road", label=str(road)) for road in
                Road.objects.filter(geom__bboverlaps=box).only("pk", "code", "name", "geom").order_by()[:ROAD_LIMIT]]
    features += [_feature(b.footprint, role="neighbour", label=b.bin,
                          url=reverse("registry:building_detail", kwargs={"pk": b.pk}))
                 for b in Building.objects.filter(footprint__bboverlaps=box).exclude(pk__in=exclude)
                 .only("pk", "bin", "footprint").order_by()[:NEIGHBOUR_LIMIT]]
    if review.current_geometry is not None:
        features.append(_feature(review.current_geometry, role="served",
                                 label=_("In the register: %(record)s") % {"record": review.target_label}))
    if review.proposed_geometry is not None:
        features.append(_feature(review.proposed_geometry, role="subject", label=_("Submitted")))
    return {"type": "FeatureCollection", "features": features}


def _detail_context(request, submission: Submission, review) -> dict:
    spec = form_spec(submission.form_id)
    rows = review.rows if review else []
    changed = [row for row in rows if row.is_changed]
    can_review = _may_review(request, submission) and submission.status == Submission.Status.STAGED
    return {
        "submission": submission, "spec": spec, "review": review, "rows": rows, "changed_count": len(changed),
        "badge": _status_badge(submission), "can_review": can_review,
        "can_approve": can_review and review is not None and not review.is_blocked and not spec.approval_blocked,
        "can_edit": can_review and submission.form_id in EDIT_FORMS and not spec.approval_blocked,
        "approval_blocked": spec.approval_blocked, "map_data": _map_data(review) if review else None,
        "map_label": _("Map of the submitted and the registered geometry"),
        "legend": _legend(review),
        "photos": [a for a in submission.attachments.all() if a.is_image],
        "files": [a for a in submission.attachments.all() if not a.is_image],
        "record_url": _record_url(submission),
        **_nav_flags(request),
    }


def _legend(review) -> list[dict]:
    legend = []
    geometries = [g for g in (review.proposed_geometry, review.current_geometry) if g is not None] if review else []
    if review and review.proposed_geometry is not None and review.proposed_geometry.geom_type != "Point":
        legend.append(LEGEND_SUBMITTED)
    if review and review.current_geometry is not None and review.current_geometry.geom_type != "Point":
        legend.append(LEGEND_REGISTERED)
    if any(g.geom_type == "Point" for g in geometries):
        legend.append(LEGEND_POINT)
    return [*legend, LEGEND_NEIGHBOURS, LEGEND_ROADS]


def _record_url(submission: Submission) -> str:
    names = {"registry.building": "registry:building_detail", "registry.containment": "registry:containment_detail",
             "fsm.application": "fsm:application_detail"}
    if submission.target_id and submission.target_model in names:
        return reverse(names[submission.target_model], kwargs={"pk": submission.target_id})
    return ""


@require_GET
def submission_page(request, pk: int):
    submission = _submission_or_404(pk)
    if not _may_view(request, submission):
        return _forbidden(request)
    review = submission_review(submission) if submission.status == Submission.Status.STAGED else None
    return render(request, "surveys/submission_detail.html", _detail_context(request, submission, review))


@require_POST
def approve(request, pk: int):
    submission = _submission_or_404(pk)
    if not _may_review(request, submission):
        return _forbidden(request)
    try:
        submission = submission_approve(submission=submission, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("surveys:submission", pk=pk)
    messages.success(request, _("Approved: %(record)s is updated in the register.") % {"record": submission.target_label})
    return redirect(_next_in_queue(submission) or reverse("surveys:index"))


def _next_in_queue(submission: Submission) -> str:
    following = (Submission.objects.filter(status=Submission.Status.STAGED, form_id=submission.form_id)
                 .exclude(pk=submission.pk).order_by("-received_at").values_list("pk", flat=True).first())
    return reverse("surveys:submission", kwargs={"pk": following}) if following else ""


@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    submission = _submission_or_404(pk)
    if not _may_review(request, submission) or submission.form_id not in EDIT_FORMS:
        return _forbidden(request)
    if submission.status != Submission.Status.STAGED:
        return redirect("surveys:submission", pk=pk)
    review = submission_review(submission)
    form_class = EDIT_FORMS[submission.form_id]
    form = form_class(request.POST or None, review=review)
    if request.method == "POST" and form.is_valid():
        try:
            submission = submission_approve(submission=submission, by=request.user, edits=form.edits())
        except ValidationError as error:
            add_service_errors(form, error, field_names=SERVICE_FIELD_NAMES)
        else:
            messages.success(request, _("Approved with your edits: %(record)s is updated in the register.")
                             % {"record": submission.target_label})
            return redirect(_next_in_queue(submission) or reverse("surveys:index"))
    context = _detail_context(request, submission, review)
    context["form"] = form
    return render(request, "surveys/submission_edit.html", context)


@require_POST
def reject(request, pk: int):
    submission = _submission_or_404(pk)
    if not _may_review(request, submission):
        return _forbidden(request)
    try:
        submission_reject(submission=submission, by=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("surveys:submission", pk=pk)
    messages.success(request, _("Rejected. The surveyor sees your reason."))
    return redirect(_next_in_queue(submission) or reverse("surveys:index"))


@require_GET
def attachment(request, pk: int, filename: str):
    submission = _submission_or_404(pk)
    if not _may_view(request, submission):
        return _forbidden(request)
    item = next((a for a in submission.attachments.all() if a.filename == filename), None)
    if item is None:
        raise Http404(filename)
    response = FileResponse(item.file.open("rb"), content_type=item.content_type if item.is_image
                            else "application/octet-stream", as_attachment=not item.is_image, filename=item.filename)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- forms and devices --------------------------------------------------------------------------------

@require_GET
def forms_page(request):
    if not _is_admin(request):
        return _forbidden(request)
    rows = enabled_forms()
    features = enabled_features_of(request.municipality)
    items = []
    for spec in FORMS.values():
        row = rows.get(spec.form_id)
        items.append({
            "spec": spec, "row": row, "is_enabled": bool(row and row.is_enabled),
            "has_feature": not spec.features or bool(set(spec.features) & features),
            "version": form_compiled(spec.form_id).version,
            "wards": ", ".join(str(n) for n in (row.ward_numbers if row else [])),
        })
    return render(request, "surveys/forms.html", {
        "items": items, "max_attachment_mb": max_attachment_bytes() // (1024 * 1024), **_nav_flags(request)})


@require_POST
def form_toggle(request, form_id: str):
    if not _is_admin(request):
        return _forbidden(request)
    try:
        wards = [int(part) for part in request.POST.get("wards", "").replace(",", " ").split()]
    except ValueError:
        messages.error(request, _("Ward numbers are numbers, separated by commas."))
        return redirect("surveys:forms")
    try:
        row = form_enable(form_id=form_id, by=request.user, is_enabled=request.POST.get("is_enabled") == "1",
                          ward_numbers=wards)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        spec = form_spec(form_id)
        messages.success(request, (_("%(form)s is offered to devices.") if row.is_enabled
                                   else _("%(form)s is no longer offered.")) % {"form": spec.title})
    return redirect("surveys:forms")


@require_GET
def xlsform_download(request, form_id: str):
    if not (_is_admin(request) or _review_form_ids(request)) or form_id not in FORMS:
        return _forbidden(request)
    response = HttpResponse(xlsx_bytes(form_id),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{form_id}.xlsx"'
    return response


def _collect_qr(*, server_url: str, username: str, key: str, project: str) -> str:
    """ODK Collect's "configure via QR code" settings (zlib-compressed JSON, base64) as an SVG data URI."""
    import qrcode
    import qrcode.image.svg

    settings_json = json.dumps({"general": {"server_url": server_url, "username": username, "password": key},
                                "admin": {}, "project": {"name": project}})
    payload = base64.b64encode(zlib.compress(settings_json.encode("utf-8"))).decode("ascii")
    image = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode("ascii")


@require_http_methods(["GET", "POST"])
def device_page(request):
    if not _is_sender(request):
        return _forbidden(request)
    server_url = request.build_absolute_uri("/openrosa")
    if request.method == "POST":
        try:
            _device, key = device_key_issue(user=request.user, municipality=request.municipality,
                                            name=request.POST.get("name", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            request.session[DEVICE_KEY_SESSION] = key
        return redirect("surveys:device")
    new_key = request.session.pop(DEVICE_KEY_SESSION, None)
    keys = {key.token_id for key in DeviceKey.objects.filter(user_id=request.user.pk)}
    tokens = [token for token in api_tokens_of(user=request.user, municipality=request.municipality)
              if token.pk in keys]
    return render(request, "surveys/device.html", {
        "server_url": server_url, "username": request.user.email, "new_key": new_key, "tokens": tokens,
        "qr": _collect_qr(server_url=server_url, username=request.user.email, key=new_key,
                          project=f"IMIS {request.municipality.name}") if new_key else "",
        "is_https": request.is_secure(),
        "forms": [spec for spec in forms_available(request.municipality) if spec.submit_roles & request_roles(request)],
        **_nav_flags(request),
    })
