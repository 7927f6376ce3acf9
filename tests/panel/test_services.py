from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from coding.models import Excerpt
from fieldnotes.models import Fieldnote
from panel import services
from panel.models import LayDraft, LayInvitation
from tests.factories import CodeFactory


@pytest.fixture
def invitation(meeting, users):
    invitation, key = services.create_invitation(
        meeting=meeting, label="Margaret H", created_by=users["pi"]
    )
    invitation.key = key
    return invitation


def test_only_a_hash_of_the_token_is_stored(invitation):
    assert len(invitation.key) >= 43
    assert invitation.token_hash == services.hash_token(invitation.key)
    assert invitation.key not in str(LayInvitation.objects.filter(pk=invitation.pk).values().get())


def test_tokens_are_unique(meeting, users):
    keys = {
        services.create_invitation(meeting=meeting, label=str(i), created_by=users["pi"])[1]
        for i in range(20)
    }
    assert len(keys) == 20


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"revoked_at": timezone.now()},
            "This link has been switched off by the research team. Ask them for a new one.",
        ),
        (
            {"expires_at": timezone.now() - timedelta(minutes=1)},
            "This link has expired. Ask the research team for a new one.",
        ),
    ],
)
def test_revoked_and_expired_links_stop_working(invitation, change, message):
    LayInvitation.objects.filter(pk=invitation.pk).update(**change)
    with pytest.raises(services.LinkUnavailable) as error:
        services.invitation_for_token(invitation.key)
    assert str(error.value) == message


def test_unknown_link(db):
    with pytest.raises(services.LinkUnavailable, match="This link does not work"):
        services.invitation_for_token("guess")


def test_reissue_keeps_the_draft_and_kills_the_old_link(invitation):
    services.save_draft(invitation=invitation, name="Margaret", answers={"What happened?": "Talk."})
    new_key = services.reissue_invitation(invitation=invitation)
    with pytest.raises(services.LinkUnavailable):
        services.invitation_for_token(invitation.key)
    again = services.invitation_for_token(new_key)
    assert again.draft.answers == {"What happened?": "Talk."}


def test_draft_keeps_answers_by_prompt_and_ignores_unknown_keys(invitation):
    services.save_draft(
        invitation=invitation,
        name=" Margaret ",
        answers={"What happened?": "A lot.", "Hacked prompt": "x"},
    )
    services.save_draft(
        invitation=invitation, name="Margaret", answers={"Did anything concern you?": "Yes."}
    )
    draft = LayDraft.objects.get(invitation=invitation)
    assert draft.name == "Margaret"
    assert draft.answers == {"What happened?": "A lot.", "Did anything concern you?": "Yes."}


def test_compose_text_keeps_order_and_answers_to_removed_prompts():
    text = services.compose_text(
        ["What happened?", "What stood out?"],
        {"What stood out?": " The silence. ", "Old question": "Kept.", "What happened?": ""},
    )
    assert text == "What stood out?\nThe silence.\n\nOld question\nKept."


def test_submit_creates_a_fieldnote_with_the_lay_member_as_observer(invitation, meeting):
    services.save_draft(
        invitation=invitation,
        name="Margaret Hughes",
        answers={
            "What happened?": "At 2pm Tony asked where the patients were.",
            "Did anything concern you?": "",
        },
    )
    fieldnote = services.submit_draft(invitation=invitation)
    assert fieldnote.meeting == meeting
    assert fieldnote.observer.name == "Margaret Hughes"
    assert fieldnote.observer.user is None
    assert fieldnote.source_format == "form"
    assert fieldnote.text == "What happened?\nAt 2pm Tony asked where the patients were."
    assert fieldnote.title == "Observations of Learning event by Margaret Hughes"
    assert list(fieldnote.time_markers.values_list("text", "confirmed")) == [("2pm", False)]


def test_submit_needs_a_name_and_some_text(invitation):
    services.save_draft(invitation=invitation, name="", answers={"What happened?": "x"})
    with pytest.raises(ValidationError, match="give your name"):
        services.submit_draft(invitation=invitation)
    services.save_draft(invitation=invitation, name="M", answers={"What happened?": "  "})
    with pytest.raises(ValidationError, match="at least one box"):
        services.submit_draft(invitation=invitation)
    assert Fieldnote.objects.count() == 0


def test_editing_a_submission_updates_it_until_coded_then_makes_a_version(invitation, users):
    services.save_draft(
        invitation=invitation, name="M", answers={"What happened?": "First words here."}
    )
    first = services.submit_draft(invitation=invitation)
    services.save_draft(
        invitation=invitation, name="M", answers={"What happened?": "First words here, and more."}
    )
    assert services.submit_draft(invitation=invitation).pk == first.pk
    code = CodeFactory(codebook=first.meeting.project.codebook)
    excerpt = Excerpt.objects.create(fieldnote=first, coder=users["coder"], start=15, end=20)
    excerpt.excerpt_codes.create(code=code)
    services.save_draft(
        invitation=invitation,
        name="M",
        answers={"What happened?": "First words here, and more. Then lunch."},
    )
    second = services.submit_draft(invitation=invitation)
    assert (second.version, second.previous_version_id) == (2, first.pk)
    excerpt.refresh_from_db()
    assert (excerpt.fieldnote_id, excerpt.text) == (second.pk, "First")


def test_locked_meeting_refuses_changes_but_keeps_what_was_sent(invitation, meeting):
    services.save_draft(invitation=invitation, name="M", answers={"What happened?": "Sent."})
    services.submit_draft(invitation=invitation)
    services.set_locked(meeting=meeting, locked=True)
    with pytest.raises(ValidationError, match="closed this meeting"):
        services.save_draft(invitation=invitation, name="M", answers={"What happened?": "Changed."})
    assert LayDraft.objects.get().answers == {"What happened?": "Sent."}


def test_prompts_must_differ(meeting):
    with pytest.raises(ValidationError, match="must be different"):
        services.set_prompts(meeting=meeting, prompts=["Same?", "Same?"])
    services.set_prompts(meeting=meeting, prompts=["  What did you see?  ", ""])
    meeting.refresh_from_db()
    assert meeting.prompts == ["What did you see?"]


def test_default_prompts(meeting):
    assert meeting.prompts == [
        "What happened?",
        "What stood out for you?",
        "Did anything concern you?",
        "Who spoke, and who did not?",
    ]
