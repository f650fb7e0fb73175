"""Login, API tokens (hashed, one municipality, revocable), phone numbers."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from imis.shared_apps.accounts.models import ApiToken
from imis.shared_apps.accounts.services import api_token_create, api_token_revoke, phone_to_e164
from tests.world import totp_now

pytestmark = pytest.mark.django_db


def test_staff_log_in_with_email_on_their_municipality(world, client):
    response = client.post(
        "/accounts/login/", {"login": "sanitation_officer@khulna.test", "password": "imis-demo"},
        HTTP_HOST="khulna.localhost",
    )
    assert response.status_code == 302
    home = client.get("/", HTTP_HOST="khulna.localhost")
    assert home.status_code == 200
    assert "Khulna City Corporation" in home.content.decode()


def test_tax_officer_needs_the_authenticator_code_to_log_in(world, client):
    host = {"HTTP_HOST": "khulna.localhost"}
    response = client.post("/accounts/login/", {"login": "tax_officer@khulna.test", "password": "imis-demo"}, **host)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/", **host).status_code == 302  # not in yet
    assert client.post("/accounts/2fa/authenticate/", {"code": "000000"}, **host).status_code == 200
    # a code from a minute and a half ago is refused; the one of the step before (typed as it ran out) still counts
    assert client.post("/accounts/2fa/authenticate/", {"code": totp_now(3)}, **host).status_code == 200
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(1)}, **host)
    assert response.status_code == 302
    assert client.get("/", **host).status_code == 200


def test_an_authenticator_code_counts_once(world, client):
    host = {"HTTP_HOST": "khulna.localhost"}
    code = totp_now()
    for _attempt in range(2):
        client.post("/accounts/login/", {"login": "cashier@khulna.test", "password": "imis-demo"}, **host)
        response = client.post("/accounts/2fa/authenticate/", {"code": code}, **host)
        client.post("/accounts/logout/", **host)
        if _attempt == 0:
            assert response.status_code == 302
    assert response.status_code == 200  # the second use of the same code is refused


def test_mfa_roles_without_an_authenticator_are_sent_to_set_one_up(world, tenant_client):
    from allauth.mfa.models import Authenticator

    cashier = world.user("cashier", "khulna")
    Authenticator.objects.filter(user=cashier).delete()
    response = tenant_client(world.khulna, cashier).get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/totp/activate/")
    viewer = tenant_client(world.khulna, world.user("viewer", "khulna")).get("/")
    assert viewer.status_code == 200  # a viewer may work without one


def test_failed_logins_lock_the_account_for_a_while(world, client):
    from django.core.cache import cache

    cache.clear()
    host = {"HTTP_HOST": "khulna.localhost"}
    for _attempt in range(5):
        client.post("/accounts/login/", {"login": "viewer@khulna.test", "password": "wrong"}, **host)
    response = client.post("/accounts/login/", {"login": "viewer@khulna.test", "password": "imis-demo"}, **host)
    assert response.status_code in (200, 429)
    assert client.get("/", **host).status_code == 302  # still not logged in
    cache.clear()


def test_wrong_password_is_refused(world, client):
    response = client.post(
        "/accounts/login/", {"login": "tax_officer@khulna.test", "password": "nope"}, HTTP_HOST="khulna.localhost"
    )
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


def test_open_signup_is_closed(world, client):
    response = client.get("/accounts/signup/", HTTP_HOST="khulna.localhost")
    assert "Sign Up Closed" in response.content.decode() or response.status_code in (403, 404)


def test_api_token_is_hashed_at_rest_and_works_only_for_its_municipality(world, tenant_client):
    user = world.user("gis_officer", "khulna")
    token, key = api_token_create(user=user, municipality=world.khulna, name="QGIS")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (stored.key_hash, stored.prefix)

    khulna = tenant_client(world.khulna)
    assert khulna.get("/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    jhenaidah = tenant_client(world.jhenaidah)
    assert jhenaidah.get("/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401

    api_token_revoke(token=token, by=user)
    assert khulna.get("/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_token_keeps_role_checks(world, tenant_client):
    _token, key = api_token_create(user=world.user("viewer", "khulna"), municipality=world.khulna, name="bi")
    response = tenant_client(world.khulna).get("/settings/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403


def test_token_needs_a_membership(world):
    with pytest.raises(ValidationError) as error:
        api_token_create(user=world.user("viewer", "khulna"), municipality=world.jhenaidah, name="x")
    assert error.value.code == "no_membership"


def test_profile_page_creates_shows_once_and_revokes_tokens(world, tenant_client):
    client = tenant_client(world.khulna, world.user("field_surveyor", "khulna"))
    response = client.post("/profile/tokens/", {"name": "ODK Collect"}, follow=True)
    body = response.content.decode()
    assert "ODK Collect" in body and "shown once" in body
    token = ApiToken.objects.get(name="ODK Collect")
    assert "shown once" not in client.get("/profile/").content.decode()

    client.post(f"/profile/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_user_cannot_revoke_someone_elses_token(world, tenant_client):
    token, _key = api_token_create(user=world.user("viewer", "khulna"), municipality=world.khulna, name="mine")
    other = tenant_client(world.khulna, world.user("cashier", "khulna"))
    assert other.post(f"/profile/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_create_api_token_command_prints_the_key_once(world, capsys):
    call_command("create_api_token", "--email", "gis_officer@khulna.test", "--municipality", "khulna")
    key = capsys.readouterr().out.strip()
    assert key.startswith("imis_")
    assert ApiToken.objects.filter(key_hash=hashlib.sha256(key.encode()).hexdigest()).exists()


def test_create_api_token_command_refuses_a_foreign_municipality(world):
    with pytest.raises(CommandError, match="not a member"):
        call_command("create_api_token", "--email", "gis_officer@khulna.test", "--municipality", "jhenaidah")


@pytest.mark.parametrize(("raw", "e164"), [("01712345678", "+8801712345678"), ("+8801912345678", "+8801912345678")])
def test_local_phone_numbers_are_stored_in_e164(raw, e164):
    assert phone_to_e164(raw) == e164


def test_invalid_phone_number_is_refused():
    with pytest.raises(ValidationError) as error:
        phone_to_e164("12345")
    assert error.value.code == "invalid_phone"
