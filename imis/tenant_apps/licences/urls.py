from django.urls import path

from imis.platform.views import feature_landing_view

app_name = "licences"
urlpatterns = [path("", feature_landing_view(feature="trade_licence", permission="licence.view"), name="index")]
