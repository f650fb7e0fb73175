from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "imis.tenant_apps.audit"
    label = "audit"
    verbose_name = "Audit trail"
