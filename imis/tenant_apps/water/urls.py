from django.urls import path

from . import views

app_name = "water"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.apply, name="apply"),
    path("illegal/", views.report_illegal, name="illegal"),
    path("readings/upload/", views.readings_upload, name="readings_upload"),
    path("bills/run/", views.bill_run, name="bill_run"),
    path("bills/run/<uuid:job_id>/", views.bill_run_job, name="bill_run_job"),
    path("bills/<str:number>/bill.pdf", views.bill_pdf, name="bill_pdf"),
    path("tariffs/", views.tariffs, name="tariffs"),
    path("unconnected/", views.unconnected, name="unconnected"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/inspect/", views.inspect, name="inspect"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/activate/", views.activate, name="activate"),
    path("<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path("<int:pk>/reconnect/", views.reconnect, name="reconnect"),
    path("<int:pk>/readings/", views.reading_new, name="reading_new"),
    path("<int:pk>/pay/", views.pay, name="pay"),
]
