"""Test-only public URLs: the console plus its KPI view (the lead wires the real line into console/urls.py)."""

from django.urls import path

from imis.platform.urls_public import handler404, handler500  # noqa: F401
from imis.platform.urls_public import urlpatterns as public_urlpatterns
from imis.shared_apps.console import kpi_views

urlpatterns = [path("console/kpi/", kpi_views.kpi_overview, name="console_kpi"), *public_urlpatterns]
