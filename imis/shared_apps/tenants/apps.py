from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "imis.shared_apps.tenants"
    label = "tenants"
    verbose_name = "Municipalities"
