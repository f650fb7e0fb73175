from django.apps import AppConfig


class SewerConfig(AppConfig):
    name = "imis.tenant_apps.sewer"
    label = "sewer"
    verbose_name = "Sewer"

    def ready(self) -> None:
        from . import payables  # noqa: F401  (registers the connection fee with the payment flow)
