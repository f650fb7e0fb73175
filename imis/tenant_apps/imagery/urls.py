from django.urls import path

from . import views

app_name = "imagery"
urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("external/", views.external_add, name="external_add"),
    path("<int:imagery_id>/delete/", views.delete, name="delete"),
    path("poll/", views.poll, name="poll"),
    path("sources.json", views.sources, name="sources"),
    path("tiles/<int:imagery_id>/<int:z>/<int:x>/<int:y>.png", views.tile, name="tile"),
]
