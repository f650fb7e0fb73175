"""Reads for the review queue and the record pages. Each returns a queryset with its joins done."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import EnabledForm, Submission

LIST_FIELDS = ("pk", "instance_id", "form_id", "form_version", "instance_name", "status", "is_complete",
               "submitted_by_id", "submitted_by_label", "received_at", "target_model", "target_id", "target_label",
               "change_count", "issues", "is_clean", "reviewed_by_label", "reviewed_at", "rejection_reason")


def submissions_listed(*, form_ids, status: str | None = Submission.Status.STAGED, form_id: str = "",
                       submitted_by_id: int | None = None) -> QuerySet[Submission]:
    """The queue: submissions of these forms, newest first, without their XML."""
    queryset = Submission.objects.filter(form_id__in=list(form_ids)).only(*LIST_FIELDS).order_by("-received_at", "-pk")
    if status:
        queryset = queryset.filter(status=status)
    if form_id:
        queryset = queryset.filter(form_id=form_id)
    if submitted_by_id is not None:
        queryset = queryset.filter(submitted_by_id=submitted_by_id)
    return queryset


def queue_counts(*, form_ids) -> dict[str, int]:
    """Staged, clean, approved and rejected submissions of these forms: one query."""
    row = Submission.objects.filter(form_id__in=list(form_ids)).aggregate(
        staged=Count("pk", filter=Q(status=Submission.Status.STAGED)),
        clean=Count("pk", filter=Q(status=Submission.Status.STAGED, is_clean=True)),
        approved=Count("pk", filter=Q(status=Submission.Status.APPROVED)),
        rejected=Count("pk", filter=Q(status=Submission.Status.REJECTED)),
    )
    return {key: value or 0 for key, value in row.items()}


def submission_detail(pk: int) -> Submission:
    return Submission.objects.prefetch_related("attachments").get(pk=pk)


def submissions_for_record(*, model: str, pk: int) -> QuerySet[Submission]:
    """The approved field submissions behind a record, with their photos: what a record page shows."""
    return (Submission.objects.filter(target_model=model, target_id=pk, status=Submission.Status.APPROVED)
            .prefetch_related("attachments").order_by("-reviewed_at"))


def enabled_forms() -> dict[str, EnabledForm]:
    return {row.form_id: row for row in EnabledForm.objects.all()}
