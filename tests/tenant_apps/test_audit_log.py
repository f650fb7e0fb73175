import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.audit.models import AuditEntry
from imis.tenant_apps.registry import services
from tests.tenant_apps.registry.factories import square, ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(world):
    officer = world.user("gis_officer", "khulna")
    with tenant_context(world.khulna):
        ward(1, -500, -500, 500, 500)
        building = services.building_create(by=officer, bin="=HYPERLINK(1)", footprint=square(0, 0))
        services.building_update(building=building, by=officer, floors=4)
    return world


def test_admin_reads_filters_and_exports_the_audit_log(history, tenant_client):
    client = tenant_client(history.khulna, history.user("municipal_admin", "khulna"))
    page = client.get("/audit/?action=update").content.decode()
    assert "gis_officer@khulna.test" in page and "&quot;floors&quot;: 4" in page
    assert "Create" not in page.split("<tbody>")[1]

    export = b"".join(client.get("/audit/?export=csv").streaming_content).decode("utf-8-sig")
    assert export.splitlines()[0] == "when,who,action,record,id,label,before,after"
    assert "'=HYPERLINK(1)" in export and ",=HYPERLINK" not in export  # no formula injection


def test_only_admins_read_the_audit_log_and_only_their_own(history, tenant_client):
    assert tenant_client(history.khulna, history.user("viewer", "khulna")).get("/audit/").status_code == 403
    other = tenant_client(history.jhenaidah, history.user("municipal_admin", "jhenaidah")).get("/audit/")
    assert other.status_code == 200 and "gis_officer@khulna.test" not in other.content.decode()


def test_there_is_no_way_to_edit_audit_entries(history, tenant_client):
    client = tenant_client(history.khulna, history.user("municipal_admin", "khulna"))
    with tenant_context(history.khulna):
        entry = AuditEntry.objects.first()
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(f"/audit/?id={entry.pk}").status_code == 405
    with tenant_context(history.khulna):
        entry.refresh_from_db()
        assert AuditEntry.objects.filter(pk=entry.pk).exists()
