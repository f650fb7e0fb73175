from django.apps import AppConfig


class TaxConfig(AppConfig):
    name = "imis.tenant_apps.tax"
    label = "tax"
    verbose_name = "Holding tax"
