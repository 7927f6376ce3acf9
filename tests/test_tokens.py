"""Lay panel links and API tokens: unguessable, single-purpose, revocable and expiring.

Both are bearer credentials: whoever holds one acts with it, so each must be impossible to guess,
open exactly one thing, and stop working when the team says so or when it runs out.
"""

import hashlib
import math
import re
import secrets
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from exchange.api import create_token, revoke_token
from exchange.models import ApiToken
from panel.models import LayDraft, LayInvitation
from panel.services import create_invitation, reissue_invitation

from .factories import MeetingFactory, MembershipFactory

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")
UNKNOWN_LINK = "This link does not work. Please check it, or ask the research team for a new one."
REVOKED_LINK = "This link has been switched off by the research team. Ask them for a new one."
EXPIRED_LINK = "This link has expired. Ask the research team for a new one."
PROMPT = "What happened?"


@pytest.fixture
def lay_link(meeting, users):
    meeting.lay_prompts = [PROMPT]
    meeting.save(update_fields=["lay_prompts"])
    return create_invitation(meeting=meeting, label="Margaret", created_by=users["pi"])


@pytest.fixture
def api_token(project, users):
    return create_token(project=project, user=users["coder"], label="R scripts")


def _api(client, project, raw):
    return client.get(
        reverse("api:project", args=[project.pk]), headers={"Authorization": f"Bearer {raw}"}
    )


def _lay_page(client, key):
    response = client.get(reverse("panel:form", args=[key]))
    return response.status_code, response.content.decode()


def _entropy_bits(raw: str) -> float:
    assert URL_SAFE.fullmatch(raw), raw
    return len(raw) * math.log2(64)


# ---------------------------------------------------------------------------------------------
# Unguessable


@pytest.mark.parametrize("make", ["lay", "api"])
def test_tokens_are_32_random_bytes_from_secrets(make, meeting, project, users, monkeypatch):
    asked = []
    real = secrets.token_urlsafe

    def spy(nbytes=None):
        asked.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(secrets, "token_urlsafe", spy)
    if make == "lay":
        create_invitation(meeting=meeting, label="Margaret", created_by=users["pi"])
    else:
        create_token(project=project, user=users["coder"], label="R")
    assert asked == [32]


def test_lay_link_is_long_random_and_stored_only_as_its_hash(lay_link):
    invitation, key = lay_link
    assert len(key) == 43
    assert _entropy_bits(key) >= 256
    stored = LayInvitation.objects.filter(pk=invitation.pk).values().get()
    assert stored["token_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert stored["token_hash"] != key
    assert not any(key in str(value) for value in stored.values())


def test_api_token_is_long_random_and_stored_only_as_its_hash(api_token):
    token, raw = api_token
    assert len(raw) == 43
    assert _entropy_bits(raw) >= 256
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert stored["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert stored["token_hash"] != raw
    # Only the first 8 characters are kept, to tell tokens apart; the other 35 (210 bits) are not.
    assert stored["prefix"] == raw[:8]
    assert not any(raw[8:] in str(value) for value in stored.values())


def test_no_two_tokens_are_the_same(meeting, project, users):
    keys = {create_invitation(meeting=meeting, label="M", created_by=users["pi"])[1]}
    keys |= {create_invitation(meeting=meeting, label="M", created_by=users["pi"])[1]}
    keys |= {create_token(project=project, user=users["pi"], label="a")[1] for _ in range(2)}
    assert len(keys) == 4


def test_a_near_miss_opens_nothing(client, lay_link, api_token, project):
    _, key = lay_link
    _, raw = api_token
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    status, page = _lay_page(client, flipped)
    assert (status, UNKNOWN_LINK in page) == (404, True)
    assert _api(client, project, raw[:-1]).json()["error"] == "invalid_token"


# ---------------------------------------------------------------------------------------------
# Single-purpose


def test_lay_key_is_not_an_api_token(client, lay_link, project):
    _, key = lay_link
    response = _api(client, project, key)
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "detail": "This token is not known. Check it, or make a new one.",
    }


def test_api_token_is_not_a_lay_key(client, api_token):
    _, raw = api_token
    status, page = _lay_page(client, raw)
    assert status == 404
    assert UNKNOWN_LINK in page
    draft = client.post(reverse("panel:draft", args=[raw]), {"name": "Eve", "answer-0": "x"})
    assert (draft.status_code, draft.json()["error"]) == (410, UNKNOWN_LINK)
    assert LayDraft.objects.count() == 0


def test_api_token_opens_only_its_own_project(client, api_token, users):
    _, raw = api_token
    elsewhere = MembershipFactory(user=users["coder"], role="pi").project
    response = _api(client, elsewhere, raw)
    assert (response.status_code, response.json()["detail"]) == (
        404,
        "No such project for this token.",
    )


def test_api_token_does_not_log_anyone_in(client, api_token, project):
    _, raw = api_token
    response = client.get(
        reverse("projects:home", args=[project.pk]), headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_lay_link_opens_only_its_own_meeting(client, lay_link, meeting, users):
    invitation, key = lay_link
    other = MeetingFactory(project=meeting.project, title="Ward round in May")
    other_invitation, other_key = create_invitation(
        meeting=other, label="Margaret", created_by=users["pi"]
    )
    status, page = _lay_page(client, key)
    assert (status, meeting.title in page, other.title in page) == (200, True, False)
    status, page = _lay_page(client, other_key)
    assert (status, other.title in page, meeting.title in page) == (200, True, False)
    client.post(reverse("panel:draft", args=[key]), {"name": "Margaret", "answer-0": "First."})
    assert LayDraft.objects.get().invitation == invitation
    assert not LayDraft.objects.filter(invitation=other_invitation).exists()


def test_password_reset_token_is_not_a_lay_key_and_a_lay_key_resets_no_password(
    client, lay_link, users
):
    _, key = lay_link
    user = users["coder"]
    reset_token = default_token_generator.make_token(user)
    status, page = _lay_page(client, reset_token)
    assert (status, UNKNOWN_LINK in page) == (404, True)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    response = client.get(reverse("password_reset_confirm", args=[uid, key]), follow=True)
    assert response.context["validlink"] is False


# ---------------------------------------------------------------------------------------------
# Revocable, without losing what was typed


def test_revoked_lay_link_says_so_and_keeps_the_draft(client, lay_link, users, project):
    invitation, key = lay_link
    client.post(reverse("panel:draft", args=[key]), {"name": "Margaret", "answer-0": "So much."})
    client.force_login(users["pi"])
    client.post(reverse("panel:revoke", args=[project.pk, invitation.pk]))
    client.logout()
    status, page = _lay_page(client, key)
    assert (status, REVOKED_LINK in page) == (404, True)
    autosave = client.post(reverse("panel:draft", args=[key]), {"name": "M", "answer-0": "Gone?"})
    assert (autosave.status_code, autosave.json()) == (
        410,
        {"saved": False, "error": REVOKED_LINK},
    )
    draft = LayDraft.objects.get(invitation=invitation)
    assert (draft.name, draft.answers) == ("Margaret", {PROMPT: "So much."})
    # A new link for the same person opens the same draft; the old one stays dead.
    invitation.refresh_from_db()
    new_key = reissue_invitation(invitation=invitation)
    status, page = _lay_page(client, new_key)
    assert (status, "So much." in page) == (200, True)
    assert _lay_page(client, key)[0] == 404


def test_revoked_api_token_is_refused(client, api_token, project):
    token, raw = api_token
    assert _api(client, project, raw).status_code == 200
    revoke_token(token=token)
    response = _api(client, project, raw)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This token was revoked on ")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


# ---------------------------------------------------------------------------------------------
# Expiring


def test_expired_lay_link_says_so_and_keeps_the_draft(client, lay_link):
    invitation, key = lay_link
    client.post(reverse("panel:draft", args=[key]), {"name": "Margaret", "answer-0": "Kept."})
    LayInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    status, page = _lay_page(client, key)
    assert (status, EXPIRED_LINK in page) == (404, True)
    autosave = client.post(reverse("panel:draft", args=[key]), {"name": "M", "answer-0": "x"})
    assert (autosave.status_code, autosave.json()["error"]) == (410, EXPIRED_LINK)
    assert LayDraft.objects.get(invitation=invitation).answers == {PROMPT: "Kept."}


def test_lay_link_lasts_the_days_chosen(meeting, users):
    before = timezone.now()
    invitation, _ = create_invitation(meeting=meeting, label="M", days=7, created_by=users["pi"])
    assert before + timedelta(days=7) <= invitation.expires_at <= timezone.now() + timedelta(days=7)


def test_expired_api_token_is_refused(client, project, users):
    token, raw = create_token(project=project, user=users["coder"], label="R", days=30)
    assert _api(client, project, raw).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _api(client, project, raw)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This token expired on ")
