"""FSM background work: planning a desludging programme and notifying its households, as jobs with progress."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from imis.shared_apps.accounts.models import User
from imis.tenant_apps.jobs.services import job_fail, job_progress, job_start, job_succeed

from . import programmes
from .models import DesludgingProgramme

PROGRAMME_ACTIONS = ("plan", "notify")


def plan_seconds_per_day() -> float:
    """How long OR-Tools may improve each day's routes (guided local search stops at this limit)."""
    return float(getattr(settings, "IMIS_FSM_PLAN_SECONDS_PER_DAY", 1.0))


def _message(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


@shared_task
def programme_job_task(job_id: str, action: str, programme_id: int, user_id: int | None = None) -> dict:
    """Plan a programme (OR-Tools, one model per working day) or send its SMS, reporting progress to the job.

    Both are safe to run again: planning replaces the unanswered visits in one transaction; notifying reaches
    only the households not notified yet.
    """
    job_start(job_id=job_id)
    by = User.objects.filter(pk=user_id).first() if user_id else None
    programme = DesludgingProgramme.objects.filter(pk=programme_id).first()
    if programme is None or action not in PROGRAMME_ACTIONS:
        job_fail(job_id=job_id, error=_("This programme no longer exists."))
        return {}
    try:
        if action == "plan":
            job_progress(job_id=job_id, done=0, total=1, message=_("Choosing the containments due"))
            plan = programmes.programme_plan(
                programme=programme, by=by, seconds_per_day=plan_seconds_per_day(),
                progress=lambda done, total: job_progress(
                    job_id=job_id, done=done, total=total,
                    message=_("Routing day %(done)s of %(total)s") % {"done": done, "total": total}))
            result = {"programme": programme.pk, "planned": plan.planned, "waiting": len(plan.unplanned),
                      "route_length_km": round(plan.length_m / 1000, 1)}
        else:
            sent = programmes.programme_notify(
                programme=programme, by=by,
                progress=lambda done, total: job_progress(job_id=job_id, done=done, total=total,
                                                          message=_("Sending the messages")))
            result = {"programme": programme.pk, "sent": sent}
    except ValidationError as error:
        job_fail(job_id=job_id, error=_message(error))
        return {}
    except Exception as error:
        job_fail(job_id=job_id, error=_("The job failed unexpectedly: %(error)s") % {"error": error})
        raise
    job_succeed(job_id=job_id, result=result)
    return result
