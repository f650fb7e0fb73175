import datetime

from celery import shared_task

from imis.shared_apps.accounts.models import User
from imis.tenant_apps.jobs.services import job_fail, job_progress, job_start, job_succeed

from .services import bill_run_execute


@shared_task
def water_bill_run_task(job_id: str, period: str, ward_number: int | None = None, user_id: int | None = None) -> dict:
    """The month's water bills as a job, with progress per chunk; running it again finishes what is left."""
    job_start(job_id=job_id)
    by = User.objects.filter(pk=user_id).first() if user_id else None
    try:
        result = bill_run_execute(by=by, period=datetime.date.fromisoformat(period), ward_number=ward_number,
                                  progress=lambda done, total: job_progress(job_id=job_id, done=done, total=total))
    except Exception as error:
        job_fail(job_id=job_id, error="; ".join(getattr(error, "messages", None) or [str(error)]))
        raise
    job_succeed(job_id=job_id, result=result)
    return result
