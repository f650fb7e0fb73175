"""GIS data in and out: remembered column mappings and the record of each import (tenant schema)."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportMapping(models.Model):
    """The column mapping last used for a layer: the next file of the same shape maps itself."""

    layer = models.CharField(_("layer"), max_length=40, unique=True)
    mapping = models.JSONField(_("mapping"), default=dict, help_text="our field -> column in the file")
    updated_by_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["layer"]
        verbose_name = _("import mapping")

    def __str__(self) -> str:
        return self.layer


class DataImport(models.Model):
    """One uploaded file on its way in: what it holds (preview), how it maps, and what the last run did."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Not imported")

    class Mode(models.TextChoices):
        UPSERT = "upsert", _("Add new records and update existing ones (by key)")
        REPLACE = "replace", _("Replace the whole layer with the file")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    created_by_id = models.BigIntegerField(null=True, blank=True, help_text="accounts.User id (public schema)")
    file_name = models.CharField(_("file"), max_length=255)
    file_path = models.CharField(max_length=500, help_text="the upload, under MEDIA_ROOT")
    file_size = models.BigIntegerField(default=0)
    file_format = models.CharField(_("format"), max_length=20)
    layer = models.CharField(_("layer"), max_length=40, blank=True, help_text="our layer; blank for a package")
    info = models.JSONField(default=dict, blank=True, help_text="the preview: layers, counts, CRS, first rows")
    mapping = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED, db_index=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    result = models.JSONField(default=dict, blank=True)
    rejects_file = models.CharField(max_length=500, blank=True, help_text="rejects CSV, under MEDIA_ROOT")

    class Meta:
        ordering = ["-created"]
        verbose_name = _("data import")

    def __str__(self) -> str:
        return f"{self.layer or 'package'} ← {self.file_name}"

    @property
    def is_package(self) -> bool:
        return not self.layer


class QualityRun(models.Model):
    """One computation of the data-quality report; its problems are the list staff work through."""

    created = models.DateTimeField(auto_now_add=True)
    data_version = models.BigIntegerField(help_text="the registry's data version the report was computed at")
    years = models.PositiveSmallIntegerField(default=5, help_text="surveys older than this are flagged")
    wards = models.JSONField(default=list, blank=True, help_text="per ward: records, problems, counts per check")
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"quality {self.created:%Y-%m-%d %H:%M}"


class QualityProblem(models.Model):
    run = models.ForeignKey(QualityRun, on_delete=models.CASCADE, related_name="problems")
    code = models.CharField(max_length=40)
    model = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    ward_number = models.PositiveSmallIntegerField(null=True, blank=True)
    label = models.CharField(max_length=200)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["code", "ward_number", "label"]
        indexes = [models.Index(fields=["run", "code", "ward_number", "label"]),
                   models.Index(fields=["run", "ward_number", "code", "label"])]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"
