"""Included at the root of the tenant domain: OpenRosa clients expect /openrosa/formList and
/openrosa/submission under the server URL they are given (https://<domain>/openrosa)."""

from django.urls import path

from . import openrosa_views, views

app_name = "surveys"
urlpatterns = [
    # OpenRosa (devices; HTTP Basic/Digest, no session)
    path("openrosa/formList", openrosa_views.form_list, name="openrosa_form_list"),
    path("openrosa/forms/<slug:form_id>.xml", openrosa_views.form_xml, name="openrosa_form"),
    path("openrosa/forms/<slug:form_id>/manifest", openrosa_views.form_manifest, name="openrosa_manifest"),
    path("openrosa/forms/<slug:form_id>/media/<str:filename>", openrosa_views.form_media, name="openrosa_media"),
    path("openrosa/submission", openrosa_views.submission, name="openrosa_submission"),
    # review (staff)
    path("surveys/", views.index, name="index"),
    path("surveys/approve/", views.bulk_approve, name="bulk_approve"),
    path("surveys/<int:pk>/", views.submission_page, name="submission"),
    path("surveys/<int:pk>/approve/", views.approve, name="approve"),
    path("surveys/<int:pk>/edit/", views.edit, name="edit"),
    path("surveys/<int:pk>/reject/", views.reject, name="reject"),
    path("surveys/<int:pk>/files/<str:filename>", views.attachment, name="attachment"),
    path("surveys/forms/", views.forms_page, name="forms"),
    path("surveys/forms/<slug:form_id>/", views.form_toggle, name="form_toggle"),
    path("surveys/forms/<slug:form_id>.xlsx", views.xlsform_download, name="xlsform"),
    path("surveys/device/", views.device_page, name="device"),
]
