from django.urls import path

from . import views

app_name = "sewer"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.apply, name="apply"),
    path("campaign/", views.campaign, name="campaign"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/survey/", views.survey, name="survey"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/pay/", views.pay, name="pay"),
    path("<int:pk>/connect/", views.connect, name="connect"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
]
