from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Membership, Project, Role
from .tasks import send_invitation_email

User = get_user_model()


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
    send_invitation_email.delay_on_commit(membership.pk)
    return membership


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
