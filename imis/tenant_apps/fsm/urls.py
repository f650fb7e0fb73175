from django.urls import path

from . import programme_views, views

app_name = "fsm"
urlpatterns = [
    # "" is the inbox: the tabs the user's role works from.
    path("", views.index, name="index"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/new/", views.application_register_view, name="application_register"),
    path("applications/site-lookup/", views.site_lookup_view, name="site_lookup"),
    path("applications/<int:pk>/", views.application_page, name="application_detail"),
    path("applications/<int:pk>/approve/", views.application_approve, name="application_approve"),
    path("applications/<int:pk>/reject/", views.application_reject, name="application_reject"),
    path("applications/<int:pk>/schedule/", views.application_schedule, name="application_schedule"),
    path("applications/<int:pk>/reschedule/", views.application_reschedule, name="application_reschedule"),
    path("applications/<int:pk>/empty/", views.application_empty, name="application_empty"),
    path("applications/<int:pk>/feedback/", views.application_feedback, name="application_feedback"),
    path("applications/<int:pk>/cancel/", views.application_cancel, name="application_cancel"),
    path("work-orders/", views.work_orders, name="work_orders"),
    path("plant/", views.plant, name="plant"),
    path("plant/arrivals/", views.plant_arrival, name="plant_arrival"),
    path("plant/effluent-tests/", views.effluent_tests, name="effluent_tests"),
    path("setup/<slug:kind>/", views.config_list, name="config_list"),
    path("setup/<slug:kind>/new/", views.config_create, name="config_create"),
    path("setup/<slug:kind>/<int:pk>/edit/", views.config_edit, name="config_edit"),
    path("reports/", views.reports_index, name="reports"),
    path("reports/<slug:name>/", views.report_page, name="report"),
    # scheduled (block) desludging programmes
    path("programmes/", programme_views.programme_list, name="programme_list"),
    path("programmes/new/", programme_views.programme_create, name="programme_create"),
    path("programmes/reintegration/", programme_views.reintegration, name="programme_reintegration"),
    path("programmes/<int:pk>/", programme_views.programme_detail, name="programme_detail"),
    path("programmes/<int:pk>/candidates/", programme_views.programme_candidates, name="programme_candidates"),
    path("programmes/<int:pk>/plan/", programme_views.programme_plan, name="programme_plan"),
    path("programmes/<int:pk>/progress/", programme_views.programme_progress, name="programme_progress"),
    path("programmes/<int:pk>/route/", programme_views.programme_route, name="programme_route"),
    path("programmes/<int:pk>/notify/", programme_views.programme_notify, name="programme_notify"),
    path("programmes/<int:pk>/households/", programme_views.programme_households, name="programme_households"),
    path("programmes/<int:pk>/visits/<int:visit_pk>/accept/", programme_views.visit_accept,
         name="programme_visit_accept"),
    path("programmes/<int:pk>/visits/<int:visit_pk>/decline/", programme_views.visit_decline,
         name="programme_visit_decline"),
    path("programmes/<int:pk>/export.csv", programme_views.programme_export, name="programme_export"),
]
