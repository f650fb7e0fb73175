from celery import shared_task
from django_tenants.utils import tenant_context

from imis.shared_apps.tenants.models import Municipality

from .models import GatewayConfig
from .services import payments_reconcile


@shared_task
def reconcile_all_municipalities() -> dict[str, dict]:
    """Periodic: in each municipality with an enabled gateway, repair what the webhooks missed."""
    reports = {}
    for municipality in Municipality.objects.filter(status=Municipality.Status.ACTIVE):
        with tenant_context(municipality):
            if GatewayConfig.objects.filter(is_enabled=True).exists():
                reports[municipality.slug] = payments_reconcile(hours=48)
    return reports
