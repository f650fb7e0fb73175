from django.urls import include, path

from . import views
from .metrics import metrics_view

handler404 = "imis.platform.views.error_404"
handler500 = "imis.platform.views.error_500"

urlpatterns = [
    path("", views.public_home, name="public_home"),
    path("health", views.health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("console/", include("imis.shared_apps.console.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
