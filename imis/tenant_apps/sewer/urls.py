from django.urls import path

from imis.platform.views import feature_landing_view

app_name = "sewer"
urlpatterns = [path("", feature_landing_view(feature="sewer", permission="sewer.view"), name="index")]
