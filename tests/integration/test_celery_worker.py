import pytest

from projects import services
from projects.models import Membership, Role
from tests.factories import ProjectFactory, UserFactory

from .conftest import wait_for

pytestmark = pytest.mark.integration


def test_invitation_is_sent_by_a_real_worker_through_redis(celery_worker, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
    pi = UserFactory(username="helen")
    project = ProjectFactory(name="Ward study")
    Membership.objects.create(project=project, user=pi, role=Role.PI)

    membership = services.invite_member(
        project=project, email="zoe@example.org", role=Role.LAY, invited_by=pi
    )

    def sent():
        membership.refresh_from_db()
        return membership.invitation_sent_at

    wait_for(sent, what="the worker to send the invitation")
    messages = list(celery_worker.iterdir())
    assert len(messages) == 1
    body = messages[0].read_text()
    assert "Subject: You are invited to Ward study on Triangulate" in body
    assert "To: zoe@example.org" in body
    assert "https://triangulate.example.org/accounts/reset/" in body


def test_nothing_is_enqueued_when_the_invitation_is_rolled_back(celery_worker):
    from django.db import transaction

    pi = UserFactory(username="helen")
    project = ProjectFactory()
    Membership.objects.create(project=project, user=pi, role=Role.PI)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.invite_member(
            project=project, email="ghost@example.org", role=Role.LAY, invited_by=pi
        )
        raise RuntimeError("the surrounding request failed")
    # A later invitation is delivered; the rolled-back one never reaches the worker.
    membership = services.invite_member(
        project=project, email="real@example.org", role=Role.LAY, invited_by=pi
    )
    wait_for(
        lambda: Membership.objects.get(pk=membership.pk).invitation_sent_at,
        what="the second invitation",
    )
    bodies = [path.read_text() for path in celery_worker.iterdir()]
    assert len(bodies) == 1
    assert "real@example.org" in bodies[0]
    assert not Membership.objects.filter(user__email="ghost@example.org").exists()
