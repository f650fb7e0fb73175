from django.urls import path

from . import views

app_name = "tax"
urlpatterns = [
    path("", views.index, name="index"),
    path("holdings/", views.holding_lookup, name="holding_lookup"),
    path("holdings/<int:pk>/", views.holding_page, name="holding"),
    path("holdings/<int:pk>/assess/", views.assessment_create_view, name="assess"),
    path("holdings/<int:pk>/adjust/", views.adjustment_request_view, name="adjust"),
    path("assessments/<int:pk>/object/", views.objection_file_view, name="object"),
    path("objections/", views.objection_list, name="objections"),
    path("objections/<int:pk>/decide/", views.objection_decide_view, name="objection_decide"),
    path("rates/", views.rate_list, name="rates"),
    path("rates/new/", views.rate_create, name="rate_create"),
    path("bill-runs/", views.bill_runs, name="bill_runs"),
    path("notices/", views.notices, name="notices"),
    path("bills/<str:number>/notice.pdf", views.bill_notice_pdf, name="bill_notice_pdf"),
    path("pay/", views.payment_create, name="pay"),
    path("receipts/<str:number>/", views.receipt, name="receipt"),
    path("receipts/<str:number>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
    path("receipts/<str:number>/reverse/", views.payment_reverse_view, name="reverse"),
    path("adjustments/", views.adjustment_list, name="adjustments"),
    path("adjustments/<int:pk>/decide/", views.adjustment_decide_view, name="adjustment_decide"),
    path("due/", views.due_list, name="due"),
    path("defaulters/", views.defaulters, name="defaulters"),
    path("cash-book/", views.cash_book, name="cash_book"),
    # public: the QR code on notices and receipts
    path("verify/<str:number>/", views.verify, name="verify"),
]
