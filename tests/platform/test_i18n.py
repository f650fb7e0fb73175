import pytest
from django_tenants.utils import tenant_context

from imis.tenant_apps.registry.models import Ward

pytestmark = pytest.mark.django_db


def test_home_page_speaks_bangla_with_bangla_digits(world, tenant_client):
    with tenant_context(world.khulna):
        Ward.objects.bulk_create([Ward(number=n) for n in range(1, 13)])
    client = tenant_client(world.khulna, world.user("sanitation_officer", "khulna"))
    english = client.get("/").content.decode()
    assert 'lang="en"' in english and ">12<" in english and "Wards" in english

    client.post("/i18n/setlang/", {"language": "bn", "next": "/"})
    bangla = client.get("/").content.decode()
    assert 'lang="bn"' in bangla
    assert "খুলনা সিটি কর্পোরেশন" in bangla
    assert ">১২<" in bangla
    assert "ওয়ার্ড" in bangla  # "Wards" translated


def test_municipality_default_language_applies_without_a_choice(world, tenant_client):
    world.khulna.default_language = "bn"
    world.khulna.save()
    page = tenant_client(world.khulna, world.user("viewer", "khulna")).get("/").content.decode()
    assert 'lang="bn"' in page


def test_pages_carry_a_strict_content_security_policy(world, tenant_client):
    response = tenant_client(world.khulna, world.user("viewer", "khulna")).get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<script>" not in response.content.decode()
