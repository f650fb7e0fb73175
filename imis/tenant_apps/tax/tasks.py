from celery import shared_task

from imis.shared_apps.accounts.models import User
from imis.tenant_apps.jobs.services import job_fail, job_progress, job_start, job_succeed

from .services import bill_run_execute


@shared_task
def bill_run_task(job_id: str, fiscal_year: int, period: int, ward_number: int | None = None,
                  user_id: int | None = None) -> dict:
    """The bill run as a job: progress per chunk; running it again after a crash finishes what is left."""
    job_start(job_id=job_id)
    by = User.objects.filter(pk=user_id).first() if user_id else None
    try:
        run = bill_run_execute(by=by, fiscal_year=fiscal_year, period=period, ward_number=ward_number, job_id=job_id,
                               progress=lambda done, total: job_progress(job_id=job_id, done=done, total=total))
    except Exception as error:
        job_fail(job_id=job_id, error=str(error))
        raise
    result = {"bill_run": run.pk, "bills_created": run.bills_created}
    job_succeed(job_id=job_id, result=result)
    return result
