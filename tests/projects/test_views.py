"""The project pages, with exact content: what each role sees and what each form does."""

import pytest
from django.core import mail
from django.urls import reverse

from projects.models import Membership, Role


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_project_list_shows_only_own_projects_with_role(login, project, users):
    response = login(users["coder"]).get(reverse("projects:list"))
    assert [(p.name, p.role) for p in response.context["projects"]] == [("Ward study", "coder")]
    assert b"Ward study" in response.content


def test_create_project(login, db):
    from tests.factories import UserFactory

    user = UserFactory(username="newpi")
    response = login(user).post(
        reverse("projects:list"), {"name": "  Pilot round  ", "description": ""}
    )
    membership = Membership.objects.get(user=user)
    assert response["Location"] == reverse("projects:home", args=[membership.project_id])
    assert (membership.project.name, membership.role) == ("Pilot round", "pi")


def test_create_project_without_name_shows_error(login, users):
    response = login(users["coder"]).post(reverse("projects:list"), {"name": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["This field is required."]}


def test_project_home_lists_meetings_fieldnotes_codes_members(
    login, project, users, fieldnote, code
):
    response = login(users["observer"]).get(reverse("projects:home", args=[project.pk]))
    content = response.content.decode()
    assert "Learning event" in content
    assert "Observer&#x27;s notes" in content
    assert "Protest" in content
    assert [m.user.username for m in response.context["memberships"]] == [
        "the-coder",
        "the-lay",
        "the-observer",
        "the-pi",
    ]


def test_project_home_for_lay_member_shows_only_own_observations(
    login, project, users, fieldnote, lay_fieldnote
):
    response = login(users["lay"]).get(reverse("projects:home", args=[project.pk]))
    assert response.templates[0].name == "projects/home_lay.html"
    assert list(response.context["fieldnotes"]) == [lay_fieldnote]
    content = response.content.decode()
    assert "Lay notes" in content
    assert "Observer&#x27;s notes" not in content
    assert reverse("coding:codebook", args=[project.pk]) not in content


def test_fieldnote_reader_escapes_text_and_keeps_paragraphs(login, project, users, fieldnote):
    fieldnote.text = "Line <b>one</b>\n\nSecond paragraph\nwith a break"
    fieldnote.save()
    response = login(users["coder"]).get(
        reverse("fieldnotes:detail", args=[project.pk, fieldnote.pk])
    )
    content = response.content.decode()
    assert '<p data-start="0">Line &lt;b&gt;one&lt;/b&gt;</p>' in content
    assert '<p data-start="17">Second paragraph\nwith a break</p>' in content


def test_meeting_page_shows_agenda_and_fieldnotes_by_observer(
    login, project, users, meeting, fieldnote
):
    response = login(users["pi"]).get(reverse("meetings:detail", args=[project.pk, meeting.pk]))
    assert [item.title for item in response.context["agenda"]] == ["Welcome"]
    assert [f.observer.name for f in response.context["fieldnotes"]] == ["The observer"]


def test_codebook_page_shows_criteria(login, project, users, code):
    code.definition = "Open objection."
    code.inclusion = "Explicit objections."
    code.save()
    response = login(users["coder"]).get(reverse("coding:codebook", args=[project.pk]))
    content = response.content.decode()
    assert "Open objection." in content
    assert "<dt>Use when</dt><dd>Explicit objections.</dd>" in content
    assert '<kbd title="Keyboard shortcut">4</kbd>' in content


def test_members_page_shows_controls_only_to_pi(login, project, users):
    url = reverse("projects:members", args=[project.pk])
    assert b"Send invitation" in login(users["pi"]).get(url).content
    assert b"Send invitation" not in login(users["coder"]).get(url).content


def test_invite_via_page_sends_email(login, project, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = login(users["pi"]).post(
            reverse("projects:member_invite", args=[project.pk]),
            {"email": "zoe@example.org", "role": "lay"},
        )
    assert response["Location"] == reverse("projects:members", args=[project.pk])
    assert project.memberships.get(user__email="zoe@example.org").role == Role.LAY
    assert mail.outbox[0].to == ["zoe@example.org"]


def test_invite_with_bad_email_returns_form_fragment_under_htmx(login, project, users):
    response = login(users["pi"]).post(
        reverse("projects:member_invite", args=[project.pk]),
        {"email": "not-an-email", "role": "lay"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert content.lstrip().startswith('<section class="panel narrow" id="invite"')
    assert "Enter a valid email address." in content
    assert "<html" not in content


def test_change_role_under_htmx_returns_the_row(login, project, users):
    coder = project.memberships.get(user=users["coder"])
    response = login(users["pi"]).post(
        reverse("projects:member_role", args=[project.pk, coder.pk]),
        {"role": "observer"},
        headers={"HX-Request": "true"},
    )
    content = response.content.decode()
    assert content.lstrip().startswith(f'<tr id="member-{coder.pk}">')
    assert '<option value="observer" selected>' in content
    coder.refresh_from_db()
    assert coder.role == Role.OBSERVER


def test_last_pi_stepping_down_shows_error_in_row(login, project, users):
    pi = project.memberships.get(user=users["pi"])
    response = login(users["pi"]).post(
        reverse("projects:member_role", args=[project.pk, pi.pk]),
        {"role": "coder"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert "A project needs at least one principal investigator." in response.content.decode()
    assert '<option value="pi" selected>' in response.content.decode()


def test_remove_member(login, project, users):
    coder = project.memberships.get(user=users["coder"])
    response = login(users["pi"]).post(
        reverse("projects:member_remove", args=[project.pk, coder.pk])
    )
    assert response["Location"] == reverse("projects:members", args=[project.pk])
    assert not project.memberships.filter(user=users["coder"]).exists()


def test_htmx_history_restore_gets_the_whole_page(login, project, users):
    response = login(users["pi"]).get(
        reverse("projects:members", args=[project.pk]),
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert b"<html" in response.content
    assert [part.strip() for part in response["Vary"].split(",")] == ["HX-Request", "Cookie"]


def test_pages_send_a_strict_content_security_policy(login, project, users):
    response = login(users["pi"]).get(reverse("projects:home", args=[project.pk]))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_create_project_with_the_starter_codebook(login, db):
    from tests.factories import UserFactory

    user = UserFactory(username="starter")
    login(user).post(reverse("projects:list"), {"name": "Pilot", "starter": "what-meetings-do"})
    project = Membership.objects.get(user=user).project
    assert project.codebook.codes.count() == 14
    assert project.codebook.changes.get().summary.startswith("Imported 14 codes from the starter")
