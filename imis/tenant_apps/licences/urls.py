from django.urls import path

from . import views

app_name = "licences"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.apply, name="apply"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/inspect/", views.inspect, name="inspect"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/pay/", views.pay, name="pay"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("certificates/<str:number>/certificate.pdf", views.certificate_pdf, name="certificate_pdf"),
    path("categories/", views.categories, name="categories"),
    # public: the QR code on the certificate
    path("verify/<str:number>/", views.verify, name="verify"),
]
