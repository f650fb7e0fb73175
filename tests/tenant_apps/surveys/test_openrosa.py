"""The OpenRosa server: form list, forms, manifests and media as the spec describes them; authentication,
membership, role and feature gates; the headers every response carries."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context
from lxml import etree

from imis.shared_apps.accounts.models import ApiToken
from imis.shared_apps.accounts.services import api_token_create
from imis.shared_apps.tenants.models import MunicipalityFeature
from imis.tenant_apps.surveys.auth import md5_hex
from imis.tenant_apps.surveys.models import Submission
from imis.tenant_apps.surveys.services import device_key_issue, form_enable
from imis.tenant_apps.surveys.xforms import form_compiled

from .conftest import Device, building_update_answers, submission_xml

pytestmark = pytest.mark.django_db

FORM_LIST_XSD = b"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="http://openrosa.org/xforms/xformsList"
           targetNamespace="http://openrosa.org/xforms/xformsList" elementFormDefault="qualified">
  <xs:simpleType name="hash"><xs:restriction base="xs:string"><xs:pattern value="md5:[0-9a-f]{32}"/></xs:restriction></xs:simpleType>
  <xs:element name="xforms"><xs:complexType><xs:sequence>
    <xs:element name="xform" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:sequence>
      <xs:element name="formID" type="xs:string"/>
      <xs:element name="name" type="xs:string"/>
      <xs:element name="version" type="xs:string" minOccurs="0"/>
      <xs:element name="hash" type="hash"/>
      <xs:element name="descriptionText" type="xs:string" minOccurs="0"/>
      <xs:element name="descriptionUrl" type="xs:anyURI" minOccurs="0"/>
      <xs:element name="downloadUrl" type="xs:anyURI"/>
      <xs:element name="manifestUrl" type="xs:anyURI" minOccurs="0"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""

MANIFEST_XSD = b"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="http://openrosa.org/xforms/xformsManifest"
           targetNamespace="http://openrosa.org/xforms/xformsManifest" elementFormDefault="qualified">
  <xs:simpleType name="hash"><xs:restriction base="xs:string"><xs:pattern value="md5:[0-9a-f]{32}"/></xs:restriction></xs:simpleType>
  <xs:element name="manifest"><xs:complexType><xs:sequence>
    <xs:element name="mediaFile" minOccurs="0" maxOccurs="unbounded"><xs:complexType><xs:sequence>
      <xs:element name="filename" type="xs:string"/>
      <xs:element name="hash" type="hash"/>
      <xs:element name="downloadUrl" type="xs:anyURI"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""

RESPONSE_XSD = b"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="http://openrosa.org/http/response"
           targetNamespace="http://openrosa.org/http/response" elementFormDefault="qualified">
  <xs:element name="OpenRosaResponse"><xs:complexType><xs:sequence>
    <xs:element name="message" minOccurs="0"><xs:complexType><xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="nature" type="xs:string"/>
    </xs:extension></xs:simpleContent></xs:complexType></xs:element>
  </xs:sequence><xs:attribute name="items" type="xs:integer"/></xs:complexType></xs:element>
</xs:schema>"""

FL = "{http://openrosa.org/xforms/xformsList}"
MF = "{http://openrosa.org/xforms/xformsManifest}"


def valid(xsd: bytes, body: bytes) -> etree._Element:
    schema = etree.XMLSchema(etree.fromstring(xsd))
    document = etree.fromstring(body)
    schema.assertValid(document)
    return document


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def assert_openrosa(response) -> None:
    assert response["X-OpenRosa-Version"] == "1.0"
    assert response.get("Date")


# --- the form list, forms, manifests and media --------------------------------------------------------

def test_form_list_matches_the_spec_and_its_hashes_are_the_forms_served(street, device):
    surveyor = device("field_surveyor")

    response = surveyor.get("/openrosa/formList")

    assert response.status_code == 200
    assert_openrosa(response)
    assert response["Content-Type"].startswith("text/xml")
    document = valid(FORM_LIST_XSD, response.content)
    forms = {xform.findtext(f"{FL}formID"): xform for xform in document.iter(f"{FL}xform")}
    assert set(forms) == {"imis_building_survey", "imis_containment_survey"}
    for form_id, xform in forms.items():
        assert xform.findtext(f"{FL}version") == form_compiled(form_id).version
        download = surveyor.get(path_of(xform.findtext(f"{FL}downloadUrl")))
        assert download.status_code == 200
        assert_openrosa(download)
        assert xform.findtext(f"{FL}hash") == "md5:" + hashlib.md5(download.content, usedforsecurity=False).hexdigest()
        assert f'id="{form_id}"'.encode() in download.content
        assert xform.findtext(f"{FL}downloadUrl").startswith("http://khulna.localhost/openrosa/forms/")
        assert xform.findtext(f"{FL}manifestUrl").endswith(f"/openrosa/forms/{form_id}/manifest")


def test_form_list_filters_by_form_id(street, device):
    response = device("field_surveyor").get("/openrosa/formList", data={"formID": "imis_containment_survey"})

    ids = [e.text for e in etree.fromstring(response.content).iter(f"{FL}formID")]
    assert ids == ["imis_containment_survey"]


def test_manifest_matches_the_spec_and_each_hash_is_the_file_served(street, device):
    surveyor = device("field_surveyor")

    response = surveyor.get("/openrosa/forms/imis_building_survey/manifest")

    assert response.status_code == 200
    assert_openrosa(response)
    document = valid(MANIFEST_XSD, response.content)
    files = {media.findtext(f"{MF}filename"): media for media in document.iter(f"{MF}mediaFile")}
    assert set(files) == {"wards.csv", "buildings.csv", "roads.csv"}
    for name, media in files.items():
        download = surveyor.get(path_of(media.findtext(f"{MF}downloadUrl")))
        assert download.status_code == 200, name
        assert_openrosa(download)
        assert download["Content-Type"].startswith("text/csv")
        assert media.findtext(f"{MF}hash") == "md5:" + hashlib.md5(download.content, usedforsecurity=False).hexdigest()


def test_the_buildings_list_carries_the_register_for_prefill_and_a_version_per_building(street, device):
    content = device("field_surveyor").get("/openrosa/forms/imis_building_survey/media/buildings.csv").content

    lines = content.decode().splitlines()
    assert lines[0].startswith("name,label,ward,__version,holding_id,structure_type,floors")
    b1 = next(line for line in lines if line.startswith("B-1,"))
    assert b1.startswith(f"B-1,B-1 · 1-0001-00001,1,{int(street.refresh('B-1').updated.timestamp())},1-0001-00001,"
                         f"pucca,2,")
    assert len(lines) == 4  # header + B-1, B-2, B-3


def test_a_ward_limit_keeps_other_wards_buildings_off_the_device(street, device):
    with tenant_context(street.world.khulna):
        form_enable(form_id="imis_building_survey", by=None, ward_numbers=[2])

    content = device("field_surveyor").get("/openrosa/forms/imis_building_survey/media/buildings.csv").content

    assert content.decode().splitlines() == [content.decode().splitlines()[0]]


def test_unknown_forms_and_files_are_404_in_openrosa_terms(street, device):
    surveyor = device("field_surveyor")

    for path in ("/openrosa/forms/nope.xml", "/openrosa/forms/imis_building_survey/media/secrets.csv",
                 "/openrosa/forms/imis_emptying_record.xml"):
        response = surveyor.get(path)
        assert response.status_code == 404, path
        assert_openrosa(response)
        valid(RESPONSE_XSD, response.content)


# --- who sees which form --------------------------------------------------------------------------------

def test_each_role_gets_its_forms(street, device):
    with tenant_context(street.world.khulna):
        form_enable(form_id="imis_emptying_record", by=None)
        form_enable(form_id="imis_disposal_log", by=None)

    def listed(role):
        response = device(role).get("/openrosa/formList")
        return {e.text for e in etree.fromstring(response.content).iter(f"{FL}formID")}

    assert listed("field_surveyor") == {"imis_building_survey", "imis_containment_survey"}
    assert listed("service_provider") == {"imis_emptying_record"}
    assert listed("plant_operator") == {"imis_disposal_log"}


def test_the_connection_survey_needs_the_sewer_or_water_feature(street, device, world):
    with tenant_context(world.khulna):
        with pytest.raises(Exception, match="needs one of these features"):
            form_enable(form_id="imis_connection_survey", by=None)
    connection.set_schema_to_public()
    MunicipalityFeature.objects.update_or_create(municipality=world.khulna, feature_id="sewer",
                                                 defaults={"is_enabled": True})
    world.khulna.__dict__.pop("_enabled_features", None)
    with tenant_context(world.khulna):
        form_enable(form_id="imis_connection_survey", by=None)
    surveyor = device("field_surveyor")

    listed = {e.text for e in etree.fromstring(surveyor.get("/openrosa/formList").content).iter(f"{FL}formID")}
    services = surveyor.get("/openrosa/forms/imis_connection_survey/media/services.csv").content.decode()

    assert "imis_connection_survey" in listed
    assert services.splitlines()[1:] == ["sewer,Sewer · সুয়ার"]


# --- authentication and authorisation -----------------------------------------------------------------

def test_without_credentials_the_client_is_challenged_with_basic_and_digest(street, world):
    from django.test import Client

    client = Client(HTTP_HOST="khulna.localhost")

    response = client.get("/openrosa/formList")

    assert response.status_code == 401
    assert_openrosa(response)
    challenges = [value for name, value in response.items() if name == "WWW-Authenticate"]
    assert challenges[0].startswith('Basic realm="IMIS khulna"')
    assert challenges[1].startswith('Digest realm="IMIS khulna", qop="auth"')


def test_head_on_submission_is_204_with_the_accepted_size(street, device):
    response = device("field_surveyor").head("/openrosa/submission")

    assert response.status_code == 204
    assert_openrosa(response)
    assert int(response["X-OpenRosa-Accept-Content-Length"]) >= 10 * 1024 * 1024


def test_a_wrong_password_is_refused_and_repeated_failures_are_throttled(street, device):
    wrong = device("field_surveyor", password="not-the-password")

    statuses = [wrong.get("/openrosa/formList").status_code for _ in range(6)]

    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    throttled = wrong.get("/openrosa/formList")
    assert throttled["Retry-After"] == "300"
    assert_openrosa(throttled)
    # the right password is refused too while the account is throttled
    assert device("field_surveyor").get("/openrosa/formList").status_code == 429
    cache.clear()
    assert device("field_surveyor").get("/openrosa/formList").status_code == 200


@pytest.mark.parametrize(("role", "slug", "status"), [
    ("field_surveyor", "jhenaidah", 403),  # a member of another municipality
    ("tax_officer", "khulna", 403),  # a member whose role sends no forms
    ("municipal_admin", "khulna", 403),  # an MFA role: a password alone is not enough
    ("field_surveyor", "khulna", 200),
])
def test_membership_role_and_second_factor_are_enforced(street, world, role, slug, status):
    response = Device(world.khulna, f"{role}@{slug}.test").get("/openrosa/formList")

    assert response.status_code == status
    assert_openrosa(response)


def test_a_foreign_users_submission_is_refused_and_nothing_is_staged(street, world):
    foreign = Device(world.khulna, "field_surveyor@jhenaidah.test")

    response = foreign.send(submission_xml("imis_building_survey", building_update_answers(photo="")))

    assert response.status_code == 403
    assert b"not a member of Khulna City Corporation" in response.content
    assert Submission.objects.count() == 0


def test_a_device_key_works_with_basic_and_with_digest_and_stops_when_revoked(street, world):
    user = world.user("field_surveyor", "khulna")
    with tenant_context(world.khulna):
        device_key, key = device_key_issue(user=user, municipality=world.khulna, name="Rahim's phone")
    connection.set_schema_to_public()

    assert Device(world.khulna, user.email, key).get("/openrosa/formList").status_code == 200

    from django.test import Client

    client = Client(HTTP_HOST="khulna.localhost")
    challenge = next(v for n, v in client.get("/openrosa/formList").items() if v.startswith("Digest"))
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    uri, nc, cnonce = "/openrosa/formList", "00000001", "0a4f113b"
    ha1 = md5_hex(f"{user.email}:{params['realm']}:{key}")
    answer = md5_hex(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{md5_hex(f'GET:{uri}')}")
    digest = (f'Digest username="{user.email}", realm="{params["realm"]}", nonce="{params["nonce"]}", uri="{uri}", '
              f'qop=auth, nc={nc}, cnonce="{cnonce}", response="{answer}", opaque="{params["opaque"]}", '
              f'algorithm=MD5')

    assert client.get(uri, HTTP_AUTHORIZATION=digest).status_code == 200
    # the same nonce count again is a replay: the client is challenged afresh, as stale
    replay = client.get(uri, HTTP_AUTHORIZATION=digest)
    assert replay.status_code == 401
    assert "stale=true" in replay["WWW-Authenticate"] + "".join(v for n, v in replay.items() if n == "WWW-Authenticate")

    ApiToken.objects.filter(pk=device_key.token_id).update(revoked_at="2026-01-01T00:00:00Z")
    assert Device(world.khulna, user.email, key).get("/openrosa/formList").status_code == 401


def test_digest_with_a_password_is_not_possible_and_counts_as_a_failure(street, world):
    from django.test import Client

    client = Client(HTTP_HOST="khulna.localhost")
    challenge = next(v for n, v in client.get("/openrosa/formList").items() if v.startswith("Digest"))
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    email, uri = "field_surveyor@khulna.test", "/openrosa/formList"
    ha1 = md5_hex(f"{email}:{params['realm']}:imis-demo")
    answer = md5_hex(f"{ha1}:{params['nonce']}:00000001:abc:auth:{md5_hex(f'GET:{uri}')}")
    digest = (f'Digest username="{email}", realm="{params["realm"]}", nonce="{params["nonce"]}", uri="{uri}", '
              f'qop=auth, nc=00000001, cnonce="abc", response="{answer}"')

    assert client.get(uri, HTTP_AUTHORIZATION=digest).status_code == 401


def test_an_api_token_header_is_accepted(street, world):
    from django.test import Client

    user = world.user("field_surveyor", "khulna")
    _token, key = api_token_create(user=user, municipality=world.khulna, name="script")
    client = Client(HTTP_HOST="khulna.localhost")

    assert client.get("/openrosa/formList", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_session_login_alone_does_not_open_the_openrosa_endpoints(street, world, tenant_client):
    client = tenant_client(world.khulna, world.user("field_surveyor", "khulna"))

    response = client.get("/openrosa/formList")

    assert response.status_code == 401
    assert_openrosa(response)


def test_basic_credentials_are_checked_for_the_right_user(street, world):
    user = world.user("field_surveyor", "khulna")
    _token, key = api_token_create(user=user, municipality=world.khulna, name="phone")
    someone_else = "Basic " + base64.b64encode(f"gis_officer@khulna.test:{key}".encode()).decode()
    from django.test import Client

    response = Client(HTTP_HOST="khulna.localhost").get("/openrosa/formList", HTTP_AUTHORIZATION=someone_else)

    assert response.status_code == 401
