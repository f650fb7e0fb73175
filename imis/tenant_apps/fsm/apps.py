from django.apps import AppConfig


class FsmConfig(AppConfig):
    name = "imis.tenant_apps.fsm"
    label = "fsm"
    verbose_name = "Faecal sludge management"
