"""An import or export job: what was asked, how far it got, where its file is."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stammgast.core.tenancy import TenantOwned


class Job(TenantOwned):
    """One export or import run, in the request or on the background worker."""

    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        IMPORT = "import", _("Import")

    class State(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    # What the API and the pages call the job: not guessable, and it tells nothing of how
    # many jobs other tenants ran (the primary key is one sequence for all).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    # Export: the filter (CustomerFilter.as_dict()); import: mode, match, mapping, dry run.
    params = models.JSONField(default=dict)
    language = models.CharField(max_length=5, default="de")
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Relative to VAR_DIR/exports: the uploaded file (import), the result file (export) and
    # the error report (import).
    source_file = models.CharField(max_length=300, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    result_file = models.CharField(max_length=300, blank=True)
    result_name = models.CharField(max_length=255, blank=True)
    report_file = models.CharField(max_length=300, blank=True)
    # Import: counts (created, updated, errors, duplicates) and the first error lines.
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    files_deleted = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_client = models.ForeignKey(
        "tenants.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=200, blank=True)

    class Meta(TenantOwned.Meta):
        verbose_name = _("import/export job")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="exchange_job_created_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.uid}"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED, self.State.CANCELLED)
