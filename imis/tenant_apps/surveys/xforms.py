"""XLSForm → XForm (pyxform) and reading what a device sends back.

A form compiles once per process and per .xlsx content; the XForm served to devices, its md5 in the form list
and the field types used to read submissions all come from that one compilation.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element  # noqa: S405 - types only; parsing goes through defusedxml

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from .forms.build_xlsforms import xlsx_path

XFORMS_NS = "http://www.w3.org/2002/xforms"
HTML_NS = "http://www.w3.org/1999/xhtml"
MEDIA_PREFIX = "jr://file-csv/"


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str  # the XForm bind type: string, int, decimal, date, time, dateTime, geopoint, geoshape, binary
    is_multiple: bool = False


@dataclass(frozen=True)
class CompiledForm:
    form_id: str
    version: str
    title: str
    xml: bytes
    md5: str
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    media: tuple[str, ...] = ()

    @property
    def hash(self) -> str:
        return f"md5:{self.md5}"


_cache: dict[str, tuple[str, CompiledForm]] = {}
_lock = threading.Lock()


def xlsx_bytes(form_id: str) -> bytes:
    return xlsx_path(form_id).read_bytes()


def form_compiled(form_id: str) -> CompiledForm:
    """The XForm of a catalogue form, compiled from its .xlsx (cached while the file stays the same)."""
    source = xlsx_bytes(form_id)
    digest = hashlib.md5(source, usedforsecurity=False).hexdigest()
    cached = _cache.get(form_id)
    if cached and cached[0] == digest:
        return cached[1]
    with _lock:
        compiled = xform_compile(source, form_id=form_id)
        _cache[form_id] = (digest, compiled)
    return compiled


def xform_compile(source: bytes, *, form_id: str) -> CompiledForm:
    from pyxform.xls2xform import convert

    result = convert(source, file_type=".xlsx", form_name="data")
    xml = result.xform.encode("utf-8")
    root = SafeElementTree.fromstring(xml)
    instance = root.find(f"{{{HTML_NS}}}head/{{{XFORMS_NS}}}model/{{{XFORMS_NS}}}instance")
    data = instance[0]
    if data.get("id") != form_id:
        raise ValueError(f"{form_id}.xlsx declares form id {data.get('id')!r}")
    title = root.findtext(f"{{{HTML_NS}}}head/{{{HTML_NS}}}title") or form_id
    return CompiledForm(
        form_id=form_id, version=data.get("version") or "", title=title, xml=xml,
        md5=hashlib.md5(xml, usedforsecurity=False).hexdigest(), fields=_fields_of(root),
        media=tuple(sorted(src[len(MEDIA_PREFIX):] for src in
                           (el.get("src") or "" for el in root.iter(f"{{{XFORMS_NS}}}instance"))
                           if src.startswith(MEDIA_PREFIX))),
    )


def _fields_of(root: Element) -> dict[str, FieldInfo]:
    multiple = {el.get("ref", "").rsplit("/", 1)[-1] for el in root.iter(f"{{{XFORMS_NS}}}select")}
    fields = {}
    for bind in root.iter(f"{{{XFORMS_NS}}}bind"):
        name = bind.get("nodeset", "").rsplit("/", 1)[-1]
        fields[name] = FieldInfo(name=name, type=bind.get("type", "string"), is_multiple=name in multiple)
    return fields


# --- submissions ---------------------------------------------------------------------------------------

class SubmissionXmlError(ValueError):
    """The submission's XML cannot be read."""


@dataclass(frozen=True)
class ParsedSubmission:
    form_id: str
    version: str
    instance_id: str
    values: dict[str, str]
    instance_name: str = ""


def submission_parse(xml: bytes) -> ParsedSubmission:
    """Form id, version, instanceID and the answers (leaf name → text) of a submission's XML."""
    try:
        root = SafeElementTree.fromstring(xml)
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise SubmissionXmlError(str(error)) from error
    form_id = root.get("id") or ""
    values: dict[str, str] = {}
    meta: dict[str, str] = {}

    def walk(element: Element, target: dict[str, str]) -> None:
        for child in element:
            if len(child):
                walk(child, meta if _local(child.tag) == "meta" else target)
            else:
                target[_local(child.tag)] = (child.text or "").strip()

    walk(root, values)
    return ParsedSubmission(form_id=form_id, version=root.get("version") or "",
                            instance_id=meta.get("instanceID", ""), values=values,
                            instance_name=meta.get("instanceName", ""))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --- answer formats -------------------------------------------------------------------------------------

_NUMBER = r"-?\d+(?:\.\d+)?"
_GEOPOINT = re.compile(rf"^\s*({_NUMBER})\s+({_NUMBER})(?:\s+({_NUMBER}))?(?:\s+({_NUMBER}))?\s*$")


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float
    altitude: float | None = None
    accuracy: float | None = None


def geopoint_parse(text: str) -> GeoPoint | None:
    """ODK's "lat lon altitude accuracy"."""
    match = _GEOPOINT.match(text or "")
    if not match:
        return None
    lat, lon = float(match[1]), float(match[2])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return GeoPoint(lat, lon, float(match[3]) if match[3] else None, float(match[4]) if match[4] else None)


def geoshape_parse(text: str) -> list[GeoPoint] | None:
    """ODK's "lat lon alt acc;lat lon alt acc;…" (a closed ring), or None when unreadable."""
    points = [geopoint_parse(part) for part in (text or "").split(";") if part.strip()]
    if len(points) < 4 or any(point is None for point in points):
        return None
    return points  # type: ignore[return-value]
