from django.conf import settings
from django.db import models
from django.utils import timezone


class LayInvitation(models.Model):
    """A personal link that lets one lay panel member send observations of one meeting.

    Only a hash of the token is stored: the link is shown once, when it is made.
    """

    meeting = models.ForeignKey(
        "meetings.Meeting", on_delete=models.CASCADE, related_name="lay_invitations"
    )
    label = models.CharField(
        "for", max_length=200, help_text="Who the link is for; only the team sees this."
    )
    token_hash = models.CharField(max_length=64, unique=True)
    observer = models.ForeignKey(
        "fieldnotes.Observer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "label", "pk"]

    def __str__(self):
        return f"Link for {self.label}"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"


class LayDraft(models.Model):
    """What a lay panel member has typed, saved as they type; becomes a fieldnote on sending."""

    invitation = models.OneToOneField(LayInvitation, on_delete=models.CASCADE, related_name="draft")
    name = models.CharField(max_length=200, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    fieldnote = models.OneToOneField(
        "fieldnotes.Fieldnote",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lay_draft",
    )
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Draft of {self.invitation.label}"
