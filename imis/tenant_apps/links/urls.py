from django.urls import path

from . import views

app_name = "links"
urlpatterns = [
    path("", views.index, name="index"),
    path("health/wards/", views.cases_wards, name="cases_wards"),
    path("health/upload/", views.health_upload, name="health_upload"),
    path("utility/file/", views.utility_file, name="utility_file"),
    path("utility/accounts/", views.utility_accounts, name="utility_accounts"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("<str:kind>/", views.detail, name="detail"),
    path("<str:kind>/run/", views.run_now, name="run_now"),
]
