import logging
from datetime import timedelta
from functools import partial

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as QueueDown

from config.jobs import SEND_RETRY_POLICY

from .models import Membership, Project, Role
from .tasks import send_invitation_email

logger = logging.getLogger(__name__)
User = get_user_model()
# An invitation still unsent this long after it was made was probably never queued.
RESEND_AFTER = timedelta(minutes=1)


@transaction.atomic
def create_project(
    *, name: str, description: str = "", created_by, starter: str = "empty"
) -> Project:
    from coding.codebook import apply_starter
    from coding.models import Codebook

    project = Project.objects.create(name=name, description=description, created_by=created_by)
    Membership.objects.create(project=project, user=created_by, role=Role.PI)
    codebook = Codebook.objects.create(project=project)
    apply_starter(codebook=codebook, name=starter, user=created_by)
    return project


@transaction.atomic
def invite_member(*, project: Project, email: str, role: str, invited_by) -> Membership:
    """Adds a person by email, creating an account without a password if they have none.

    The invitation email (with a link to choose a password for a new account) is sent by the
    worker once this transaction has committed.
    """
    email = User.objects.normalize_email(email).strip()
    user = User.objects.filter(email__iexact=email).order_by("pk").first()
    if user is None:
        user = User(username=email.lower()[:150], email=email)
        user.set_unusable_password()
        user.save()
    elif user.memberships.filter(is_consensus=True).exists():
        raise ValidationError(
            f"{email} belongs to a consensus coder, which is not a person and cannot be invited."
        )
    elif Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError(f"{email} is already a member of this project.")
    membership = Membership.objects.create(
        project=project, user=user, role=role, invited_by=invited_by
    )
    transaction.on_commit(partial(queue_invitation, membership.pk))
    return membership


def queue_invitation(membership_id: int) -> bool:
    """Hands an invitation email to the worker; never raises, so a job queue that is down does not
    undo or fail the invitation. The membership then stays unsent and
    `queue_unsent_invitations` tries again."""
    try:
        send_invitation_email.apply_async(
            (membership_id,), retry=True, retry_policy=SEND_RETRY_POLICY
        )
    except (QueueDown, OSError) as error:
        logger.warning("Invitation %s could not be queued: %s", membership_id, error)
        return False
    return True


def queue_unsent_invitations(project: Project, *, limit: int = 20) -> int:
    """Queues again the invitations of a project not sent a while after they were made (the job
    queue was down, or the email failed five times); the task sends each at most once."""
    unsent = Membership.objects.filter(
        project=project,
        invited_by__isnull=False,
        invitation_sent_at__isnull=True,
        is_placeholder=False,
        is_consensus=False,
        created_at__lt=timezone.now() - RESEND_AFTER,
    ).values_list("pk", flat=True)[:limit]
    queued = 0
    for pk in unsent:
        if not queue_invitation(pk):
            break  # the queue is down: the others would wait for it too
        queued += 1
    return queued


def _check_not_consensus(membership: Membership, what: str) -> None:
    # The consensus coder holds the settled coding of the project's adjudication; it is a
    # coder by construction and stays as long as the project does.
    if membership.is_consensus:
        raise ValidationError(f"The consensus coder holds the settled coding: {what}.")


def _check_keeps_a_pi(membership: Membership, new_role: str | None) -> None:
    if membership.role == Role.PI and new_role != Role.PI and membership.project.pi_count() <= 1:
        raise ValidationError("A project needs at least one principal investigator.")


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    _check_not_consensus(membership, "its role cannot change")
    # Lock the project's memberships so two PIs demoting each other cannot leave it with none.
    list(Membership.objects.select_for_update().filter(project=membership.project))
    _check_keeps_a_pi(membership, role)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    _check_not_consensus(membership, "it cannot be removed")
    list(Membership.objects.select_for_update().filter(project=membership.project))
    _check_keeps_a_pi(membership, None)
    membership.delete()
