from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("payments/webhook/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("payments/online/", views.online_payments, name="online"),
    path("payments/counter/", views.counter, name="counter"),
    path("payments/receipts/<str:number>/receipt.pdf", views.staff_receipt_pdf, name="receipt_pdf"),
    path("portal/", views.portal_lookup, name="portal"),
    path("portal/holding/", views.portal_holding, name="portal_holding"),
    path("portal/pay/", views.portal_pay, name="portal_pay"),
    path("portal/payments/<uuid:payment_id>/", views.portal_return, name="portal_return"),
    path("portal/desludging/", views.portal_request_desludging, name="portal_desludging"),
    path("portal/feedback/<int:application_id>/", views.portal_feedback, name="portal_feedback"),
    path("portal/leave/", views.portal_logout, name="portal_logout"),
    path("portal/receipts/<str:number>/receipt.pdf", views.portal_receipt_pdf, name="portal_receipt_pdf"),
    # public: the QR code on fee receipts
    path("portal/verify/<str:number>/", views.receipt_verify, name="verify"),
]
