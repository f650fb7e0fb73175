from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "imis.tenant_apps.payments"
    label = "payments"
    verbose_name = "Online payments"
