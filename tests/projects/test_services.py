import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError

from projects import services
from projects.models import Membership, Role
from projects.tasks import send_invitation_email
from tests.factories import UserFactory

User = get_user_model()


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_create_project_makes_creator_pi_and_an_empty_codebook(db):
    creator = UserFactory(username="helen")
    project = services.create_project(name="Pilot", created_by=creator)
    assert list(project.memberships.values_list("user__username", "role")) == [("helen", "pi")]
    assert project.codebook.codes.count() == 0


def test_invite_new_person_creates_account_without_password_and_emails_link(
    project, users, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://triangulate.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.invite_member(
            project=project, email="New.Person@Example.ORG", role=Role.CODER, invited_by=users["pi"]
        )
    user = membership.user
    assert (user.username, user.email, user.has_usable_password()) == (
        "new.person@example.org",
        "New.Person@example.org",
        False,
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["New.Person@example.org"]
    assert message.subject == "You are invited to Ward study on Triangulate"
    assert "https://triangulate.example.org/accounts/reset/" in message.body
    assert "as coder" in message.body
    membership.refresh_from_db()
    assert membership.invitation_sent_at is not None


def test_invitation_email_is_sent_once_even_if_the_task_runs_again(
    project, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        membership = services.invite_member(
            project=project, email="twice@example.org", role=Role.LAY, invited_by=users["pi"]
        )
    assert send_invitation_email(membership.pk) is False
    assert len(mail.outbox) == 1


def test_invite_existing_user_links_to_the_project(
    project, users, django_capture_on_commit_callbacks
):
    existing = UserFactory(username="known", email="known@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.invite_member(
            project=project, email="KNOWN@example.org", role=Role.OBSERVER, invited_by=users["pi"]
        )
    assert Membership.objects.get(project=project, user=existing).role == Role.OBSERVER
    assert f"/projects/{project.pk}/" in mail.outbox[0].body
    assert "/accounts/reset/" not in mail.outbox[0].body


def test_invite_existing_member_is_refused_and_nothing_is_sent(
    project, users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as error:
        services.invite_member(
            project=project, email=users["coder"].email, role=Role.PI, invited_by=users["pi"]
        )
    assert error.value.messages == [f"{users['coder'].email} is already a member of this project."]
    assert project.memberships.get(user=users["coder"]).role == Role.CODER
    assert mail.outbox == []


def test_last_pi_cannot_step_down_or_leave(project, users):
    pi = project.memberships.get(user=users["pi"])
    with pytest.raises(ValidationError, match="at least one principal investigator"):
        services.change_role(membership=pi, role=Role.CODER)
    with pytest.raises(ValidationError, match="at least one principal investigator"):
        services.remove_member(membership=pi)
    pi.refresh_from_db()
    assert pi.role == Role.PI


def test_pi_can_step_down_when_another_pi_remains(project, users):
    services.change_role(membership=project.memberships.get(user=users["coder"]), role=Role.PI)
    services.change_role(membership=project.memberships.get(user=users["pi"]), role=Role.CODER)
    assert sorted(
        project.memberships.filter(role=Role.PI).values_list("user__username", flat=True)
    ) == ["the-coder"]


def test_change_role_refuses_unknown_role(project, users):
    with pytest.raises(ValidationError, match="Unknown role 'admin'"):
        services.change_role(membership=project.memberships.get(user=users["coder"]), role="admin")
