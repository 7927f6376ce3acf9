import pytest
from django.urls import reverse

from meetings.models import Meeting


def _management(prefix="agenda_items", total=2, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


MEETING = {
    "title": "Learning event 4",
    "place": "Millbrook",
    "starts_at": "2026-06-02T09:30",
    "ends_at": "2026-06-03T12:30",
    "description": "",
}


def test_pi_creates_a_two_day_meeting_with_agenda(login, project, users):
    data = {
        **MEETING,
        **_management(),
        "agenda_items-0-title": "Welcome",
        "agenda_items-0-starts_at": "2026-06-02T09:30",
        "agenda_items-0-ends_at": "2026-06-02T10:30",
        "agenda_items-1-title": "Day two",
        "agenda_items-1-starts_at": "2026-06-03T09:00",
        "agenda_items-1-ends_at": "2026-06-03T10:00",
    }
    response = login(users["pi"]).post(reverse("meetings:create", args=[project.pk]), data)
    meeting = Meeting.objects.get(title="Learning event 4")
    assert response["Location"] == reverse("meetings:detail", args=[project.pk, meeting.pk])
    assert meeting.project == project
    # Entered as London time (BST in June), stored in UTC.
    assert meeting.starts_at.isoformat() == "2026-06-02T08:30:00+00:00"
    assert [(i.title, i.starts_at.isoformat()) for i in meeting.agenda_items.all()] == [
        ("Welcome", "2026-06-02T08:30:00+00:00"),
        ("Day two", "2026-06-03T08:00:00+00:00"),
    ]


def test_agenda_item_outside_the_meeting_saves_nothing(login, project, users):
    data = {
        **MEETING,
        **_management(total=1),
        "agenda_items-0-title": "Too late",
        "agenda_items-0-starts_at": "2026-06-03T12:00",
        "agenda_items-0-ends_at": "2026-06-03T13:00",
    }
    response = login(users["pi"]).post(reverse("meetings:create", args=[project.pk]), data)
    assert response.status_code == 400
    content = response.content.decode()
    assert "This agenda item lies outside the meeting&#x27;s start and end." in content
    assert "Nothing was saved yet" in content
    # What the PI typed is still in the form.
    assert 'value="Too late"' in content
    assert not Meeting.objects.filter(title="Learning event 4").exists()


def test_meeting_ending_before_it_starts_is_refused(login, project, users):
    data = {**MEETING, "ends_at": "2026-06-01T09:00", **_management(total=0)}
    response = login(users["pi"]).post(reverse("meetings:create", args=[project.pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors == {"ends_at": ["The meeting must end after it starts."]}


def test_pi_edits_meeting_and_removes_an_agenda_item(login, project, users, meeting):
    item = meeting.agenda_items.get()
    data = {
        "title": "Renamed",
        "place": "",
        "description": "",
        "starts_at": "2026-03-10T09:30",
        "ends_at": "2026-03-10T12:30",
        **_management(total=1, initial=1),
        "agenda_items-0-id": str(item.pk),
        "agenda_items-0-meeting": str(meeting.pk),
        "agenda_items-0-title": "Welcome",
        "agenda_items-0-starts_at": "2026-03-10T09:30",
        "agenda_items-0-ends_at": "2026-03-10T10:00",
        "agenda_items-0-DELETE": "on",
    }
    response = login(users["pi"]).post(
        reverse("meetings:edit", args=[project.pk, meeting.pk]), data
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.title == "Renamed"
    assert meeting.agenda_items.count() == 0


@pytest.mark.parametrize("role", ["coder", "observer"])
def test_only_pi_sees_meeting_management_links(login, project, users, meeting, role):
    home = login(users[role]).get(reverse("projects:home", args=[project.pk])).content.decode()
    detail = (
        login(users[role])
        .get(reverse("meetings:detail", args=[project.pk, meeting.pk]))
        .content.decode()
    )
    assert reverse("meetings:create", args=[project.pk]) not in home
    assert reverse("meetings:edit", args=[project.pk, meeting.pk]) not in detail


def test_pi_sees_meeting_management_links(login, project, users, meeting):
    home = login(users["pi"]).get(reverse("projects:home", args=[project.pk])).content.decode()
    detail = (
        login(users["pi"])
        .get(reverse("meetings:detail", args=[project.pk, meeting.pk]))
        .content.decode()
    )
    assert reverse("meetings:create", args=[project.pk]) in home
    assert reverse("meetings:edit", args=[project.pk, meeting.pk]) in detail
