"""Receiving submissions as ODK Collect sends them: staged (never applied), split parts merged, duplicates
idempotent, and every refusal a clear OpenRosa error with nothing staged."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from lxml import etree

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry.models import Building
from imis.tenant_apps.surveys.models import Submission, SubmissionAttachment

from .conftest import JPEG, building_update_answers, submission_xml

pytestmark = pytest.mark.django_db

RESPONSE = "{http://openrosa.org/http/response}"


def message_of(response) -> str:
    return etree.fromstring(response.content).findtext(f"{RESPONSE}message")


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_a_collect_submission_with_a_photo_is_staged_and_nothing_changes_in_the_register(street, device):
    xml = submission_xml("imis_building_survey", building_update_answers(), instance_id="uuid:8f1c0c3a-0001")

    response = device("field_surveyor").send(xml, {"1700000000001.jpg": JPEG})

    assert response.status_code == 201
    assert response["X-OpenRosa-Version"] == "1.0"
    root = etree.fromstring(response.content)
    assert root.tag == f"{RESPONSE}OpenRosaResponse"
    assert root.find(f"{RESPONSE}message").get("nature") == "submit_success"
    submission = Submission.objects.get()
    assert (submission.instance_id, submission.form_id, submission.status) == (
        "uuid:8f1c0c3a-0001", "imis_building_survey", "staged")
    assert submission.is_complete
    assert submission.submitted_by_label == "field_surveyor@khulna.test"
    assert submission.values["floors"] == "3"
    assert submission.target_label == "B-1" and submission.target_model == "registry.building"
    photo = submission.attachments.get()
    assert (photo.filename, photo.size, photo.content_type) == ("1700000000001.jpg", len(JPEG), "image/jpeg")
    assert Path(photo.file.path).read_bytes() == JPEG
    assert Path(photo.file.path).is_relative_to(Path(settings.MEDIA_ROOT) / "surveys" / "khulna")
    assert street.refresh("B-1").floors == 2  # staged, not applied
    assert AuditEntry.objects.filter(model="surveys.submission", action="create").count() == 1


def test_a_split_submission_is_merged_by_instance_id(street, device):
    surveyor = device("field_surveyor")
    xml = submission_xml("imis_building_survey",
                         building_update_answers(photo="a.jpg"), instance_id="uuid:split-1")

    first = surveyor.send(xml, {"a.jpg": JPEG}, incomplete=True)
    staged = Submission.objects.get()
    assert first.status_code == 201
    assert not staged.is_complete
    assert {"code": "incomplete", "params": {}} in staged.issues
    second = surveyor.send(xml, {"b.jpg": JPEG + b"2"})

    assert second.status_code == 201
    submission = Submission.objects.get()
    assert submission.is_complete
    assert sorted(submission.attachments.values_list("filename", flat=True)) == ["a.jpg", "b.jpg"]
    assert all(issue["code"] != "incomplete" for issue in submission.issues)


def test_a_duplicate_is_idempotent(street, device):
    surveyor = device("field_surveyor")
    xml = submission_xml("imis_building_survey", building_update_answers(), instance_id="uuid:dup-1")

    responses = [surveyor.send(xml, {"1700000000001.jpg": JPEG}) for _ in range(3)]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert "already" in message_of(responses[1])
    assert Submission.objects.count() == 1
    assert SubmissionAttachment.objects.count() == 1
    assert len(stored_files()) == 1


def test_the_same_instance_id_with_other_answers_is_a_conflict(street, device):
    surveyor = device("field_surveyor")
    surveyor.send(submission_xml("imis_building_survey", building_update_answers(photo=""), instance_id="uuid:c-1"))

    response = surveyor.send(submission_xml("imis_building_survey", building_update_answers(photo="", floors="9"),
                                            instance_id="uuid:c-1"))

    assert response.status_code == 409
    assert Submission.objects.get().values["floors"] == "3"


@pytest.mark.parametrize(("xml", "status", "words"), [
    (b"<data id='imis_building_survey' version='2026112801'><floors>3</flo", 400, "not well-formed XML"),
    (b"<!DOCTYPE d [<!ENTITY a 'x'>]><data id='imis_building_survey'>&a;</data>", 400, "not well-formed XML"),
    ("wrong_version", 409, "Get the blank form again"),
    ("unknown_form", 404, "no form “imis_secret_survey”"),
    ("no_instance", 400, "no instanceID"),
])
def test_bad_submissions_are_refused_with_a_clear_message_and_nothing_is_staged(street, device, xml, status, words):
    if xml == "wrong_version":
        xml = submission_xml("imis_building_survey", building_update_answers(photo=""), version="2025010101")
    elif xml == "unknown_form":
        xml = submission_xml("imis_building_survey", {}).replace(b'"imis_building_survey"', b'"imis_secret_survey"')
    elif xml == "no_instance":
        xml = submission_xml("imis_building_survey", {}).replace(b"<instanceID>", b"<x>").replace(b"</instanceID>",
                                                                                                   b"</x>")

    response = device("field_surveyor").send(xml, {"1700000000001.jpg": JPEG})

    assert response.status_code == status
    assert response["X-OpenRosa-Version"] == "1.0"
    assert words in message_of(response)
    assert Submission.objects.count() == 0
    assert stored_files() == []


def test_an_oversized_attachment_is_refused_and_nothing_is_stored(street, device, settings):
    settings.IMIS_SURVEY_MAX_ATTACHMENT_BYTES = 1000
    settings.IMIS_SURVEY_MAX_REQUEST_BYTES = 100_000
    xml = submission_xml("imis_building_survey", building_update_answers(photo="big.jpg"))

    response = device("field_surveyor").send(xml, {"small.jpg": JPEG[:500], "big.jpg": JPEG})

    assert response.status_code == 413
    assert "big.jpg is 2 kB; files may be at most 1 kB" in message_of(response)
    assert Submission.objects.count() == 0
    assert stored_files() == []


def test_a_request_larger_than_announced_is_refused_before_it_is_read(street, device, settings):
    settings.IMIS_SURVEY_MAX_REQUEST_BYTES = 1000

    response = device("field_surveyor").send(submission_xml("imis_building_survey", building_update_answers()),
                                             {"1700000000001.jpg": JPEG})

    assert response.status_code == 413
    assert Submission.objects.count() == 0


def test_a_form_the_municipality_does_not_use_is_refused(street, device):
    xml = submission_xml("imis_disposal_log", {"treatment_plant": "1"})

    response = device("plant_operator").send(xml)

    assert response.status_code == 404
    assert "not in use in Khulna City Corporation" in message_of(response)
    assert Submission.objects.count() == 0


def test_a_role_may_send_only_its_forms(street, device):
    response = device("service_provider").send(
        submission_xml("imis_building_survey", building_update_answers(photo="")))

    assert response.status_code == 403
    assert Submission.objects.count() == 0


def test_a_request_without_the_xml_file_is_refused(street, device):
    surveyor = device("field_surveyor")

    response = surveyor.client.post("/openrosa/submission", {"photo.jpg": b"x"}, **surveyor.headers())

    assert response.status_code == 400
    assert "xml_submission_file" in message_of(response)


def test_attachment_names_cannot_climb_out_of_the_submission_folder(street, device):
    xml = submission_xml("imis_building_survey", building_update_answers(photo="evil.jpg"))

    response = device("field_surveyor").send(xml, {"../../evil.jpg": JPEG})

    assert response.status_code == 201
    attachment = SubmissionAttachment.objects.get()
    assert attachment.filename == "evil.jpg"
    assert Path(attachment.file.path).is_relative_to(Path(settings.MEDIA_ROOT) / "surveys")


def test_a_submission_about_a_missing_building_is_staged_with_the_issue(street, device):
    xml = submission_xml("imis_building_survey", building_update_answers(building="B-404", photo=""))

    assert device("field_surveyor").send(xml).status_code == 201

    submission = Submission.objects.get()
    assert not submission.is_clean
    assert submission.issues[0]["code"] == "record_missing"
    assert Building.objects.count() == 3


def test_devices_post_without_a_csrf_token(street, world):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from .conftest import basic

    client = Client(HTTP_HOST="khulna.localhost", enforce_csrf_checks=True)
    xml = submission_xml("imis_building_survey", building_update_answers(photo=""))

    response = client.post("/openrosa/submission",
                           {"xml_submission_file": SimpleUploadedFile("submission.xml", xml, "text/xml")},
                           HTTP_AUTHORIZATION=basic("field_surveyor@khulna.test"))

    assert response.status_code == 201
