from django.apps import AppConfig


class LicencesConfig(AppConfig):
    name = "imis.tenant_apps.licences"
    label = "licences"
    verbose_name = "Trade licence"
