"""The nightly licence work: expire what ran out, remind owners before expiry (through the SMS adapter)."""

from celery import shared_task
from django_tenants.utils import tenant_context

from .services import licence_reminders_send, licences_expire


@shared_task
def licence_daily_task() -> dict:
    """In the municipality it was enqueued from: expire, then send the due reminders."""
    expired = licences_expire()
    reminders = licence_reminders_send()
    return {"expired": expired, **reminders}


@shared_task
def licence_daily_all_task() -> dict:
    """For the beat schedule (it runs in public): every municipality with trade licences switched on."""
    from imis.shared_apps.tenants.models import Municipality, MunicipalityFeature

    results = {}
    ids = MunicipalityFeature.objects.filter(feature_id="trade_licence", is_enabled=True).values_list(
        "municipality_id", flat=True)
    for municipality in Municipality.objects.filter(pk__in=ids, status=Municipality.Status.ACTIVE):
        with tenant_context(municipality):
            results[municipality.slug] = {"expired": licences_expire(), **licence_reminders_send()}
    return results
