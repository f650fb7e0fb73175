"""Survey submission types (read only): what devices sent, staged for review. A reviewer sees the submissions of
the forms their role reviews; a surveyor, provider or plant operator sees the ones they sent."""

from __future__ import annotations

import graphene
from django.db.models import Q
from graphene_django import DjangoObjectType

from imis.shared_apps.accounts.selectors import request_roles
from imis.tenant_apps.surveys.catalogue import FORMS
from imis.tenant_apps.surveys.changes import Issue
from imis.tenant_apps.surveys.models import Submission

from ..base import choice_field, enum_from_choices
from ..relay import CountableConnection, Node, TenantObjectType

READ = ("surveys.review", "surveys.submit")

SubmissionStatus = enum_from_choices(Submission.Status, "SurveySubmissionStatus", "Where a submission is in review.")


def reviewable_form_ids(request) -> list[str]:
    roles = request_roles(request)
    return [form_id for form_id, spec in FORMS.items() if spec.review_roles & roles]


class SurveyIssue(graphene.ObjectType):
    """Something the reviewer should check, found when the submission was staged."""

    code = graphene.String(required=True)
    message = graphene.String(required=True)


class SurveySubmissionType(TenantObjectType, DjangoObjectType):
    imis_permission = READ
    status = choice_field(SubmissionStatus, "status", required=True)
    form_title = graphene.String(required=True)
    issues = graphene.List(graphene.NonNull(SurveyIssue), required=True)

    class Meta:
        model = Submission
        name = "SurveySubmission"
        description = "A field form a device sent (ODK Collect / KoboCollect or the web form), staged for review."
        interfaces = (Node,)
        connection_class = CountableConnection
        fields = ("instance_id", "form_id", "form_version", "instance_name", "status", "is_complete",
                  "submitted_by_label", "device_id", "received_at", "target_model", "target_id", "target_label",
                  "change_count", "is_clean", "reviewed_by_label", "reviewed_at", "rejection_reason")

    @classmethod
    def visible_to(cls, info, queryset):
        request = info.context
        return queryset.filter(Q(form_id__in=reviewable_form_ids(request)) | Q(submitted_by_id=request.user.pk))

    def resolve_form_title(root, info):
        spec = FORMS.get(root.form_id)
        return str(spec.title) if spec else root.form_id

    def resolve_issues(root, info):
        issues = []
        for item in root.issues or []:
            issue = Issue(item.get("code", ""), item.get("params", {}))
            try:
                message = issue.message
            except (KeyError, TypeError, ValueError):
                message = issue.code
            issues.append(SurveyIssue(code=issue.code, message=message))
        return issues
