from django.apps import AppConfig


class KpiConfig(AppConfig):
    name = "imis.tenant_apps.kpi"
    label = "kpi"
    verbose_name = "Key performance indicators"
