"""The review screens: who may open them, what they show, the actions they post, and isolation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from imis.tenant_apps.surveys.models import DeviceKey, EnabledForm, Submission

from .conftest import JPEG, building_update_answers, submission_xml

pytestmark = pytest.mark.django_db
QUEUE_QUERY_BOUND = 14


def stage(device, **overrides) -> Submission:
    response = device("field_surveyor").send(
        submission_xml("imis_building_survey", building_update_answers(**overrides)), {"1700000000001.jpg": JPEG})
    assert response.status_code == 201
    return Submission.objects.order_by("-pk").first()


def get(tenant_client, world, role, path, slug="khulna"):
    user = world.user(role, slug) if role else None
    client = tenant_client(world.khulna, user)
    previous = connection.tenant
    try:
        return client.get(path)
    finally:
        connection.set_tenant(previous)


@pytest.mark.parametrize(("role", "slug", "status"), [
    (None, "khulna", 302),  # anonymous: to the login page
    ("gis_officer", "jhenaidah", 403),  # a member elsewhere only
    ("tax_officer", "khulna", 403),  # wrong role
    ("gis_officer", "khulna", 200),
])
def test_who_may_open_a_submission(street, device, world, tenant_client, role, slug, status):
    submission = stage(device)

    response = get(tenant_client, world, role, f"/surveys/{submission.pk}/") if slug == "khulna" else \
        _as_member_elsewhere(tenant_client, world, f"/surveys/{submission.pk}/")

    assert response.status_code == status


def _as_member_elsewhere(tenant_client, world, path):
    client = tenant_client(world.khulna, world.user("gis_officer", "jhenaidah"))
    previous = connection.tenant
    try:
        return client.get(path)
    finally:
        connection.set_tenant(previous)


def test_the_review_page_shows_the_map_the_diff_and_the_photo(street, device, world, tenant_client):
    submission = stage(device)

    response = get(tenant_client, world, "gis_officer", f"/surveys/{submission.pk}/")

    html = response.content.decode()
    assert 'data-changed-field="floors"' in html
    assert 'id="minimap-data"' in html and '"role": "served"' in html  # the registered outline, its street
    assert '"role": "road"' in html and '"role": "neighbour"' in html
    assert f"/surveys/{submission.pk}/files/1700000000001.jpg" in html
    assert "Approve 11 changes" in html
    assert "Third floor added in 2025." in html


def test_the_surveyor_sees_their_submission_but_cannot_review_it(street, device, world, tenant_client):
    submission = stage(device)

    queue = get(tenant_client, world, "field_surveyor", "/surveys/")
    page = get(tenant_client, world, "field_surveyor", f"/surveys/{submission.pk}/")

    assert queue.status_code == 200 and "My field submissions" in queue.content.decode()
    assert page.status_code == 200
    assert "data-review-actions" not in page.content.decode()


def test_the_queue_lists_staged_submissions_in_a_bounded_number_of_queries(street, device, world, tenant_client):
    for floors in range(3, 8):
        stage(device, floors=str(floors), photo="")
    client = tenant_client(world.khulna, world.user("gis_officer", "khulna"))
    client.get("/surveys/")  # the first request may write the session

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/surveys/")
    connection.set_tenant(world.khulna)

    assert response.status_code == 200
    assert response.content.decode().count('name="submission"') == 5
    assert len(queries) <= QUEUE_QUERY_BOUND, [q["sql"] for q in queries.captured_queries]


def test_approve_edit_and_reject_through_the_pages(street, device, world, tenant_client):
    first, second, third = stage(device), stage(device, floors="6", photo=""), stage(device, photo="")
    client = tenant_client(world.khulna, world.user("gis_officer", "khulna"))

    approved = client.post(f"/surveys/{first.pk}/approve/")
    edit_page = client.get(f"/surveys/{second.pk}/edit/")
    edited = client.post(f"/surveys/{second.pk}/edit/", {
        "footprint": "", "holding_id": "1-0001-00001", "structure_type": "pucca", "floors": "4",
        "construction_year": "1998", "functional_use": "mixed", "households": "2", "population_male": "4",
        "population_female": "5", "population_other": "0", "population_differently_abled": "1",
        "water_source": "tube_well", "water_customer_id": "", "has_toilet": "on", "toilet_count": "2",
        "sanitation_system": "septic_tank", "is_desludging_vehicle_accessible": "true"})
    no_reason = client.post(f"/surveys/{third.pk}/reject/", {"reason": ""})
    rejected = client.post(f"/surveys/{third.pk}/reject/", {"reason": "Duplicate of an earlier visit."})
    connection.set_tenant(world.khulna)

    assert approved.status_code == 302 and edit_page.status_code == 200
    assert edited.status_code == 302, edited.content.decode()[:3000]
    assert no_reason.status_code == 302 and rejected.status_code == 302
    statuses = dict(Submission.objects.values_list("pk", "status"))
    assert (statuses[first.pk], statuses[second.pk], statuses[third.pk]) == ("approved", "approved", "rejected")
    assert street.refresh("B-1").floors == 4
    second.refresh_from_db()
    assert second.edits == {"floors": 4}


def test_an_edit_the_register_refuses_is_shown_beside_the_field(street, device, world, tenant_client):
    submission = stage(device, photo="")
    client = tenant_client(world.khulna, world.user("gis_officer", "khulna"))

    response = client.post(f"/surveys/{submission.pk}/edit/", {"footprint": "POINT(1 2)", "floors": "3",
                                                               "households": "2", "functional_use": "mixed"})
    connection.set_tenant(world.khulna)

    assert response.status_code == 200
    assert "The outline must be a polygon." in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == "staged"


def test_bulk_approve_through_the_queue(street, device, world, tenant_client):
    clean = stage(device, photo="")
    broken = stage(device, building="B-404", photo="")
    client = tenant_client(world.khulna, world.user("gis_officer", "khulna"))

    response = client.post("/surveys/approve/", {"submission": [clean.pk, broken.pk]})
    connection.set_tenant(world.khulna)

    assert response.status_code == 302
    assert Submission.objects.get(pk=clean.pk).status == "approved"
    assert Submission.objects.get(pk=broken.pk).status == "staged"


def test_a_photo_is_served_to_the_reviewer_only(street, device, world, tenant_client):
    submission = stage(device)
    path = f"/surveys/{submission.pk}/files/1700000000001.jpg"

    reviewer = get(tenant_client, world, "gis_officer", path)
    other = get(tenant_client, world, "tax_officer", path)

    assert reviewer.status_code == 200 and b"".join(reviewer.streaming_content) == JPEG
    assert reviewer["Content-Type"] == "image/jpeg"
    assert other.status_code == 403


def test_isolation_a_submission_of_khulna_does_not_exist_in_jhenaidah(street, device, world, tenant_client):
    submission = stage(device)
    client = tenant_client(world.jhenaidah, world.user("gis_officer", "jhenaidah"))

    response = client.get(f"/surveys/{submission.pk}/")
    queue = client.get("/surveys/")
    connection.set_tenant(world.khulna)

    assert response.status_code == 404
    assert "B-1" not in queue.content.decode()
    with tenant_context(world.jhenaidah):
        assert Submission.objects.count() == 0
        assert EnabledForm.objects.count() == 0
    connection.set_tenant(world.khulna)


def test_the_admin_chooses_the_forms(street, world, tenant_client):
    admin = tenant_client(world.khulna, world.user("municipal_admin", "khulna"))

    page = admin.get("/surveys/forms/")
    enabled = admin.post("/surveys/forms/imis_emptying_record/", {"is_enabled": "1"})
    refused = admin.post("/surveys/forms/imis_connection_survey/", {"is_enabled": "1"}, follow=True)
    limited = admin.post("/surveys/forms/imis_building_survey/", {"is_enabled": "1", "wards": "3, 1"})
    xlsx = admin.get("/surveys/forms/imis_building_survey.xlsx")
    surveyor = tenant_client(world.khulna, world.user("field_surveyor", "khulna")).get("/surveys/forms/")
    connection.set_tenant(world.khulna)

    assert page.status_code == 200 and "Building survey" in page.content.decode()
    assert enabled.status_code == 302 and EnabledForm.objects.get(form_id="imis_emptying_record").is_enabled
    assert "needs one of these features" in refused.content.decode()
    assert not EnabledForm.objects.filter(form_id="imis_connection_survey").exists()
    assert limited.status_code == 302
    assert EnabledForm.objects.get(form_id="imis_building_survey").ward_numbers == [1, 3]
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert surveyor.status_code == 403


def test_a_surveyor_sets_up_a_phone_with_a_device_key_and_qr_code(street, world, tenant_client):
    client = tenant_client(world.khulna, world.user("field_surveyor", "khulna"))

    created = client.post("/surveys/device/", {"name": "Rahim's phone"})
    shown = client.get("/surveys/device/")
    again = client.get("/surveys/device/")
    connection.set_tenant(world.khulna)

    assert created.status_code == 302
    html = shown.content.decode()
    assert "data:image/svg+xml;base64," in html and "imis_" in html
    assert "http://khulna.localhost/openrosa" in html
    assert "data-device-key" not in again.content.decode()  # shown once
    assert DeviceKey.objects.get().username == "field_surveyor@khulna.test"


def test_the_demo_offers_the_forms_the_features_allow_and_is_idempotent(street, world):
    from imis.tenant_apps.surveys.demo import demo_forms

    lines = []
    for _ in range(2):
        demo_forms(municipality=world.khulna, figures={}, scale=0.01, seed=1, log=lines.append)

    assert set(EnabledForm.objects.values_list("form_id", flat=True)) == {
        "imis_building_survey", "imis_containment_survey", "imis_emptying_record", "imis_disposal_log"}
    assert "imis_connection_survey" not in lines[0]
