from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "imis.shared_apps.console"
    label = "console"
    verbose_name = "Provisioning console"
