"""What the exchange layer stores: export jobs, import reports and API tokens."""

import hashlib

from django.conf import settings
from django.db import models


class ExportJob(models.Model):
    """A `.qdpx` (or full backup) being written by a Celery job; the file lives under VAR_DIR."""

    class Kind(models.TextChoices):
        QDPX = "qdpx", "REFI-QDA project (.qdpx)"
        BACKUP = "backup", "Full backup"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        WAITING = "waiting", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="export_jobs"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.QDPX)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    # Relative to the exports directory (VAR_DIR/exports); never under the web root.
    file_path = models.CharField(max_length=300, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} of project {self.project_id} ({self.status})"


class ImportRecord(models.Model):
    """What an import brought in and what it skipped, kept with the project it made."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="import_records"
    )
    source_name = models.CharField(max_length=255)
    tool = models.CharField(max_length=200, blank=True)
    offset_scheme = models.CharField(max_length=40, blank=True)
    report = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Import of {self.source_name}"


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A read-only key to one project's JSON API for one member; only its SHA-256 is stored."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    label = models.CharField(max_length=200)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, shown so a member can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["project", "-created_at", "-pk"]

    def __str__(self):
        return f"API token {self.prefix}… for {self.user_id}"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()
