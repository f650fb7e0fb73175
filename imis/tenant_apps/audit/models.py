"""Who changed what, when, with the values before and after. Tenant schema: stays with the municipality."""

from django.db import models


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"
        BULK_UPDATE = "bulk_update"
        IMPORT = "import"
        SUPPORT = "support", "support access"

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    model = models.CharField(max_length=100)  # indexed as the first column of (model, object_id, -created)
    object_id = models.CharField(max_length=64, db_index=True)
    object_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    batch = models.UUIDField(null=True, blank=True, db_index=True, help_text="groups the rows of one bulk change")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["model", "object_id", "-created"])]

    def __str__(self) -> str:
        return f"{self.action} {self.model}#{self.object_id}"
