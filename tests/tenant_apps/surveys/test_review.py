"""The review: a field-by-field diff against the register; approve merges exactly the diff through the
registry/FSM services (audited); edit then approve; reject with a reason; bulk approval of clean submissions;
who may review; one municipality never sees another's submissions."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.fsm import services as fsm
from imis.tenant_apps.fsm.models import Application, EmptyingPhoto
from imis.tenant_apps.registry import services as registry
from imis.tenant_apps.registry.models import Building, Containment
from imis.tenant_apps.surveys.models import Submission
from imis.tenant_apps.surveys.services import (
    form_enable,
    submission_approve,
    submission_reject,
    submission_review,
    submissions_approve_clean,
)
from tests.tenant_apps.fsm.conftest import Site

from .conftest import JPEG, building_update_answers, geopoint, geoshape, submission_xml

pytestmark = pytest.mark.django_db


def staged(device, form_id, answers, files=None, role="field_surveyor") -> Submission:
    response = device(role).send(submission_xml(form_id, answers), files)
    assert response.status_code == 201, response.content
    return Submission.objects.order_by("-pk").first()


def officer(world):
    return world.user("gis_officer", "khulna")


# --- building survey ----------------------------------------------------------------------------------

def test_the_review_lists_each_field_against_the_register(street, device):
    submission = staged(device, "imis_building_survey", building_update_answers(), {"1700000000001.jpg": JPEG})

    review = submission_review(submission)

    rows = {row.name: row for row in review.rows}
    assert review.action == "update" and review.target == street.buildings["B-1"]
    assert (rows["floors"].current, rows["floors"].proposed, rows["floors"].is_changed) == (2, 3, True)
    assert rows["structure_type"].is_changed is False
    assert rows["functional_use"].current_display == "Residential" and rows["functional_use"].proposed_display == "Mixed"
    assert set(review.changes) == {"floors", "construction_year", "functional_use", "households", "population_male",
                                   "population_female", "population_differently_abled", "toilet_count",
                                   "is_desludging_vehicle_accessible", "surveyed_at", "verification_status"}
    assert submission.is_clean and review.is_clean


def test_approving_merges_exactly_the_diff_and_writes_the_audit(street, device, world):
    submission = staged(device, "imis_building_survey", building_update_answers(), {"1700000000001.jpg": JPEG})
    before = {f.attname: getattr(street.refresh("B-1"), f.attname) for f in Building._meta.concrete_fields}
    diff = submission_review(submission).changes

    approved = submission_approve(submission=submission, by=officer(world))

    building = street.refresh("B-1")
    after = {f.attname: getattr(building, f.attname) for f in Building._meta.concrete_fields}
    changed = {name for name in after if after[name] != before[name]} - {"updated"}
    assert changed == set(diff)
    assert (building.floors, building.functional_use, building.population_female, building.verification_status) == (
        3, "mixed", 5, "verified")
    assert approved.status == "approved" and approved.reviewed_by_label == "gis_officer@khulna.test"
    assert approved.target_model == "registry.building" and approved.target_id == building.pk
    assert approved.applied["floors"] == [2, 3]
    entry = AuditEntry.objects.filter(model="registry.building", object_id=str(building.pk),
                                      action="update").latest("id")
    assert entry.actor_label == "gis_officer@khulna.test"
    assert set(entry.after) == set(diff)
    assert entry.before["floors"] == 2 and entry.after["floors"] == 3
    review_entry = AuditEntry.objects.filter(model="surveys.submission", action="update").latest("id")
    assert review_entry.before == {"status": "staged"}
    assert review_entry.after["status"] == "approved" and review_entry.after["applied"]["floors"] == [2, 3]
    assert approved.attachments.get().filename == "1700000000001.jpg"  # the photo stays with the record


def test_a_new_building_with_an_outline_is_added(street, device, world):
    answers = building_update_answers(mode="new", building="", new_bin="b-9", geometry="shape",
                                      footprint=geoshape(150, 10, 10), holding_id="1-0001-00002", photo="")
    submission = staged(device, "imis_building_survey", answers)

    submission_approve(submission=submission, by=officer(world))

    building = Building.objects.get(bin="B-9")
    assert building.holding.holding_id == "1-0001-00002"
    assert building.ward == street.ward and building.floors == 3
    assert AuditEntry.objects.filter(model="registry.building", object_id=str(building.pk), action="create").exists()


def test_a_new_building_with_only_a_point_waits_for_an_outline_then_is_approved_with_the_edit(street, device,
                                                                                             world):
    answers = building_update_answers(mode="new", building="", new_bin="B-10", geometry="point",
                                      location=geopoint(200, 15), photo="")
    submission = staged(device, "imis_building_survey", answers)
    assert not submission.is_clean

    with pytest.raises(ValidationError) as refused:
        submission_approve(submission=submission, by=officer(world))
    assert refused.value.code == "blocked"
    from tests.tenant_apps.registry.factories import square

    submission_approve(submission=submission, by=officer(world), edits={"footprint": square(195, 10, 10),
                                                                        "floors": 1})

    building = Building.objects.get(bin="B-10")
    assert building.floors == 1
    submission.refresh_from_db()
    assert submission.edits["floors"] == 1 and submission.edits["footprint"].startswith("SRID=4326;POLYGON")


def test_a_building_changed_since_the_device_fetched_its_list_is_flagged(street, device, world):
    version = str(int(street.refresh("B-1").updated.timestamp()))
    registry.building_update(building=street.buildings["B-1"], by=officer(world), floors=4)
    Building.objects.filter(pk=street.buildings["B-1"].pk).update(
        updated=street.refresh("B-1").updated + datetime.timedelta(seconds=5))

    submission = staged(device, "imis_building_survey", building_update_answers(base_version=version, photo=""))

    assert not submission.is_clean
    assert {"code": "conflict", "params": {}} in submission.issues
    rows = {row.name: row for row in submission_review(submission).rows}
    assert (rows["floors"].current, rows["floors"].proposed) == (4, 3)


def test_a_service_refusal_leaves_the_submission_staged_and_the_register_untouched(street, device, world):
    submission = staged(device, "imis_building_survey", building_update_answers(photo="", floors="0"))

    with pytest.raises(ValidationError):
        submission_approve(submission=submission, by=officer(world))

    submission.refresh_from_db()
    assert submission.status == "staged"
    assert street.refresh("B-1").floors == 2


def test_reject_needs_a_reason_and_is_audited(street, device, world):
    submission = staged(device, "imis_building_survey", building_update_answers(photo=""))

    with pytest.raises(ValidationError):
        submission_reject(submission=submission, by=officer(world), reason=" ")
    submission_reject(submission=submission, by=officer(world), reason="Wrong building: B-1 has two floors.")

    submission.refresh_from_db()
    assert (submission.status, submission.rejection_reason) == ("rejected", "Wrong building: B-1 has two floors.")
    assert AuditEntry.objects.filter(model="surveys.submission", action="update").latest("id").after["reason"]
    with pytest.raises(ValidationError) as again:
        submission_approve(submission=submission, by=officer(world))
    assert again.value.code == "already_reviewed"


def test_bulk_approval_takes_only_the_clean_ones(street, device, world):
    clean_1 = staged(device, "imis_building_survey", building_update_answers(photo=""))
    clean_2 = staged(device, "imis_building_survey", building_update_answers(building="B-2", photo="", floors="5"))
    missing = staged(device, "imis_building_survey", building_update_answers(building="B-404", photo=""))

    approved, skipped = submissions_approve_clean(submission_ids=[clean_1.pk, clean_2.pk, missing.pk],
                                                  by=officer(world))

    assert {s.pk for s in approved} == {clean_1.pk, clean_2.pk}
    assert [s.pk for s, _reason in skipped] == [missing.pk]
    assert (street.refresh("B-1").floors, street.refresh("B-2").floors) == (3, 5)
    missing.refresh_from_db()
    assert missing.status == "staged"


def test_a_surveyor_cannot_approve_their_own_submission(street, device, world):
    submission = staged(device, "imis_building_survey", building_update_answers(photo=""))

    with pytest.raises(ValidationError) as refused:
        submission_approve(submission=submission, by=world.user("field_surveyor", "khulna"))

    assert refused.value.code == "forbidden"


# --- containment survey -------------------------------------------------------------------------------

def test_a_containment_update_changes_its_buildings_and_dimensions_but_not_for_gps_noise(street, device, world):
    answers = {"mode": "update", "ward": "1", "containment": "C-1", "base_version": "", "type": "septic_tank",
               "outlet": "drain", "length_m": "2.5", "width_m": "1.5", "depth_m": "1.2",
               "served_buildings": "B-1 B-2", "location": geopoint(5.5, 30.5), "photo": ""}
    submission = staged(device, "imis_containment_survey", answers)

    review = submission_review(submission)
    assert set(review.changes) == {"outlet", "length_m", "buildings", "surveyed_at"}
    submission_approve(submission=submission, by=officer(world))

    containment = Containment.objects.get(code="C-1")
    assert containment.outlet == "drain" and containment.length_m == Decimal("2.50")
    assert containment.volume_m3 == Decimal("4.50")
    assert sorted(containment.buildings.values_list("bin", flat=True)) == ["B-1", "B-2"]
    assert containment.location.equals_exact(street.containment.location, 1e-9)


# --- connections: staged only ------------------------------------------------------------------------

def test_connection_surveys_are_staged_but_cannot_be_approved_yet(street, device, world):
    from imis.shared_apps.tenants.models import MunicipalityFeature

    connection.set_schema_to_public()
    MunicipalityFeature.objects.update_or_create(municipality=world.khulna, feature_id="water_supply",
                                                 defaults={"is_enabled": True})
    connection.set_tenant(world.khulna)
    world.khulna.__dict__.pop("_enabled_features", None)
    form_enable(form_id="imis_connection_survey", by=None)
    answers = {"service": "water", "ward": "1", "building": "B-1", "is_connected": "yes",
               "water_customer_id": "W-77", "location": geopoint(3, 8), "photo": ""}
    submission = staged(device, "imis_connection_survey", answers)

    with pytest.raises(ValidationError) as refused:
        submission_approve(submission=submission, by=officer(world))

    assert refused.value.code == "approval_blocked"
    assert "Connections come with the water and sewer services" in refused.value.messages[0]
    assert {row.name: row.proposed for row in submission_review(submission).rows}["water_customer_id"] == "W-77"


# --- FSM: emptying records and disposal logs ----------------------------------------------------------

@pytest.fixture
def fsm_site(world):
    with tenant_context(world.khulna):
        site = Site(world)
        for form_id in ("imis_emptying_record", "imis_disposal_log"):
            form_enable(form_id=form_id, by=None)
        application = fsm.application_register(by=site.user("help_desk"), applicant_name="Rahima Begum",
                                               holding=site.holdings[0])
        application = fsm.application_approve(application=application, by=site.user("sanitation_officer"))
        site.application = fsm.application_schedule(
            application=application, by=site.user("sanitation_officer"), provider=site.provider, vehicle=site.truck,
            date=datetime.date.today(), slot="morning", crew=[site.driver])
        yield site
    connection.set_schema_to_public()


def emptying_answers(site, **overrides):
    answers = {"application": site.application.number, "emptied_on": datetime.date.today().isoformat(),
               "started_at": "09:10:00.000+06:00", "ended_at": "10:05:00.000+06:00",
               "vehicle": site.truck.registration, "volume_m3": "3.2", "trips": "1", "is_ppe_worn": "yes",
               "receipt_number": "R-100", "cost": "1500", "location": "", "photo": "crew.jpg",
               "receipt_photo": "receipt.jpg"}
    answers.update(overrides)
    return answers


def test_the_providers_work_orders_reach_its_crew(fsm_site, device):
    content = device("service_provider").get("/openrosa/forms/imis_emptying_record/media/applications.csv").content

    lines = content.decode().splitlines()
    assert lines[0] == "name,label,vehicle,containment"
    assert lines[1].startswith(f"{fsm_site.application.number},") and lines[1].endswith(",KHULNA-TA-11-0001,C-0")


def test_an_approved_emptying_record_advances_the_workflow_with_its_photos(fsm_site, device, world):
    submission = staged(device, "imis_emptying_record", emptying_answers(fsm_site),
                        {"crew.jpg": JPEG, "receipt.jpg": JPEG + b"r"}, role="service_provider")
    assert submission.is_clean, submission.issues
    assert Application.objects.get(pk=fsm_site.application.pk).status == "scheduled"

    submission_approve(submission=submission, by=world.user("sanitation_officer", "khulna"))

    application = Application.objects.get(pk=fsm_site.application.pk)
    assert application.status == "emptied"
    assert application.emptying.volume_m3 == Decimal("3.20") and application.emptying.receipt_number == "R-100"
    assert application.emptying.started_at == datetime.time(9, 10)
    assert EmptyingPhoto.objects.filter(emptying=application.emptying).count() == 2
    event = application.events.latest("id")
    assert event.actor_label == "service_provider@khulna.test"  # the crew recorded it; the reviewer approved it
    assert AuditEntry.objects.filter(model="surveys.submission", action="update",
                                     actor_label="sanitation_officer@khulna.test").exists()


def test_an_emptying_record_for_another_providers_order_is_blocked(fsm_site, device, world):
    fsm_site.provider.user_ids = []
    fsm_site.provider.save()
    submission = staged(device, "imis_emptying_record", emptying_answers(fsm_site), {"crew.jpg": JPEG},
                        role="service_provider")

    assert any(issue["code"] == "not_their_order" for issue in submission.issues)
    with pytest.raises(ValidationError):
        submission_approve(submission=submission, by=world.user("sanitation_officer", "khulna"))
    assert Application.objects.get(pk=fsm_site.application.pk).status == "scheduled"


def test_an_approved_disposal_log_disposes_the_applications_it_brings(fsm_site, device, world):
    application = fsm.application_record_emptying(application=fsm_site.application, by=fsm_site.user("service_provider"),
                                                  emptied_on=datetime.date.today(), volume_m3="3", trips=1)
    gate = device("plant_operator")
    listed = gate.get("/openrosa/forms/imis_disposal_log/media/applications.csv").content.decode()
    assert f"{application.number}," in listed
    answers = {"treatment_plant": str(fsm_site.plant.pk), "is_registered_vehicle": "yes",
               "vehicle": fsm_site.truck.registration, "arrived_at": datetime.datetime.now().astimezone().isoformat(),
               "volume_received_m3": "3.0", "applications": application.number, "photo": ""}
    submission = staged(device, "imis_disposal_log", answers, role="plant_operator")

    submission_approve(submission=submission, by=world.user("sanitation_officer", "khulna"))

    assert Application.objects.get(pk=application.pk).status == "disposed"
    submission.refresh_from_db()
    assert submission.target_model == "fsm.disposal"
