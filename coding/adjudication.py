"""Adjudication: settling disagreements into the project's consensus coding, and discussing them.

The consensus coder is an ordinary member with the coder role and an account nobody can log in
as. Its excerpts are ordinary excerpts, made and removed through `coding.services` so that the
audit trail names the PI who decided, and so it counts as one more coder in retrieval, reports
and exports without any special case there.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from fieldnotes.models import Fieldnote
from projects.models import Membership, Project, Role

from . import services
from .models import Disagreement, DisagreementComment, Excerpt

CONSENSUS_NAME = "Consensus"
COMMENT_MAX_LENGTH = 4000
Resolution = Disagreement.Resolution


@transaction.atomic
def consensus_coder_for(project):
    """The project's consensus coder, created on first use."""
    found = _consensus_user(project)
    if found is not None:
        return found
    # Two PIs settling their first disagreements at once must not make two consensus coders.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    found = _consensus_user(project)
    if found is not None:
        return found
    User = get_user_model()
    username = base = f"consensus-{project.pk}"
    suffix = 1
    while User.objects.filter(username=username).exists():
        suffix += 1
        username = f"{base}-{suffix}"
    user = User(username=username, first_name=CONSENSUS_NAME, is_active=False)
    user.set_unusable_password()
    user.save()
    Membership.objects.create(project=project, user=user, role=Role.CODER, is_consensus=True)
    return user


def _consensus_user(project):
    membership = (
        Membership.objects.select_related("user").filter(project=project, is_consensus=True).first()
    )
    return membership.user if membership else None


def span_for(disagreement, resolution, *, start=None, end=None) -> tuple[int, int] | None:
    """The span a decision gives the consensus coding, or None for "neither"."""
    first = (disagreement.first_start, disagreement.first_end)
    second = None
    if disagreement.second_start is not None:
        second = (disagreement.second_start, disagreement.second_end)
    if resolution == Resolution.ACCEPT_FIRST:
        return first
    if resolution == Resolution.ACCEPT_SECOND:
        if second is None:
            raise ValidationError("Only one coder marked this passage, so there is no B to accept.")
        return second
    if resolution == Resolution.UNION:
        spans = [first] if second is None else [first, second]
        return min(s for s, _ in spans), max(e for _, e in spans)
    if resolution == Resolution.INTERSECTION:
        if second is None:
            raise ValidationError(
                "Only one coder marked this passage, so there is no overlap to keep."
            )
        lo, hi = max(first[0], second[0]), min(first[1], second[1])
        if lo >= hi:
            raise ValidationError("The two spans do not overlap, so there is no overlap to keep.")
        return lo, hi
    if resolution == Resolution.NEITHER:
        return None
    if resolution == Resolution.EDIT:
        return _edited_span(disagreement.fieldnote, start, end)
    choices = ", ".join(f"“{label}”" for label in Resolution.labels)
    raise ValidationError(f"Choose one of the decisions: {choices}.")


def _edited_span(fieldnote, start, end) -> tuple[int, int]:
    if start is None or end is None:
        raise ValidationError("Give both a start and an end for the edited span.")
    length = len(fieldnote.text)
    if start < 0 or end > length:
        raise ValidationError(
            f"The edited span must lie inside the fieldnote's text, which runs from 0 to "
            f"{length}; got {start} to {end}."
        )
    if start >= end:
        raise ValidationError(
            f"The edited span must start before it ends; got start {start} and end {end}."
        )
    return start, end


def _check_current_version(fieldnote) -> None:
    later = Fieldnote.objects.filter(previous_version=fieldnote).first()
    if later is not None:
        # Every excerpt moved to the new version when it was made; a consensus excerpt on this
        # one would be left behind, and the report's offsets do not fit the new text.
        raise ValidationError(
            f"“{fieldnote.title}” has been revised since this report (version "
            f"{fieldnote.version} is no longer the latest), so the report's offsets no longer "
            "fit its text. Run the report again and settle the disagreement there."
        )


def _check_code_usable(code) -> None:
    if code.merged_into_id is not None:
        raise ValidationError(
            f"The code “{code.name}” was merged into “{code.merged_into.name}” after this "
            "report. Run the report again to settle the disagreement with that code."
        )
    if code.archived:
        raise ValidationError(
            f"The code “{code.name}” has been archived since this report. Restore it in the "
            "codebook to settle the disagreement with it."
        )


def _locked(disagreement) -> Disagreement:
    return (
        Disagreement.objects.select_for_update(of=("self",))
        .select_related("fieldnote", "code", "report", "consensus_excerpt")
        .get(pk=disagreement.pk)
    )


@transaction.atomic
def resolve(*, disagreement, resolution, user, start=None, end=None, note="") -> Disagreement:
    """Settles a disagreement: the chosen span, with the disagreement's code, goes into the
    consensus coding. Settling again replaces the earlier decision's result."""
    locked = _locked(disagreement)
    span = span_for(locked, resolution, start=start, end=end)
    previous = locked.consensus_excerpt
    if span is not None:
        _check_current_version(locked.fieldnote)
        _check_code_usable(locked.code)
    if (
        previous is not None
        and span == (previous.start, previous.end)
        and _carries(previous, locked)
    ):
        excerpt = previous
    else:
        _take_back(locked, user=user)
        excerpt = None
        if span is not None:
            consensus = consensus_coder_for(locked.report.project)
            excerpt = _apply(locked, consensus=consensus, span=span, user=user)
    locked.resolution = resolution
    locked.resolved_by = user
    locked.resolved_at = timezone.now()
    locked.consensus_excerpt = excerpt
    locked.save(update_fields=["resolution", "resolved_by", "resolved_at", "consensus_excerpt"])
    if note.strip():
        add_comment(disagreement=locked, user=user, text=note)
    return locked


@transaction.atomic
def reopen(*, disagreement, user) -> Disagreement:
    """Undoes a decision: its consensus coding is taken back and the disagreement is open again."""
    locked = _locked(disagreement)
    if not locked.is_resolved:
        raise ValidationError("This disagreement is open already.")
    _take_back(locked, user=user)
    locked.resolution = ""
    locked.resolved_by = None
    locked.resolved_at = None
    locked.consensus_excerpt = None
    locked.save(update_fields=["resolution", "resolved_by", "resolved_at", "consensus_excerpt"])
    return locked


def _carries(excerpt, disagreement) -> bool:
    return excerpt.excerpt_codes.filter(code=disagreement.code).exists()


def _apply(disagreement, *, consensus, span, user) -> Excerpt:
    start, end = span
    same_span = (
        Excerpt.objects.filter(
            fieldnote=disagreement.fieldnote, coder=consensus, start=start, end=end
        )
        .order_by("pk")
        .first()
    )
    if same_span is None:
        return services.create_excerpt(
            fieldnote=disagreement.fieldnote,
            coder=consensus,
            start=start,
            end=end,
            codes=[disagreement.code],
            user=user,
        )
    codes = list(same_span.codes.all())
    if disagreement.code not in codes:
        services.change_excerpt(excerpt=same_span, user=user, codes=[*codes, disagreement.code])
    return same_span


def _take_back(disagreement, *, user) -> None:
    """Removes what this disagreement's decision put into the consensus coding: its code on the
    excerpt, or the excerpt when that was its only code. Another settled disagreement that relies
    on the same excerpt and code keeps it."""
    excerpt = disagreement.consensus_excerpt
    if excerpt is None:
        return
    shared = (
        Disagreement.objects.filter(consensus_excerpt=excerpt, code=disagreement.code)
        .exclude(pk=disagreement.pk)
        .exclude(resolution="")
        .exists()
    )
    if shared:
        return
    codes = list(excerpt.codes.all())
    if disagreement.code not in codes:
        return
    if len(codes) == 1:
        services.delete_excerpt(excerpt=excerpt, user=user)
    else:
        remaining = [code for code in codes if code != disagreement.code]
        services.change_excerpt(excerpt=excerpt, user=user, codes=remaining)


@transaction.atomic
def add_comment(*, disagreement, user, text: str) -> DisagreementComment:
    # NUL cannot be stored in a PostgreSQL text column, and nobody types it.
    text = text.replace("\x00", "").strip()
    if not text:
        raise ValidationError("Write something before posting a comment.")
    if len(text) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            f"A comment can be at most {COMMENT_MAX_LENGTH:,} characters; this one has "
            f"{len(text):,}. Split it into two, or shorten it."
        )
    return DisagreementComment.objects.create(disagreement=disagreement, author=user, text=text)
