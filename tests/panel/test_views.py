import re

import pytest
from django.urls import reverse

from fieldnotes.models import Fieldnote
from panel import services
from panel.models import LayDraft, LayInvitation


@pytest.fixture
def key(meeting, users):
    _, key = services.create_invitation(meeting=meeting, label="Margaret", created_by=users["pi"])
    return key


def test_pi_makes_a_link_and_sees_it_once(login, project, users, meeting):
    client = login(users["pi"])
    response = client.post(
        reverse("panel:invite", args=[project.pk, meeting.pk]), {"label": "Tony", "days": "14"}
    )
    content = response.content.decode()
    link = re.search(r'value="(http://testserver/lay/[^"]+/)"', content).group(1)
    key = link.rsplit("/", 2)[-2]
    invitation = LayInvitation.objects.get(label="Tony")
    assert invitation.token_hash == services.hash_token(key)
    assert (
        key
        not in client.get(reverse("panel:manage", args=[project.pk, meeting.pk])).content.decode()
    )


def test_invitation_form_errors_are_shown(login, project, users, meeting):
    response = login(users["pi"]).post(
        reverse("panel:invite", args=[project.pk, meeting.pk]), {"label": "", "days": "0"}
    )
    assert response.status_code == 400
    assert response.context["invite_form"].errors == {
        "label": ["This field is required."],
        "days": ["Ensure this value is greater than or equal to 1."],
    }


def test_lay_form_needs_no_login_and_shows_the_prompts(client, key, meeting):
    response = client.get(reverse("panel:form", args=[key]))
    content = response.content.decode()
    assert '<label for="answer-0">What happened?</label>' in content
    assert '<label for="name">Your name</label>' in content
    assert "Learning event" in content
    # Nothing about the project beyond this meeting.
    assert "Ward study" not in content


def test_draft_autosave_and_reload_brings_it_back(client, key):
    response = client.post(
        reverse("panel:draft", args=[key]), {"name": "Margaret", "answer-1": "The silence at 2pm."}
    )
    assert response.json()["saved"] is True
    page = client.get(reverse("panel:form", args=[key])).content.decode()
    assert 'value="Margaret"' in page
    assert ">The silence at 2pm.</textarea>" in page


def test_draft_save_on_a_dead_link_says_why(client, key):
    LayInvitation.objects.update(revoked_at="2026-01-01T00:00:00Z")
    response = client.post(reverse("panel:draft", args=[key]), {"name": "M"})
    assert response.status_code == 410
    assert response.json()["error"].startswith("This link has been switched off")


def test_sending_creates_the_fieldnote_and_shows_it_back(client, key, meeting):
    response = client.post(
        reverse("panel:form", args=[key]),
        {"name": "Margaret", "answer-0": "<script>alert(1)</script> Talk."},
    )
    assert response["Location"] == reverse("panel:sent", args=[key])
    fieldnote = Fieldnote.objects.get()
    assert fieldnote.text == "What happened?\n<script>alert(1)</script> Talk."
    sent = client.get(reverse("panel:sent", args=[key])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Talk." in sent
    assert "<script>alert(1)" not in sent
    assert "Change what I sent" in sent


def test_sending_without_a_name_keeps_the_text(client, key):
    response = client.post(
        reverse("panel:form", args=[key]), {"name": "", "answer-0": "Long answer typed on a phone."}
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "Please give your name before sending." in content
    assert ">Long answer typed on a phone.</textarea>" in content
    assert LayDraft.objects.get().answers["What happened?"] == "Long answer typed on a phone."


def test_unknown_link_page(client, db):
    response = client.get(reverse("panel:form", args=["nope"]))
    assert response.status_code == 404
    assert "This link does not work." in response.content.decode()


def test_pi_sees_submissions_arrive_on_the_meeting_page(
    client, login, key, project, users, meeting
):
    client.post(reverse("panel:form", args=[key]), {"name": "Margaret", "answer-0": "Talk."})
    pi = login(users["pi"])
    fragment = pi.get(
        reverse("meetings:detail", args=[project.pk, meeting.pk]), headers={"HX-Request": "true"}
    )
    content = fragment.content.decode()
    assert content.lstrip().startswith('<section class="panel" id="fieldnote-list"')
    assert "Margaret" in content and "lay panel form" in content


def test_locking_stops_changes(client, login, key, project, users, meeting):
    client.post(reverse("panel:form", args=[key]), {"name": "Margaret", "answer-0": "Talk."})
    login(users["pi"]).post(reverse("panel:lock", args=[project.pk, meeting.pk]), {"locked": "1"})
    client.logout()
    sent = client.get(reverse("panel:sent", args=[key])).content.decode()
    assert "Change what I sent" not in sent
    response = client.post(
        reverse("panel:draft", args=[key]), {"name": "Margaret", "answer-0": "Changed"}
    )
    assert response.status_code == 409
    assert Fieldnote.objects.get().text == "What happened?\nTalk."


def test_lay_pages_are_never_cached(client, key):
    response = client.get(reverse("panel:form", args=[key]))
    assert "no-store" in response["Cache-Control"]
