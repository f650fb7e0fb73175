import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("host", "tenant"), [("localhost", "public"), ("khulna.localhost", "khulna")])
def test_health_reports_database_redis_and_tenant(world, client, host, tenant):
    response = client.get("/health", HTTP_HOST=host)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "tenant": tenant}


def test_health_is_503_when_redis_is_unreachable(world, client):
    broken = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:1/0",
                          "KEY_FUNCTION": "django_tenants.cache.make_key"}}
    with override_settings(CACHES=broken):
        response = client.get("/health", HTTP_HOST="khulna.localhost")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["database"] == "ok" and body["redis"].startswith("error")


def test_health_on_unknown_host_is_404(world, client):
    assert client.get("/health", HTTP_HOST="nowhere.localhost").status_code == 404
