"""Lay panel forms: personal links, drafts saved as people type, and submissions as fieldnotes."""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fieldnotes.models import Fieldnote, Observer, SourceFormat
from fieldnotes.services import create_version, save_suggested_markers

from .models import LayDraft, LayInvitation

DEFAULT_DAYS = 30


class LinkUnavailable(Exception):
    """The link is unknown, revoked or expired; the message says which, kindly."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    # 32 random bytes: unguessable; only the hash is stored, so a database leak reveals no link.
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


@transaction.atomic
def create_invitation(
    *, meeting, label: str, days: int = DEFAULT_DAYS, created_by
) -> tuple[LayInvitation, str]:
    token, digest = _new_token()
    invitation = LayInvitation.objects.create(
        meeting=meeting,
        label=label.strip(),
        token_hash=digest,
        created_by=created_by,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return invitation, token


@transaction.atomic
def reissue_invitation(*, invitation: LayInvitation, days: int = DEFAULT_DAYS) -> str:
    """A new link for the same person; the old link stops working, their draft is kept."""
    token, digest = _new_token()
    invitation.token_hash = digest
    invitation.revoked_at = None
    invitation.expires_at = timezone.now() + timedelta(days=days)
    invitation.save(update_fields=["token_hash", "revoked_at", "expires_at"])
    return token


def revoke_invitation(*, invitation: LayInvitation) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


def invitation_for_token(token: str) -> LayInvitation:
    invitation = (
        LayInvitation.objects.select_related("meeting__project", "observer")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise LinkUnavailable(
            "This link does not work. Please check it, or ask the research team for a new one."
        )
    if invitation.state == "revoked":
        raise LinkUnavailable(
            "This link has been switched off by the research team. Ask them for a new one."
        )
    if invitation.state == "expired":
        raise LinkUnavailable("This link has expired. Ask the research team for a new one.")
    return invitation


def _check_open(invitation) -> None:
    if invitation.meeting.lay_locked:
        raise ValidationError(
            "The research team has closed this meeting, so what you sent can no longer be changed."
        )


@transaction.atomic
def save_draft(*, invitation: LayInvitation, name: str, answers: dict[str, str]) -> LayDraft:
    """Keeps what the person has typed so far. Answers to prompts are keyed by the prompt's text."""
    _check_open(invitation)
    draft, _ = LayDraft.objects.select_for_update().get_or_create(invitation=invitation)
    # NUL cannot be stored in PostgreSQL text or JSON, and nobody types it.
    draft.name = name.replace("\x00", "").strip()[:200]
    known = set(invitation.meeting.prompts) | set(draft.answers)
    answers = {k: v.replace("\x00", "") for k, v in answers.items() if k in known}
    draft.answers = {**draft.answers, **answers}
    draft.save()
    LayInvitation.objects.filter(pk=invitation.pk).update(last_used_at=timezone.now())
    return draft


def compose_text(prompts: list[str], answers: dict[str, str]) -> str:
    """The fieldnote text: each prompt on its own line, then the answer; empty answers left out.

    Answers to prompts the team has since removed are kept, after the current ones.
    """
    order = list(prompts) + [p for p in answers if p not in prompts]
    blocks = [
        f"{prompt}\n{answers[prompt].strip()}"
        for prompt in order
        if answers.get(prompt, "").strip()
    ]
    return "\n\n".join(blocks)


@transaction.atomic
def submit_draft(*, invitation: LayInvitation) -> Fieldnote:
    """Sends the draft: a new fieldnote, or the sender's changes to the one they sent before."""
    _check_open(invitation)
    draft = LayDraft.objects.select_for_update().filter(invitation=invitation).first()
    if draft is None or not draft.name:
        raise ValidationError("Please give your name before sending.")
    meeting = invitation.meeting
    text = compose_text(meeting.prompts, draft.answers)
    if not text:
        raise ValidationError("Please write something in at least one box before sending.")
    observer = invitation.observer
    if observer is None:
        observer = Observer.objects.create(project=meeting.project, name=draft.name)
        invitation.observer = observer
        invitation.save(update_fields=["observer"])
    elif observer.name != draft.name:
        observer.name = draft.name
        observer.save(update_fields=["name"])
    fieldnote = latest_version(draft.fieldnote)
    title = f"Observations of {meeting.title} by {draft.name}"[:200]
    if fieldnote is None:
        fieldnote = Fieldnote.objects.create(
            meeting=meeting,
            observer=observer,
            title=title,
            text=text,
            source_name="Lay panel form",
            source_format=SourceFormat.FORM,
        )
    elif fieldnote.text != text:
        if fieldnote.excerpts.exists():
            fieldnote = create_version(
                fieldnote=fieldnote,
                text=text,
                source_name="Lay panel form",
                source_format=SourceFormat.FORM,
            )
        else:
            fieldnote.text = text
            fieldnote.save(update_fields=["text"])
    save_suggested_markers(fieldnote)
    draft.fieldnote = fieldnote
    draft.submitted_at = timezone.now()
    draft.save(update_fields=["fieldnote", "submitted_at", "updated_at"])
    return fieldnote


def latest_version(fieldnote):
    while fieldnote is not None and Fieldnote.objects.filter(previous_version=fieldnote).exists():
        fieldnote = Fieldnote.objects.get(previous_version=fieldnote)
    return fieldnote


@transaction.atomic
def set_prompts(*, meeting, prompts: list[str]) -> None:
    cleaned = [p.strip()[:500] for p in prompts if p.strip()]
    if len(set(cleaned)) != len(cleaned):
        raise ValidationError("Each question must be different.")
    meeting.lay_prompts = cleaned
    meeting.save(update_fields=["lay_prompts"])


def set_locked(*, meeting, locked: bool) -> None:
    meeting.lay_locked_at = timezone.now() if locked else None
    meeting.save(update_fields=["lay_locked_at"])
