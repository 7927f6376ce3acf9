import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .text import normalise_text, word_count


class Observer(models.Model):
    """Who wrote a fieldnote: a member of the project, or a lay panel member without an account."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="observers"
    )
    name = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="observer_profiles",
    )
    # Stable identity in exchange files (REFI-QDA guid), kept from import to export; unique
    # within a project (a copy of a project imported on the same server keeps its GUIDs).
    guid = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "user"],
                condition=models.Q(user__isnull=False),
                name="one_observer_per_user_and_project",
            ),
        ]

    def __str__(self):
        return self.name


class SourceFormat(models.TextChoices):
    TEXT = "txt", "Plain text"
    MARKDOWN = "md", "Markdown"
    DOCX = "docx", "Word document"
    ODT = "odt", "OpenDocument text"
    HTML = "html", "Web page"
    RTF = "rtf", "Rich text"
    PDF = "pdf", "PDF"
    PASTE = "paste", "Pasted text"
    FORM = "form", "Lay panel form"
    REFI = "qdpx", "REFI-QDA project"


class FieldnoteFrozen(ValidationError):
    """The text of a fieldnote that carries excerpts cannot change: revise it as a new version."""


class FieldnoteQuerySet(models.QuerySet):
    def in_project(self, project):
        return self.filter(meeting__project=project)

    def latest_versions(self):
        return self.filter(next_version__isnull=True)

    def written_by(self, user):
        return self.filter(observer__user=user)


class Fieldnote(models.Model):
    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.PROTECT, related_name="fieldnotes"
    )
    observer = models.ForeignKey(Observer, on_delete=models.PROTECT, related_name="fieldnotes")
    title = models.CharField(max_length=200)
    text = models.TextField()
    source_name = models.CharField(max_length=255, blank=True)
    source_format = models.CharField(
        max_length=8, choices=SourceFormat.choices, default=SourceFormat.PASTE
    )
    version = models.PositiveIntegerField(default=1)
    previous_version = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_version"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Stable identity in exchange files (REFI-QDA guid), kept from import to export; unique
    # within a project (a copy of a project imported on the same server keeps its GUIDs).
    guid = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FieldnoteQuerySet.as_manager()

    class Meta:
        ordering = ["meeting", "observer__name", "version", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="fieldnote_version_positive"
            ),
        ]

    def __str__(self):
        return f"{self.title} (v{self.version})"

    def save(self, *args, **kwargs):
        self.text = normalise_text(self.text)
        if self.pk is not None:
            stored = Fieldnote.objects.filter(pk=self.pk).values_list("text", flat=True).first()
            if stored is not None and stored != self.text:
                if self.excerpts.exists():
                    raise FieldnoteFrozen(
                        "This fieldnote has coded excerpts, so its text can no longer change. "
                        "Create a new version instead."
                    )
                if Fieldnote.objects.filter(previous_version=self).exists():
                    raise FieldnoteFrozen("An earlier version of a fieldnote cannot change.")
        super().save(*args, **kwargs)

    @property
    def project(self):
        return self.meeting.project

    @property
    def word_count(self) -> int:
        return word_count(self.text)

    def clean(self):
        if (
            self.meeting_id
            and self.observer_id
            and self.observer.project_id != self.meeting.project_id
        ):
            raise ValidationError({"observer": "The observer belongs to another project."})


class TimeMarker(models.Model):
    """A clock time found in a fieldnote: links an offset to a moment of the meeting."""

    class Kind(models.TextChoices):
        CLOCK = "clock", "Clock time"
        ELAPSED = "elapsed", "Elapsed time"
        MANUAL = "manual", "Added by hand"

    fieldnote = models.ForeignKey(Fieldnote, on_delete=models.CASCADE, related_name="time_markers")
    offset = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    moment = models.DateTimeField(null=True, blank=True)
    confirmed = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["fieldnote", "offset", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("offset")), name="time_marker_not_empty"
            ),
        ]

    def __str__(self):
        return f"{self.text} at {self.offset}"


class PendingUpload(models.Model):
    """A file read and waiting for the uploader to check its text and time markers.

    Keeping the extracted text on the server means what is previewed is exactly what is saved.
    """

    batch = models.UUIDField(db_index=True)
    meeting = models.ForeignKey("meetings.Meeting", on_delete=models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    source_name = models.CharField(max_length=255)
    source_format = models.CharField(max_length=8, choices=SourceFormat.choices)
    text = models.TextField(blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    # Replaces this fieldnote with a new version when set.
    revises = models.ForeignKey(
        Fieldnote, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["batch", "pk"]

    def __str__(self):
        return self.source_name

    @property
    def ok(self) -> bool:
        return not self.error
