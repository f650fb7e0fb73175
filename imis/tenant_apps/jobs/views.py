from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from imis.platform.permissions import permission_required
from imis.shared_apps.accounts.selectors import has_permission

from .models import Job
from .services import job_progress_of


def _job_for(request, job_id) -> Job:
    """A user sees their own jobs; a municipal admin sees every job of the municipality."""
    job = get_object_or_404(Job, pk=job_id)
    if job.created_by_id != request.user.pk and not has_permission(request, "settings.manage"):
        raise Http404
    return job


@permission_required("home.view")
def job_list(request):
    jobs = Job.objects.filter(created_by_id=request.user.pk)[:50]
    return render(request, "jobs/list.html", {"jobs": jobs})


@permission_required("home.view")
def job_detail(request, job_id):
    job = _job_for(request, job_id)
    context = {"job": job, "progress": job_progress_of(job)}
    if request.htmx:
        return render(request, "jobs/_progress.html", context)
    return render(request, "jobs/detail.html", context)


@permission_required("home.view")
def job_download(request, job_id):
    job = _job_for(request, job_id)
    if not job.result_file:
        raise Http404
    return FileResponse(default_storage.open(job.result_file, "rb"), as_attachment=True,
                        filename=job.result_file.rsplit("/", 1)[-1])
