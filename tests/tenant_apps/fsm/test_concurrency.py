"""Two officers schedule the same application at the same moment: one wins, the other is told cleanly."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from imis.tenant_apps.fsm import services
from imis.tenant_apps.fsm.models import Application

from .conftest import Site


@pytest.mark.django_db(transaction=True)
def test_two_officers_schedule_the_same_application_at_once(tworld):
    with tenant_context(tworld.khulna):
        site = Site(tworld)
        application = services.application_register(by=site.user("help_desk"), applicant_name="Karim",
                                                    holding=site.holdings[0])
        services.application_approve(application=application, by=site.user("sanitation_officer"))
    barrier = threading.Barrier(2)
    outcomes = []

    def officer(vehicle, role):
        try:
            with tenant_context(tworld.khulna):
                barrier.wait(timeout=10)
                services.application_schedule(application=application, by=tworld.user(role, "khulna"),
                                              provider=site.provider, vehicle=vehicle, date=datetime.date.today(),
                                              slot="morning")
                outcomes.append(("scheduled", vehicle.registration))
        except ValidationError as error:
            outcomes.append((error.code, vehicle.registration))
        finally:
            connection.close()

    threads = [threading.Thread(target=officer, args=(site.truck, "sanitation_officer")),
               threading.Thread(target=officer, args=(site.small_truck, "municipal_admin"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(code for code, _ in outcomes) == ["invalid_transition", "scheduled"]
    winner = next(registration for code, registration in outcomes if code == "scheduled")
    with tenant_context(tworld.khulna):
        stored = Application.objects.get(pk=application.pk)
        assert stored.vehicle.registration == winner
        assert stored.events.filter(to_status="scheduled").count() == 1
