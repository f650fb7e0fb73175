"""Long work (imports, exports, bill runs, provisioning) as jobs a user can leave and find again."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Finished")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40, db_index=True)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_by_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    result_file = models.CharField(max_length=500, blank=True, help_text="path under MEDIA_ROOT")
    idempotency_key = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                                    name="uniq_job_idempotency"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.title}"

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)
