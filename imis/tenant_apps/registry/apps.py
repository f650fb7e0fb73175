from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "imis.tenant_apps.registry"
    label = "registry"
    verbose_name = "Registry"
