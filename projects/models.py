import uuid

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery


class Role(models.TextChoices):
    PI = "pi", "Principal investigator"
    CODER = "coder", "Coder"
    OBSERVER = "observer", "Observer"
    LAY = "lay", "Lay panel member"


class ProjectQuerySet(models.QuerySet):
    def for_user(self, user):
        """Projects the user belongs to, each annotated with `role`, the user's role in it."""
        if not user.is_authenticated:
            return self.none()
        role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
        return self.annotate(role=Subquery(role)).filter(role__isnull=False)


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def pi_count(self) -> int:
        return self.memberships.filter(role=Role.PI).count()


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invitation_sent_at = models.DateTimeField(null=True, blank=True)
    # The project's consensus coder: an account nobody logs in as, holding adjudicated coding so
    # that it counts as one more coder in retrieval, reports and exports.
    is_consensus = models.BooleanField(default=False)
    # A coder who came in with an imported project and has no account here yet; the PI maps them
    # to a member, which moves their coding over.
    is_placeholder = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user"),
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(is_consensus=True),
                name="one_consensus_coder_per_project",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_known"
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.project} as {self.get_role_display()}"


class UserGuid(models.Model):
    """A user's stable identity in exchange files (REFI-QDA `User guid`), the same in every export.

    Made when the account is made (a signal) so that exports never mint one.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exchange_guid"
    )
    guid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    def __str__(self):
        return f"{self.user_id}: {self.guid}"
