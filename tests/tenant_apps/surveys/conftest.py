"""A Khulna street for field surveys, and submissions built the way ODK Collect builds them."""

from __future__ import annotations

import base64
import datetime
import uuid
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.surveys.services import form_enable
from imis.tenant_apps.surveys.xforms import form_compiled
from tests.tenant_apps.registry.factories import at, point, road, square, ward
from tests.world import PASSWORD

# A JPEG's first bytes are enough for a photo here: the server stores what it gets.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 2000 + b"\xff\xd9"
REGISTRY_FORMS = ("imis_building_survey", "imis_containment_survey")


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()  # failed-login counters and cached lists from other tests
    yield
    cache.clear()


class Street:
    """Ward 1 of Khulna with road R-1, three buildings (B-1 and B-2 on holding 1-0001-00001) and a septic tank."""

    def __init__(self, world):
        self.world = world
        officer = world.user("gis_officer", "khulna")
        self.ward = ward(1, -500, -500, 500, 500)
        road("R-1", (-300, 0), (300, 0), name="KDA Avenue")
        self.holding = registry.holding_create(holding_id="1-0001-00001", ward=self.ward, by=officer,
                                               address="12 KDA Avenue")
        self.other_holding = registry.holding_create(holding_id="1-0001-00002", ward=self.ward, by=officer)
        self.buildings = {}
        for n, x in ((1, 0), (2, 40), (3, 80)):
            self.buildings[f"B-{n}"] = registry.building_create(
                by=officer, bin=f"B-{n}", footprint=square(x, 10, 12), holding=self.holding if n < 3 else None,
                floors=2, households=1, population_male=2, population_female=2, functional_use="residential",
                structure_type="pucca", sanitation_system="septic_tank", has_toilet=True, toilet_count=1,
                water_source="tube_well")
        self.containment = registry.containment_create(
            by=officer, building_ids=[self.buildings["B-1"].pk], code="C-1", type="septic_tank", outlet="soak_pit",
            length_m=Decimal("2"), width_m=Decimal("1.5"), depth_m=Decimal("1.2"), location=point(5, 30))
        for form_id in REGISTRY_FORMS:
            form_enable(form_id=form_id, by=None)

    def refresh(self, name):
        building = self.buildings[name]
        building.refresh_from_db()
        return building


@pytest.fixture
def street(world):
    with tenant_context(world.khulna):
        yield Street(world)
    connection.set_schema_to_public()


# --- what a device sends ------------------------------------------------------------------------------

def basic(email: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()


def geopoint(x_m: float, y_m: float, accuracy: float = 4.0) -> str:
    lon, lat = at(x_m, y_m)
    return f"{lat:.8f} {lon:.8f} 12.0 {accuracy}"


def geoshape(x_m: float, y_m: float, side_m: float) -> str:
    corners = [at(x_m, y_m), at(x_m + side_m, y_m), at(x_m + side_m, y_m + side_m), at(x_m, y_m + side_m)]
    corners.append(corners[0])
    return ";".join(f"{lat:.8f} {lon:.8f} 0.0 3.0" for lon, lat in corners)


def submission_xml(form_id: str, answers: dict, *, instance_id: str | None = None, version: str | None = None) -> bytes:
    """The instance XML as Collect writes it: the form's root with id and version, answers, meta/instanceID."""
    version = version if version is not None else form_compiled(form_id).version
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    instance_name = answers.get("building") or answers.get("new_bin") or answers.get("containment") or form_id
    now = datetime.datetime.now(datetime.UTC).astimezone(datetime.timezone(datetime.timedelta(hours=6)))
    stamp = now.isoformat(timespec="milliseconds")
    body = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in
                   {"start": stamp, "end": stamp, "deviceid": "collect:TEST1234", **answers}.items())
    return (f"<?xml version='1.0' ?><data id=\"{form_id}\" version=\"{version}\" "
            f"xmlns:jr=\"http://openrosa.org/javarosa\" xmlns:orx=\"http://openrosa.org/xforms\">{body}"
            f"<meta><instanceID>{instance_id}</instanceID><instanceName>{escape(instance_name)}</instanceName></meta>"
            f"</data>").encode()


def building_update_answers(**overrides) -> dict:
    answers = {
        "mode": "update", "ward": "1", "building": "B-1", "base_version": "", "geometry": "keep",
        "holding_id": "1-0001-00001", "structure_type": "pucca", "floors": "3", "construction_year": "1998",
        "functional_use": "mixed", "households": "2", "population_male": "4", "population_female": "5",
        "population_other": "0", "population_differently_abled": "1", "is_low_income": "no",
        "water_source": "tube_well", "has_toilet": "yes", "toilet_count": "2", "has_shared_toilet": "no",
        "sanitation_system": "septic_tank", "is_desludging_vehicle_accessible": "yes", "photo": "1700000000001.jpg",
        "notes": "Third floor added in 2025.",
    }
    answers.update(overrides)
    return answers


class Device:
    """An ODK Collect on a municipality's domain: POSTs multipart submissions with Basic credentials."""

    def __init__(self, municipality, email: str, password: str = PASSWORD):
        self.client = Client(HTTP_HOST=municipality.get_primary_domain().domain)
        self.authorization = basic(email, password)

    def headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": self.authorization, "HTTP_X_OPENROSA_VERSION": "1.0"}

    def get(self, path: str, **extra):
        previous = connection.tenant
        try:
            return self.client.get(path, **self.headers(), **extra)
        finally:
            connection.set_tenant(previous)

    def head(self, path: str, **extra):
        previous = connection.tenant
        try:
            return self.client.head(path, **self.headers(), **extra)
        finally:
            connection.set_tenant(previous)

    def send(self, xml: bytes, files: dict[str, bytes] | None = None, *, incomplete: bool = False):
        data = {"xml_submission_file": SimpleUploadedFile("submission.xml", xml, content_type="text/xml")}
        for name, content in (files or {}).items():
            data[name] = SimpleUploadedFile(name, content, content_type="image/jpeg")
        if incomplete:
            data["*isIncomplete*"] = "yes"
        previous = connection.tenant
        try:
            return self.client.post("/openrosa/submission", data, **self.headers())
        finally:
            connection.set_tenant(previous)


@pytest.fixture
def device(world):
    def make(role: str = "field_surveyor", slug: str = "khulna", municipality=None, password: str = PASSWORD):
        return Device(municipality or getattr(world, slug), f"{role}@{slug}.test", password)

    return make
