from django.urls import include, path

from . import views

handler404 = "imis.platform.views.error_404"
handler500 = "imis.platform.views.error_500"

urlpatterns = [
    path("", views.tenant_home, name="home"),
    path("health", views.health, name="health"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/", views.api_token_new, name="api_token_new"),
    path("profile/tokens/<int:token_id>/revoke/", views.api_token_revoke_view, name="api_token_revoke"),
    path("settings/", views.settings_page, name="settings"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("registry/", include("imis.tenant_apps.registry.urls")),
    path("jobs/", include("imis.tenant_apps.jobs.urls")),
    path("data/", include("imis.tenant_apps.dataio.urls")),
    path("audit/", include("imis.tenant_apps.audit.urls")),
    path("fsm/", include("imis.tenant_apps.fsm.urls")),
    path("sewer/", include("imis.tenant_apps.sewer.urls")),
    path("tax/", include("imis.tenant_apps.tax.urls")),
    path("licences/", include("imis.tenant_apps.licences.urls")),
    path("water/", include("imis.tenant_apps.water.urls")),
    path("links/", include("imis.tenant_apps.links.urls")),
    path("imagery/", include("imis.tenant_apps.imagery.urls")),
    path("graphql/", include("imis.graphql.urls")),
    path("kpi/", include("imis.tenant_apps.kpi.urls")),
    path("map/digitise/", include("imis.tenant_apps.registry.digitise_urls")),
    path("", include("imis.tenant_apps.maps.urls")),
    path("", include("imis.tenant_apps.payments.urls")),
    path("", include("imis.tenant_apps.surveys.urls")),
]
