"""Excerpt workflows: create, change, delete and undo, each one transaction with an audit event.

Offsets are code points of the fieldnote's stored text. Folders (codes that are not codable) and
archived codes cannot be applied. Every change names the excerpt revision it was made from; an
older revision means someone else changed the excerpt meanwhile, and the change is refused rather
than overwriting their work.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from .models import Excerpt, ExcerptCode, ExcerptEvent


class ExcerptConflict(ValidationError):
    """The excerpt changed since the page showed it."""


def excerpt_state(excerpt: Excerpt, codes=None) -> dict:
    codes = list(excerpt.codes.all()) if codes is None else codes
    return {
        "start": excerpt.start,
        "end": excerpt.end,
        "codes": sorted(code.pk for code in codes),
        "code_names": sorted(code.name for code in codes),
        "memo": excerpt.memo,
        "unsure": excerpt.unsure,
        "coder": excerpt.coder_id,
        "text": excerpt.fieldnote.text[excerpt.start : excerpt.end][:500],
    }


def _check_codes(codes) -> None:
    if not codes:
        raise ValidationError("Choose at least one code for the excerpt.")
    for code in codes:
        if not code.is_codable:
            raise ValidationError(f"{code.name!r} is a folder and cannot be applied to text.")
        if code.archived:
            raise ValidationError(f"{code.name!r} is archived and cannot be applied to text.")


def _event(excerpt, user, action, before=None, after=None) -> ExcerptEvent:
    return ExcerptEvent.objects.create(
        fieldnote=excerpt.fieldnote,
        excerpt_key=excerpt.pk,
        excerpt=excerpt if action != ExcerptEvent.Action.DELETED else None,
        user=user,
        action=action,
        before=before,
        after=after,
    )


@transaction.atomic
def create_excerpt(
    *, fieldnote, coder, start: int, end: int, codes, memo="", unsure=False, user=None
) -> Excerpt:
    """A new excerpt with its codes, all or nothing."""
    codes = list(codes)
    _check_codes(codes)
    excerpt = Excerpt(
        fieldnote=fieldnote, coder=coder, start=start, end=end, memo=memo, unsure=unsure
    )
    excerpt.check_invariants(codes=codes)
    excerpt.save()
    ExcerptCode.objects.bulk_create(ExcerptCode(excerpt=excerpt, code=code) for code in codes)
    _event(excerpt, user or coder, ExcerptEvent.Action.CREATED, after=excerpt_state(excerpt, codes))
    return excerpt


def check_may_change(excerpt: Excerpt, user, role: str) -> None:
    if excerpt.coder_id != user.pk and role != "pi":
        raise PermissionDenied("Only the coder who made an excerpt, or a PI, may change it.")


def _locked(excerpt: Excerpt, revision: int | None) -> Excerpt:
    current = (
        Excerpt.objects.select_for_update()
        .select_related("fieldnote")
        .filter(pk=excerpt.pk)
        .first()
    )
    if current is None:
        raise ExcerptConflict(
            "This excerpt has been deleted by someone else. Reload to see the latest coding."
        )
    if revision is not None and current.revision != revision:
        raise ExcerptConflict(
            "Someone changed this excerpt after you opened it, so your change was not saved. "
            "Reload to see their version, then make your change again."
        )
    return current


@transaction.atomic
def change_excerpt(
    *, excerpt, user, revision=None, start=None, end=None, codes=None, memo=None, unsure=None
) -> Excerpt:
    excerpt = _locked(excerpt, revision)
    old_codes = list(excerpt.codes.all())
    before = excerpt_state(excerpt, old_codes)
    if start is not None:
        excerpt.start = start
    if end is not None:
        excerpt.end = end
    if memo is not None:
        excerpt.memo = memo
    if unsure is not None:
        excerpt.unsure = unsure
    new_codes = old_codes if codes is None else list(codes)
    _check_codes(new_codes)
    excerpt.check_invariants(codes=new_codes)
    if codes is not None:
        wanted = {code.pk for code in new_codes}
        ExcerptCode.objects.filter(excerpt=excerpt).exclude(code_id__in=wanted).delete()
        have = set(ExcerptCode.objects.filter(excerpt=excerpt).values_list("code_id", flat=True))
        ExcerptCode.objects.bulk_create(
            ExcerptCode(excerpt=excerpt, code=code) for code in new_codes if code.pk not in have
        )
    after = excerpt_state(excerpt, new_codes)
    if after == before:
        return excerpt
    excerpt.revision += 1
    excerpt.needs_review = False if (start is not None or end is not None) else excerpt.needs_review
    excerpt.save()
    _event(excerpt, user, ExcerptEvent.Action.CHANGED, before=before, after=after)
    return excerpt


@transaction.atomic
def delete_excerpt(*, excerpt, user, revision=None) -> ExcerptEvent:
    excerpt = _locked(excerpt, revision)
    before = excerpt_state(excerpt)
    event = _event(excerpt, user, ExcerptEvent.Action.DELETED, before=before)
    excerpt.delete()
    return event


@transaction.atomic
def undo(*, event: ExcerptEvent, user) -> Excerpt | None:
    """Reverses one audit event: brings back a deleted excerpt, restores the state before a change,
    or removes a created one. Refused when the excerpt has changed since."""
    from .models import Code

    event = ExcerptEvent.objects.select_for_update().get(pk=event.pk)
    if event.action == ExcerptEvent.Action.DELETED:
        if Excerpt.objects.filter(pk=event.excerpt_key).exists():
            raise ValidationError("This excerpt is already back.")
        state = event.before
        codes = list(
            Code.objects.filter(
                pk__in=state["codes"], codebook__project=event.fieldnote.meeting.project
            )
        )
        excerpt = Excerpt(
            pk=event.excerpt_key,
            fieldnote=event.fieldnote,
            coder_id=state["coder"],
            start=state["start"],
            end=state["end"],
            memo=state["memo"],
            unsure=state["unsure"],
        )
        excerpt.check_invariants(codes=codes)
        _check_codes(codes)
        excerpt.save(force_insert=True)
        ExcerptCode.objects.bulk_create(ExcerptCode(excerpt=excerpt, code=code) for code in codes)
        _event(excerpt, user, ExcerptEvent.Action.RESTORED, after=excerpt_state(excerpt, codes))
        return excerpt
    excerpt = Excerpt.objects.filter(pk=event.excerpt_key).first()
    if excerpt is None:
        raise ValidationError("This excerpt no longer exists, so this step cannot be undone.")
    latest = (
        ExcerptEvent.objects.filter(excerpt_key=event.excerpt_key).order_by("-at", "-pk").first()
    )
    if latest.pk != event.pk:
        raise ValidationError("The excerpt has changed since; undo its latest change first.")
    if event.action == ExcerptEvent.Action.CREATED:
        delete_excerpt(excerpt=excerpt, user=user)
        return None
    state = event.before
    codes = list(Code.objects.filter(pk__in=state["codes"]))
    return change_excerpt(
        excerpt=excerpt,
        user=user,
        start=state["start"],
        end=state["end"],
        codes=codes,
        memo=state["memo"],
        unsure=state["unsure"],
    )
