"""Getting text in: uploads with a preview, time markers, and new versions of a fieldnote."""

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .extract import ExtractionError, extract_pasted, extract_text
from .models import Fieldnote, Observer, PendingUpload, SourceFormat, TimeMarker
from .reanchor import Status, reanchor
from .timemarkers import anchor_markers, find_day_headings, find_markers

UNREADABLE = "The file could not be read."
PENDING_KEPT_FOR = timedelta(days=7)


def suggest_markers(text: str, meeting) -> list:
    """Time markers found in `text`, placed on the meeting's clock, for the uploader to confirm."""
    return anchor_markers(
        find_markers(text),
        day_starts=meeting.day_starts(),
        meeting_end=timezone.localtime(meeting.ends_at),
        headings=find_day_headings(text),
    )


def _read_file(uploaded) -> tuple[bytes | None, str]:
    limit = settings.UPLOAD_MAX_BYTES
    if uploaded.size is not None and uploaded.size > limit:
        return None, (
            f"The file is {uploaded.size / 1_048_576:.1f} MB; "
            f"the limit is {limit / 1_048_576:.0f} MB."
        )
    return uploaded.read(limit + 1), ""


def _pending_from_file(uploaded, **common) -> PendingUpload:
    name = uploaded.name or "unnamed file"
    data, error = _read_file(uploaded)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    pending = PendingUpload(source_name=name[:255], source_format=SourceFormat.TEXT, **common)
    if error:
        pending.error = error
        return pending
    try:
        extracted = extract_text(
            data,
            name,
            max_bytes=settings.UPLOAD_MAX_BYTES,
            max_unpacked_bytes=settings.UPLOAD_MAX_UNPACKED_BYTES,
        )
    except ExtractionError as problem:
        pending.error = str(problem) or UNREADABLE
        if extension in SourceFormat.values:
            pending.source_format = extension
        return pending
    pending.source_format = extracted.format
    pending.text = extracted.text
    pending.encoding = extracted.encoding or ""
    pending.warnings = list(extracted.warnings)
    return pending


@transaction.atomic
def read_uploads(*, meeting, uploaded_by, files=(), pasted_text="", pasted_name="", revises=None):
    """Reads every file (and any pasted text) into a batch waiting for preview.

    A file that cannot be read is kept in the batch with the reason, so the preview can list it.
    """
    # Previews nobody saved or discarded are not kept for ever: they hold confidential text.
    PendingUpload.objects.filter(created_at__lt=timezone.now() - PENDING_KEPT_FOR).delete()
    batch = uuid.uuid4()
    common = {"batch": batch, "meeting": meeting, "uploaded_by": uploaded_by, "revises": revises}
    pending = [_pending_from_file(uploaded, **common) for uploaded in files]
    if pasted_text.strip():
        try:
            extracted = extract_pasted(pasted_text)
        except ExtractionError as problem:
            pending.append(
                PendingUpload(
                    source_name=pasted_name or "Pasted text",
                    source_format=SourceFormat.PASTE,
                    error=str(problem),
                    **common,
                )
            )
        else:
            pending.append(
                PendingUpload(
                    source_name=(pasted_name or "Pasted text")[:255],
                    source_format=SourceFormat.PASTE,
                    text=extracted.text,
                    warnings=list(extracted.warnings),
                    **common,
                )
            )
    if not pending:
        raise ValidationError("Choose at least one file, or paste some text.")
    PendingUpload.objects.bulk_create(pending)
    return batch


@dataclass
class MarkerChoice:
    index: int  # position in suggest_markers(text, meeting)
    include: bool
    moment: datetime | None


@dataclass
class ImportChoice:
    pending: PendingUpload
    observer: str  # "o:<observer id>", "u:<user id>" or "new"
    new_observer_name: str = ""
    title: str = ""
    markers: list[MarkerChoice] = field(default_factory=list)


def resolve_observer(*, project, choice: str, new_name: str = "") -> Observer:
    kind, _, value = choice.partition(":")
    if kind == "o":
        observer = Observer.objects.filter(project=project, pk=value).first()
        if observer is None:
            raise ValidationError("That observer is not part of this project.")
        return observer
    if kind == "u":
        membership = project.memberships.select_related("user").filter(user_id=value).first()
        if membership is None:
            raise ValidationError("That person is not a member of this project.")
        user = membership.user
        observer, _ = Observer.objects.get_or_create(
            project=project, user=user, defaults={"name": user.get_full_name() or user.username}
        )
        return observer
    if kind == "new" and new_name.strip():
        return Observer.objects.create(project=project, name=new_name.strip()[:200])
    raise ValidationError("Choose who wrote this fieldnote, or give a new observer's name.")


def _save_markers(fieldnote, text, meeting, choices: list[MarkerChoice]) -> None:
    suggestions = suggest_markers(text, meeting)
    markers = []
    for choice in choices:
        if not choice.include or not 0 <= choice.index < len(suggestions):
            continue
        anchored = suggestions[choice.index]
        marker = anchored.marker
        markers.append(
            TimeMarker(
                fieldnote=fieldnote,
                offset=marker.start,
                end=marker.end,
                text=marker.text[:100],
                kind=marker.kind,
                moment=choice.moment,
                confirmed=True,
                note="" if choice.moment == anchored.moment else "Corrected by the uploader.",
            )
        )
    TimeMarker.objects.bulk_create(markers)


@transaction.atomic
def import_pending(*, choices: list[ImportChoice], user) -> list[Fieldnote]:
    """Saves the previewed texts as fieldnotes with their confirmed time markers: all or none."""
    created = []
    for choice in choices:
        pending = choice.pending
        if not pending.ok:
            continue
        meeting = pending.meeting
        observer = resolve_observer(
            project=meeting.project, choice=choice.observer, new_name=choice.new_observer_name
        )
        title = choice.title.strip() or default_title(pending.source_name)
        fieldnote = Fieldnote(
            meeting=meeting,
            observer=observer,
            title=title[:200],
            text=pending.text,
            source_name=pending.source_name,
            source_format=pending.source_format,
            created_by=user,
        )
        fieldnote.full_clean(exclude=["text"])
        fieldnote.save()
        _save_markers(fieldnote, fieldnote.text, meeting, choice.markers)
        created.append(fieldnote)
    if choices:
        PendingUpload.objects.filter(batch=choices[0].pending.batch).delete()
    return created


def default_title(source_name: str) -> str:
    stem = source_name.rsplit(".", 1)[0] if "." in source_name else source_name
    return stem.replace("_", " ").strip() or "Fieldnotes"


@transaction.atomic
def update_markers(*, fieldnote, changes) -> None:
    """Applies (marker, keep, moment) corrections to a fieldnote's saved time markers."""
    for marker, keep, moment in changes:
        if not keep:
            marker.delete()
        elif moment != marker.moment:
            marker.moment = moment
            marker.confirmed = True
            marker.note = "Corrected by hand."
            marker.save(update_fields=["moment", "confirmed", "note"])


REVIEW_REASONS = {
    Status.CHANGED: "The text of this excerpt changed in version {version}.",
    Status.DELETED: (
        "The text of this excerpt was removed in version {version}; it now marks where it was."
    ),
}


def preview_revision(fieldnote, new_text: str) -> Counter:
    """How the excerpts would fare: a count per re-anchoring status."""
    spans = list(fieldnote.excerpts.values_list("start", "end"))
    if not spans:
        return Counter()
    return Counter(result.status for result in reanchor(fieldnote.text, new_text, spans))


@transaction.atomic
def revise_fieldnote(*, pending: PendingUpload, user, markers: list[MarkerChoice]) -> Fieldnote:
    """The previewed text of `pending` as the next version of the fieldnote it revises."""
    new = create_version(
        fieldnote=pending.revises,
        text=pending.text,
        source_name=pending.source_name,
        source_format=pending.source_format,
        user=user,
    )
    _save_markers(new, new.text, new.meeting, markers)
    PendingUpload.objects.filter(batch=pending.batch).delete()
    return new


@transaction.atomic
def create_version(*, fieldnote, text, source_name, source_format, user=None) -> Fieldnote:
    """A new version of a fieldnote with every excerpt carried over; none is dropped.

    Excerpts whose text changed, or disappeared, are flagged for review. The old version keeps
    its text and stays readable.
    """
    old = Fieldnote.objects.select_for_update().get(pk=fieldnote.pk)
    if Fieldnote.objects.filter(previous_version=old).exists():
        raise ValidationError(
            "Someone has revised this fieldnote already; open its latest version."
        )
    new = Fieldnote.objects.create(
        meeting=old.meeting,
        observer=old.observer,
        title=old.title,
        text=text,
        source_name=source_name,
        source_format=source_format,
        version=old.version + 1,
        previous_version=old,
        created_by=user,
    )
    excerpts = list(old.excerpts.order_by("pk"))
    if excerpts:
        results = reanchor(old.text, new.text, [(e.start, e.end) for e in excerpts])
        for excerpt, result in zip(excerpts, results, strict=True):
            excerpt.fieldnote = new
            excerpt.start, excerpt.end = result.start, result.end
            if result.status in REVIEW_REASONS:
                excerpt.needs_review = True
                excerpt.review_reason = REVIEW_REASONS[result.status].format(version=new.version)
        assert all(0 <= e.start < e.end <= len(new.text) for e in excerpts)
        type(excerpts[0]).objects.bulk_update(
            excerpts, ["fieldnote", "start", "end", "needs_review", "review_reason", "updated_at"]
        )
    # Its coding rounds follow the excerpts, so a blind round keeps hiding them.
    from coding.rounds import carry_rounds_to_version

    carry_rounds_to_version(old=old, new=new)
    return new


def save_suggested_markers(fieldnote) -> None:
    """Markers found in a text nobody is asked to confirm (a lay panel form), kept unconfirmed."""
    TimeMarker.objects.filter(fieldnote=fieldnote).delete()
    TimeMarker.objects.bulk_create(
        TimeMarker(
            fieldnote=fieldnote,
            offset=anchored.marker.start,
            end=anchored.marker.end,
            text=anchored.marker.text[:100],
            kind=anchored.marker.kind,
            moment=anchored.moment,
            confirmed=False,
            note=anchored.note[:200],
        )
        for anchored in suggest_markers(fieldnote.text, fieldnote.meeting)
    )
