from django.urls import path

from . import kpi_views, views

app_name = "console"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.onboarding, name="onboarding"),
    path("restore/", views.restore, name="restore"),
    path("kpi/", kpi_views.kpi_overview, name="kpi"),
    path("m/<slug:slug>/", views.municipality, name="municipality"),
    path("m/<slug:slug>/onboarding/gis/", views.onboarding_gis, name="onboarding_gis"),
    path("m/<slug:slug>/onboarding/gis/<uuid:import_id>/", views.onboarding_gis_result, name="onboarding_gis_result"),
    path("m/<slug:slug>/onboarding/gis/<uuid:import_id>/rejects.csv", views.onboarding_gis_rejects,
         name="onboarding_gis_rejects"),
    path("m/<slug:slug>/onboarding/invite/", views.onboarding_invite, name="onboarding_invite"),
    path("m/<slug:slug>/onboarding/checklist/", views.onboarding_checklist, name="onboarding_checklist"),
    path("m/<slug:slug>/features/<slug:code>/", views.feature_toggle, name="feature_toggle"),
    path("m/<slug:slug>/status/", views.status, name="status"),
    path("m/<slug:slug>/invite/", views.invite, name="invite"),
    path("m/<slug:slug>/support/", views.support_start, name="support_start"),
    path("m/<slug:slug>/backup/", views.backup, name="backup"),
]
