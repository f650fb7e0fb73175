from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "imis.tenant_apps.surveys"
    label = "surveys"
    verbose_name = "Field surveys"
