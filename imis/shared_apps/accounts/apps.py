from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "imis.shared_apps.accounts"
    label = "accounts"
