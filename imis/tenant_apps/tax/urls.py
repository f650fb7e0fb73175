from django.urls import path

from imis.platform.views import feature_landing_view

app_name = "tax"
urlpatterns = [path("", feature_landing_view(feature="holding_tax", permission="tax.view"), name="index")]
