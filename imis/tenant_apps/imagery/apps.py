from django.apps import AppConfig


class ImageryConfig(AppConfig):
    name = "imis.tenant_apps.imagery"
    label = "imagery"
    verbose_name = "Imagery"
