from django.urls import path

from . import views

app_name = "kpi"
urlpatterns = [
    path("", views.index, name="index"),
    path("targets/", views.targets, name="targets"),
    path("export.csv", views.export_csv, name="csv"),
    path("report.pdf", views.report_pdf, name="pdf"),
    path("wards.geojson", views.ward_choropleth, name="wards_geojson"),
]
