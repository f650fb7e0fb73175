from django.urls import path

from imis.platform.views import feature_landing_view

app_name = "water"
urlpatterns = [path("", feature_landing_view(feature="water_supply", permission="water.view"), name="index")]
