from django.urls import path

from . import views

app_name = "dataio"
urlpatterns = [
    path("", views.index, name="index"),
    path("import/", views.import_upload, name="import"),
    path("imports/<uuid:import_id>/", views.import_detail, name="import_detail"),
    path("imports/<uuid:import_id>/result/", views.import_result, name="import_result"),
    path("imports/<uuid:import_id>/rejects.csv", views.import_rejects, name="import_rejects"),
    path("export/", views.export, name="export"),
    path("quality/", views.quality_page, name="quality"),
    path("quality/wards.csv", views.quality_wards_csv, name="quality_wards_csv"),
    path("quality/problems.csv", views.quality_problems_csv, name="quality_problems_csv"),
    path("quality/wards.geojson", views.quality_wards_geojson, name="quality_wards_geojson"),
    path("quality/jobs/<uuid:job_id>/", views.quality_status, name="quality_status"),
]
