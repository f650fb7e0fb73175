from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    # "" is the overview (headline figures, wards) and, with ?q=, the top-bar search.
    path("", views.index, name="index"),
    path("buildings/", views.building_list, name="building_list"),
    path("buildings/new/", views.building_create_view, name="building_create"),
    path("buildings/<int:pk>/", views.building_page, name="building_detail"),
    path("buildings/<int:pk>/edit/", views.building_edit_view, name="building_edit"),
    path("holdings/", views.holding_list, name="holding_list"),
    path("holdings/new/", views.holding_create_view, name="holding_create"),
    path("holdings/<int:pk>/", views.holding_page, name="holding_detail"),
    path("holdings/<int:pk>/edit/", views.holding_edit_view, name="holding_edit"),
    path("containments/", views.containment_list, name="containment_list"),
    path("containments/new/", views.containment_create_view, name="containment_create"),
    path("containments/<int:pk>/", views.containment_page, name="containment_detail"),
    path("containments/<int:pk>/edit/", views.containment_edit_view, name="containment_edit"),
]
