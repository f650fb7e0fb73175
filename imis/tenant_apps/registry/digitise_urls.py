"""/map/digitise/: the digitising page and its JSON API (registry.editing does the work)."""

from django.urls import path

from . import digitise_views as views

app_name = "digitise"
urlpatterns = [
    path("", views.digitise_page, name="page"),
    path("api/buildings/<int:pk>/split/", views.building_split, name="split"),
    path("api/buildings/<int:pk>/merge/", views.buildings_merge, name="merge"),
    path("api/<slug:layer>/", views.feature_create, name="create"),
    path("api/<slug:layer>/at/", views.feature_at, name="at"),
    path("api/<slug:layer>/form/", views.feature_form, name="form"),
    path("api/<slug:layer>/<int:pk>/", views.feature_detail_or_update, name="feature"),
    path("api/<slug:layer>/<int:pk>/delete/", views.feature_delete, name="delete"),
    path("api/<slug:layer>/<int:pk>/history/", views.feature_history, name="history"),
    path("api/<slug:layer>/<int:pk>/restore/", views.feature_restore, name="restore"),
]
