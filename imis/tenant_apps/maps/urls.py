from django.urls import path

from . import search, views

app_name = "maps"
urlpatterns = [
    path("map/", views.map_page, name="index"),
    path("map/search/", search.map_search, name="search"),
    path("map/analyses/<slug:name>/", views.analysis, name="analysis"),
    path("tiles/<slug:layer>/<int:z>/<int:x>/<int:y>.mvt", views.tile, name="tile"),
    path("tiles/<slug:layer>.json", views.tilejson, name="tilejson"),
    path("ogcapi", views.ogc_landing),
    path("ogcapi/", views.ogc_landing, name="ogc_landing"),
    path("ogcapi/conformance", views.ogc_conformance, name="ogc_conformance"),
    path("ogcapi/api", views.ogc_api, name="ogc_api"),
    path("ogcapi/collections", views.ogc_collections, name="ogc_collections"),
    path("ogcapi/collections/<slug:collection_id>", views.ogc_collection, name="ogc_collection"),
    path("ogcapi/collections/<slug:collection_id>/items", views.ogc_items, name="ogc_items"),
    path("ogcapi/collections/<slug:collection_id>/items/<str:feature_id>", views.ogc_item, name="ogc_item"),
]
