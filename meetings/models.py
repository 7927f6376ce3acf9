from django.core.exceptions import ValidationError
from django.db import models


class Meeting(models.Model):
    """An observed event: one or more days, a place, and optionally an agenda."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="meetings"
    )
    title = models.CharField(max_length=200)
    place = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="meeting_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The meeting must end after it starts."})


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="agenda_item_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The agenda item must end after it starts."})
        meeting = self.meeting if self.meeting_id else None
        if (
            meeting
            and self.starts_at
            and self.ends_at
            and (self.starts_at < meeting.starts_at or self.ends_at > meeting.ends_at)
        ):
            raise ValidationError("The agenda item must lie within the meeting's start and end.")
