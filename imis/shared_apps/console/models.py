"""Public schema: support sessions (platform staff inside a municipality) and the console's own audit trail."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SupportSession(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_sessions")
    municipality = models.ForeignKey("tenants.Municipality", on_delete=models.CASCADE,
                                     related_name="support_sessions")
    reason = models.CharField(_("reason"), max_length=500)
    started = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    ended = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started"]
        indexes = [models.Index(fields=["user", "municipality", "expires"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.municipality_id}: {self.reason}"

    @property
    def is_active(self) -> bool:
        return self.ended is None and self.expires > timezone.now()


class ConsoleAuditEntry(models.Model):
    """What platform staff did in the console (create, toggle, suspend, backup, restore, support)."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    municipality = models.ForeignKey("tenants.Municipality", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    action = models.CharField(max_length=40)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id}"
