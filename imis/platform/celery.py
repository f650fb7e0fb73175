"""Celery app: a task enqueued inside a tenant's request runs in that tenant's schema."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imis.platform.settings.dev")

app = CeleryApp("imis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
