from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "imis.platform"
    label = "platform"
