import uuid
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

DEFAULT_LAY_PROMPTS = (
    "What happened?",
    "What stood out for you?",
    "Did anything concern you?",
    "Who spoke, and who did not?",
)


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
    # The questions lay panel members answer; empty means DEFAULT_LAY_PROMPTS.
    lay_prompts = models.JSONField(default=list, blank=True)
    # Once locked, lay panel members can no longer change what they sent.
    lay_locked_at = models.DateTimeField(null=True, blank=True)
    # Stable identity in exchange files (REFI-QDA guid), kept from import to export; unique
    # within a project (a copy of a project imported on the same server keeps its GUIDs).
    guid = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
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

    @property
    def prompts(self) -> list[str]:
        return list(self.lay_prompts) or list(DEFAULT_LAY_PROMPTS)

    @property
    def lay_locked(self) -> bool:
        return self.lay_locked_at is not None

    def day_starts(self) -> list[datetime]:
        """When each day of the meeting starts, in local time.

        Day one starts with the meeting; a later day with its first agenda item, else at 09:00.
        Elapsed-time markers ("[00:12:31]") count from these moments.
        """
        zone = timezone.get_current_timezone()
        first = timezone.localtime(self.starts_at, zone)
        last = timezone.localtime(self.ends_at, zone)
        earliest: dict = {}
        for item in self.agenda_items.all():
            local = timezone.localtime(item.starts_at, zone)
            earliest[local.date()] = min(earliest.get(local.date(), local), local)
        starts = [first]
        day = first.date() + timedelta(days=1)
        while day <= last.date():
            starts.append(earliest.get(day) or datetime.combine(day, time(9, 0), tzinfo=zone))
            day += timedelta(days=1)
        return starts


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
