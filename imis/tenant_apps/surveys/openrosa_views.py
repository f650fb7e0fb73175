"""The OpenRosa 1.0 server a municipality's domain offers to ODK Collect (and other OpenRosa clients).

GET  /openrosa/formList                      the forms this user may fill (formList XML)
GET  /openrosa/forms/<id>.xml                a form's XForm (its md5 is the hash in the list)
GET  /openrosa/forms/<id>/manifest           its media files (manifest XML, md5 hashes)
GET  /openrosa/forms/<id>/media/<file>       one media file (CSV choice lists of this municipality)
HEAD /openrosa/submission                    204, with the size a POST may have
POST /openrosa/submission                    multipart: xml_submission_file + attachments → 201, staged

Devices authenticate every request with HTTP Basic or Digest (auth.py), never with a session: these views are
open to the session middleware (public_page, CSRF-exempt) and check credentials, membership and role here.
"""

from __future__ import annotations

from functools import wraps

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from imis.platform.middleware import public_page, user_needs_mfa
from imis.shared_apps.accounts.selectors import user_roles_in

from .auth import challenges, openrosa_authenticate, realm_of
from .catalogue import SUBMIT_ROLES
from .media import media_files
from .openrosa import (
    XML_CONTENT_TYPE,
    challenge_response,
    form_list_xml,
    manifest_xml,
    openrosa_headers,
    openrosa_message,
    xml_response,
)
from .selectors import enabled_forms
from .services import OpenRosaError, Upload, forms_for_roles, max_request_bytes, submission_receive
from .xforms import form_compiled

XML_FIELD = "xml_submission_file"


def openrosa_endpoint(*methods: str):
    """Authenticate the device (Basic/Digest/token), check membership and role, answer in OpenRosa terms."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            municipality = request.municipality
            if municipality is None:
                return openrosa_message(_("No municipality is served at this address."), status=404)
            if request.method not in methods:
                response = openrosa_message(_("Method not allowed."), status=405)
                response["Allow"] = ", ".join(methods)
                return response
            outcome = openrosa_authenticate(request, municipality)
            if outcome.failure == "throttled":
                response = openrosa_message(_("Too many failed sign-ins. Wait a few minutes and try again."),
                                            status=429)
                response["Retry-After"] = str(outcome.retry_after)
                return response
            if outcome.user is None:
                message = (_("Wrong email or password (or device key).") if outcome.failure == "invalid"
                           else _("Sign in with your IMIS email and password or a device key."))
                return challenge_response(message, challenges(realm_of(municipality),
                                                              stale=outcome.failure == "stale"))
            roles = user_roles_in(user=outcome.user, municipality=municipality)
            if not roles:
                return openrosa_message(_("Your account is not a member of %(municipality)s.")
                                        % {"municipality": municipality.name}, status=403)
            if not roles & SUBMIT_ROLES:
                return openrosa_message(_("Your role in %(municipality)s does not send field forms.")
                                        % {"municipality": municipality.name}, status=403)
            if outcome.method == "password" and user_needs_mfa(outcome.user):
                return openrosa_message(_("Your account signs in with a second factor: use a device key from "
                                          "IMIS (Surveys → Set up a device) instead of your password."), status=403)
            request.openrosa_user, request.openrosa_roles = outcome.user, roles
            try:
                response = view(request, *args, **kwargs)
            except OpenRosaError as error:
                response = openrosa_message(error.message, status=error.status)
            except Http404:
                response = openrosa_message(_("Not found."), status=404)
            return openrosa_headers(response)

        return public_page(csrf_exempt(wrapped))

    return decorator


def _form_for(request, form_id: str):
    spec = next((spec for spec in forms_for_roles(request.municipality, request.openrosa_roles)
                 if spec.form_id == form_id), None)
    if spec is None:
        raise Http404(form_id)
    return spec


def _ward_numbers(form_id: str) -> list[int]:
    row = enabled_forms().get(form_id)
    return list(row.ward_numbers) if row else []


def _media(request, form_id: str, only: str | None = None):
    return media_files(form_id=form_id, municipality=request.municipality, user=request.openrosa_user,
                       ward_numbers=_ward_numbers(form_id), only=only)


@openrosa_endpoint("GET", "HEAD")
def form_list(request):
    wanted = request.GET.get("formID", "")
    entries = []
    for spec in forms_for_roles(request.municipality, request.openrosa_roles):
        if wanted and spec.form_id != wanted:
            continue
        compiled = form_compiled(spec.form_id)
        entries.append({
            "formID": spec.form_id, "name": str(spec.title), "version": compiled.version, "hash": compiled.hash,
            "descriptionText": str(spec.description),
            "downloadUrl": request.build_absolute_uri(reverse("surveys:openrosa_form", args=[spec.form_id])),
            "manifestUrl": (request.build_absolute_uri(reverse("surveys:openrosa_manifest", args=[spec.form_id]))
                            if compiled.media else ""),
        })
    return xml_response(form_list_xml(entries))


@openrosa_endpoint("GET", "HEAD")
def form_xml(request, form_id: str):
    _form_for(request, form_id)
    compiled = form_compiled(form_id)
    response = HttpResponse(compiled.xml, content_type=XML_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{form_id}.xml"'
    response["ETag"] = f'"{compiled.md5}"'
    return response


@openrosa_endpoint("GET", "HEAD")
def form_manifest(request, form_id: str):
    _form_for(request, form_id)
    files = [{"filename": media.filename, "hash": f"md5:{media.md5}",
              "downloadUrl": request.build_absolute_uri(reverse("surveys:openrosa_media",
                                                                args=[form_id, media.filename]))}
             for media in _media(request, form_id).values()]
    return xml_response(manifest_xml(files))


@openrosa_endpoint("GET", "HEAD")
def form_media(request, form_id: str, filename: str):
    _form_for(request, form_id)
    media = _media(request, form_id, only=filename).get(filename)
    if media is None:
        raise Http404(filename)
    response = HttpResponse(media.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{media.filename}"'
    response["ETag"] = f'"{media.md5}"'
    return response


@openrosa_endpoint("HEAD", "POST")
def submission(request):
    limit = max_request_bytes()
    if request.method == "HEAD":
        response = HttpResponse(status=204)
        response["X-OpenRosa-Accept-Content-Length"] = str(limit)
        return response
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise OpenRosaError(413, _("This submission is larger than the server takes in one request (%(limit)s MB).")
                            % {"limit": f"{limit / (1024 * 1024):.0f}"}, code="request_too_large")
    xml_file = request.FILES.get(XML_FIELD)
    if xml_file is None:
        raise OpenRosaError(400, _("The request has no xml_submission_file."), code="no_xml")
    xml = xml_file.read()
    uploads = [Upload(upload.name, upload.content_type or "", upload.read())
               for field, files in request.FILES.lists() if field != XML_FIELD for upload in files]
    record, created = submission_receive(
        municipality=request.municipality, user=request.openrosa_user, roles=request.openrosa_roles, xml=xml,
        uploads=uploads, is_incomplete=request.POST.get("*isIncomplete*", "").lower() == "yes",
    )
    message = (_("Received: it waits for review at %(municipality)s.") if created
               else _("Received again: nothing new, it is already at %(municipality)s.")) % {
        "municipality": request.municipality.name}
    return openrosa_message(message, status=201, nature="submit_success")
