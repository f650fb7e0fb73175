"""OpenRosa 1.0 responses: the form list, manifests and OpenRosaResponse messages, with the headers every
OpenRosa response carries (X-OpenRosa-Version, Date)."""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring  # noqa: S405 - building XML, not parsing it

from django.http import HttpResponse
from django.utils.http import http_date

OPENROSA_VERSION = "1.0"
FORM_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"


def openrosa_headers(response: HttpResponse) -> HttpResponse:
    response["X-OpenRosa-Version"] = OPENROSA_VERSION
    response.setdefault("Date", http_date())
    return response


def xml_response(root: Element, *, status: int = 200) -> HttpResponse:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)
    return openrosa_headers(HttpResponse(body, status=status, content_type=XML_CONTENT_TYPE))


def _text(parent: Element, tag: str, text: str) -> Element:
    element = SubElement(parent, tag)
    element.text = text
    return element


def form_list_xml(entries: list[dict]) -> Element:
    """entries: formID, name, version, hash ("md5:…"), descriptionText, downloadUrl, manifestUrl (optional)."""
    root = Element("xforms", {"xmlns": FORM_LIST_NS})
    for entry in entries:
        xform = SubElement(root, "xform")
        for tag in ("formID", "name", "version", "hash", "descriptionText", "downloadUrl", "manifestUrl"):
            if entry.get(tag) not in (None, ""):
                _text(xform, tag, str(entry[tag]))
    return root


def manifest_xml(files: list[dict]) -> Element:
    """files: filename, hash ("md5:…"), downloadUrl."""
    root = Element("manifest", {"xmlns": MANIFEST_NS})
    for entry in files:
        media = SubElement(root, "mediaFile")
        for tag in ("filename", "hash", "downloadUrl"):
            _text(media, tag, entry[tag])
    return root


def openrosa_message(message: str, *, status: int, nature: str = "") -> HttpResponse:
    """`<OpenRosaResponse><message nature="…">…</message></OpenRosaResponse>`: Collect shows the message."""
    root = Element("OpenRosaResponse", {"xmlns": RESPONSE_NS, "items": "0"})
    attributes = {"nature": nature} if nature else {}
    _text(root, "message", message).attrib.update(attributes)
    return xml_response(root, status=status)


class ChallengeResponse(HttpResponse):
    """A 401 offering several authentication schemes, one WWW-Authenticate header each (RFC 7235).

    Django keeps one value per header name; the WSGI handler sends `items()`, so the other challenges go there.
    """

    extra_challenges: list[str]

    def items(self):
        yield from super().items()
        for challenge in getattr(self, "extra_challenges", []):
            yield ("WWW-Authenticate", challenge)


def challenge_response(message: str, challenges: list[str]) -> HttpResponse:
    root = Element("OpenRosaResponse", {"xmlns": RESPONSE_NS, "items": "0"})
    _text(root, "message", message)
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8")
    response = ChallengeResponse(body, status=401, content_type=XML_CONTENT_TYPE)
    response["WWW-Authenticate"] = challenges[0]
    response.extra_challenges = challenges[1:]
    return openrosa_headers(response)
