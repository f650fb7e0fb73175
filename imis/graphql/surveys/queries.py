"""Survey queries (read only): the review queue and the submissions a user sent, through surveys/selectors.py."""

from __future__ import annotations

import graphene

from imis.tenant_apps.surveys import selectors
from imis.tenant_apps.surveys.catalogue import FORMS

from ..base import BadUserInput
from ..optimizer import optimized
from ..relay import PagedConnectionField
from . import loaders  # noqa: F401 - registers how survey fields load
from . import types as t


class SurveyQuery(graphene.ObjectType):
    survey_submissions = PagedConnectionField(
        t.SurveySubmissionType, description="Submissions, newest first: those of the forms your role reviews, and "
                                            "those you sent.",
        status=graphene.Argument(t.SubmissionStatus, description="Any status when left out."),
        form_id=graphene.String(description="One form, e.g. imis_building_survey."),
        mine=graphene.Boolean(description="Only the submissions you sent."))

    @staticmethod
    def resolve_survey_submissions(root, info, status=None, form_id=None, mine=None, **_paging):
        if form_id is not None and form_id not in FORMS:
            raise BadUserInput(f"`formId` must be one of: {', '.join(FORMS)}.")
        submissions = selectors.submissions_listed(
            form_ids=FORMS, status=getattr(status, "value", status) or None, form_id=form_id or "",
            submitted_by_id=info.context.user.pk if mine else None)
        submissions = t.SurveySubmissionType.visible_to(info, submissions)
        return optimized(submissions.order_by("-received_at", "-pk"), info)
