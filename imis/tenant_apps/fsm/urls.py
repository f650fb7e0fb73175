from django.urls import path

from imis.platform.views import feature_landing_view

app_name = "fsm"
urlpatterns = [path("", feature_landing_view(feature="fsm", permission="fsm.view"), name="index")]
