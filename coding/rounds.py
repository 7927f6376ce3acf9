"""Coding rounds: a PI assigns fieldnotes to coders, coders mark them done, the PI reveals and
closes the round. Every workflow is one transaction; refusals are ValidationErrors whose message
is shown to the PI as it is.

A round keeps its fieldnotes and coders (the M2M fields) and one `Assignment` per pair in step:
the M2M fields are what `Excerpt.objects.visible_to` reads to hide work in a blind round, the
assignments are what coders tick off.
"""

from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone

from fieldnotes.models import Fieldnote
from projects.models import Membership, Role

from .models import Assignment, CodingRound, Excerpt

CODING_ROLES = (Role.PI, Role.CODER)
ACTIVE_STATES = (CodingRound.State.OPEN, CodingRound.State.REVEALED)


def eligible_coders(project, *, coding_round=None):
    """Members who may be given assignments: PIs and coders, never the consensus coder, whose
    coding is the outcome of adjudication rather than independent work. With `coding_round`,
    also the round's own coders, whose role may have changed since. Each has `role`, their role
    in the project (None for someone who has left it)."""
    members = Membership.objects.filter(project=project)
    eligible = Q(pk__in=members.filter(role__in=CODING_ROLES, is_consensus=False).values("user"))
    if coding_round is not None:
        eligible |= Q(pk__in=coding_round.coders.values("pk"))
    return (
        get_user_model()
        .objects.filter(eligible)
        .annotate(role=Subquery(members.filter(user=OuterRef("pk")).values("role")[:1]))
        .order_by("first_name", "last_name", "username")
    )


def eligible_fieldnotes(project, *, coding_round=None):
    """The latest version of every fieldnote: an older version's coding has moved on. With
    `coding_round`, also the round's own fieldnotes, which may have been revised since."""
    latest = Q(pk__in=Fieldnote.objects.in_project(project).latest_versions().values("pk"))
    if coding_round is not None:
        latest |= Q(pk__in=coding_round.fieldnotes.values("pk"))
    return (
        Fieldnote.objects.filter(latest)
        .select_related("meeting", "observer")
        .order_by("meeting__starts_at", "meeting__pk", "title", "pk")
    )


def _check_members(project, *, fieldnotes, coders, kept_fieldnotes=(), kept_coders=()):
    """Newly chosen fieldnotes and coders must be eligible; ones already in the round may stay
    (a fieldnote revised since it was assigned is no longer the latest version)."""
    new_fieldnotes = {f.pk for f in fieldnotes} - set(kept_fieldnotes)
    allowed = set(
        eligible_fieldnotes(project).filter(pk__in=new_fieldnotes).values_list("pk", flat=True)
    )
    if new_fieldnotes - allowed:
        raise ValidationError(
            "Only the latest version of one of this project's fieldnotes can be assigned."
        )
    new_coders = {u.pk for u in coders} - set(kept_coders)
    allowed = set(eligible_coders(project).filter(pk__in=new_coders).values_list("pk", flat=True))
    if new_coders - allowed:
        raise ValidationError(
            "Only the project's PIs and coders can be given assignments "
            "(not observers, lay members or the consensus coder)."
        )


def _unique(objects) -> list:
    return list({obj.pk: obj for obj in objects}.values())


def _check_not_empty(fieldnotes, coders):
    if not fieldnotes:
        raise ValidationError("Choose at least one fieldnote for the round.")
    if not coders:
        raise ValidationError("Choose at least one coder for the round.")


@transaction.atomic
def create_round(
    *, project, name, fieldnotes, coders, blind: bool, due_date: date | None, created_by
) -> CodingRound:
    """A round with one assignment per fieldnote and coder."""
    fieldnotes, coders = _unique(fieldnotes), _unique(coders)
    name = name.strip()
    if not name:
        raise ValidationError("Give the round a name.")
    _check_not_empty(fieldnotes, coders)
    _check_members(project, fieldnotes=fieldnotes, coders=coders)
    coding_round = CodingRound.objects.create(
        project=project, name=name, blind=blind, due_date=due_date, created_by=created_by
    )
    coding_round.fieldnotes.set(fieldnotes)
    coding_round.coders.set(coders)
    Assignment.objects.bulk_create(
        Assignment(coding_round=coding_round, fieldnote=fieldnote, coder=coder)
        for fieldnote in fieldnotes
        for coder in coders
    )
    return coding_round


@transaction.atomic
def update_round(*, coding_round, name, due_date: date | None, fieldnotes, coders) -> CodingRound:
    """Rename, move the due date, and change who codes what. Added fieldnotes and coders get
    their assignments; removing one whose work is marked done is refused, because that would
    discard a coder's finished assignment without a trace."""
    coding_round = CodingRound.objects.select_for_update().get(pk=coding_round.pk)
    fieldnotes, coders = _unique(fieldnotes), _unique(coders)
    name = name.strip()
    if not name:
        raise ValidationError("Give the round a name.")
    _check_not_empty(fieldnotes, coders)
    old_fieldnotes = set(coding_round.fieldnotes.values_list("pk", flat=True))
    old_coders = set(coding_round.coders.values_list("pk", flat=True))
    new_fieldnotes = {f.pk for f in fieldnotes}
    new_coders = {u.pk for u in coders}
    changes_people = new_fieldnotes != old_fieldnotes or new_coders != old_coders
    if changes_people and coding_round.state == CodingRound.State.CLOSED:
        raise ValidationError(
            "This round is closed, so its fieldnotes and coders can no longer change."
        )
    _check_members(
        coding_round.project,
        fieldnotes=fieldnotes,
        coders=coders,
        kept_fieldnotes=old_fieldnotes,
        kept_coders=old_coders,
    )
    removed = coding_round.assignments.filter(
        Q(fieldnote__in=old_fieldnotes - new_fieldnotes) | Q(coder__in=old_coders - new_coders)
    )
    done = list(removed.filter(done_at__isnull=False).select_related("fieldnote", "coder"))
    if done:
        named = [f"{a.fieldnote.title} by {_name(a.coder)}" for a in done[:3]]
        if len(done) > 3:
            named.append(f"and {len(done) - 3} more")
        raise ValidationError(
            "These assignments are already marked done, so their fieldnote or coder cannot "
            "leave the round: "
            + "; ".join(named)
            + ". Ask the coder to mark them not done first, or keep them in the round."
        )
    removed.delete()
    coding_round.name = name
    coding_round.due_date = due_date
    coding_round.save(update_fields=["name", "due_date"])
    coding_round.fieldnotes.set(fieldnotes)
    coding_round.coders.set(coders)
    Assignment.objects.bulk_create(
        (
            Assignment(coding_round=coding_round, fieldnote=fieldnote, coder=coder)
            for fieldnote in fieldnotes
            for coder in coders
        ),
        ignore_conflicts=True,
    )
    return coding_round


def _name(user) -> str:
    return user.get_full_name() or user.username


@transaction.atomic
def set_done(*, assignment, done: bool) -> Assignment:
    assignment = (
        Assignment.objects.select_for_update()
        .select_related("coding_round", "fieldnote")
        .get(pk=assignment.pk)
    )
    if assignment.coding_round.state == CodingRound.State.CLOSED:
        raise ValidationError("This round is closed, so its assignments can no longer change.")
    # Marking done twice keeps the first time: the moment the work was finished.
    if done and assignment.done_at is None:
        assignment.done_at = timezone.now()
    elif not done:
        assignment.done_at = None
    assignment.save(update_fields=["done_at"])
    return assignment


@transaction.atomic
def reveal_round(*, coding_round, user) -> CodingRound:
    """Coders' work on the round's fieldnotes becomes visible to each other, everywhere."""
    coding_round = CodingRound.objects.select_for_update().get(pk=coding_round.pk)
    if coding_round.state != CodingRound.State.OPEN:
        raise ValidationError(
            f"This round is already {coding_round.get_state_display().lower()}, "
            "so there is nothing left to reveal."
        )
    coding_round.state = CodingRound.State.REVEALED
    coding_round.revealed_at = timezone.now()
    coding_round.save(update_fields=["state", "revealed_at"])
    return coding_round


@transaction.atomic
def close_round(*, coding_round, user) -> CodingRound:
    """The round is finished: coders can no longer mark assignments done or not done. Closing
    an open round also ends its blindness (only an open round hides work), so it counts as
    revealed from now on."""
    coding_round = CodingRound.objects.select_for_update().get(pk=coding_round.pk)
    if coding_round.state == CodingRound.State.CLOSED:
        raise ValidationError("This round is already closed.")
    if coding_round.revealed_at is None:
        coding_round.revealed_at = timezone.now()
    coding_round.state = CodingRound.State.CLOSED
    coding_round.save(update_fields=["state", "revealed_at"])
    return coding_round


@transaction.atomic
def carry_rounds_to_version(*, old, new) -> None:
    """Move `old`'s place in every round, and its assignments, to its new version `new`.

    A revision carries the excerpts to the new version; without this the round would still
    point at the old one, so a blind round would stop hiding the moved excerpts and the
    progress grid would count none. Meant to be called inside the revision's transaction.
    """
    CodingRound.fieldnotes.through.objects.filter(fieldnote=old).update(fieldnote=new)
    Assignment.objects.filter(fieldnote=old).update(fieldnote=new)


# Progress


@dataclass
class Cell:
    """One assignment: done or not, and how many excerpts its coder has made on its fieldnote."""

    assignment: Assignment
    excerpts: int = 0

    @property
    def done(self) -> bool:
        return self.assignment.done_at is not None


@dataclass
class Tally:
    assigned: int = 0
    done: int = 0
    excerpts: int = 0

    def add(self, cell: Cell) -> None:
        self.assigned += 1
        self.done += cell.done
        self.excerpts += cell.excerpts


@dataclass
class ProgressRow:
    coder: object
    cells: list  # Cell or None, in the order of RoundProgress.fieldnotes
    tally: Tally = field(default_factory=Tally)


@dataclass
class RoundProgress:
    fieldnotes: list
    rows: list[ProgressRow]
    by_fieldnote: list[Tally]
    overall: Tally

    def row_of(self, coder_id):
        return next((row for row in self.rows if row.coder.pk == coder_id), None)


def round_progress(coding_round, *, coder=None) -> RoundProgress:
    """Assignments done and excerpts made, per coder and per fieldnote, in two queries.

    With `coder`, only that coder's own row is read: in a blind round a coder must not learn
    how far the others have got, so their numbers are never even counted.
    """
    assignments = coding_round.assignments.select_related(
        "fieldnote__meeting", "fieldnote__observer", "coder"
    )
    if coder is not None:
        assignments = assignments.filter(coder=coder)
    assignments = list(assignments)
    fieldnote_ids = {a.fieldnote_id for a in assignments}
    coder_ids = {a.coder_id for a in assignments}
    counts = {
        (row["fieldnote"], row["coder"]): row["n"]
        for row in Excerpt.objects.filter(fieldnote__in=fieldnote_ids, coder__in=coder_ids)
        .values("fieldnote", "coder")
        .annotate(n=Count("pk"))
        .order_by()
    }
    fieldnotes = sorted(
        {a.fieldnote_id: a.fieldnote for a in assignments}.values(),
        key=lambda f: (f.meeting.starts_at, f.meeting_id, f.title, f.pk),
    )
    coders = sorted(
        {a.coder_id: a.coder for a in assignments}.values(),
        key=lambda u: (_name(u).lower(), u.pk),
    )
    column = {f.pk: index for index, f in enumerate(fieldnotes)}
    rows = {u.pk: ProgressRow(coder=u, cells=[None] * len(fieldnotes)) for u in coders}
    by_fieldnote = [Tally() for _ in fieldnotes]
    overall = Tally()
    for assignment in assignments:
        cell = Cell(assignment, counts.get((assignment.fieldnote_id, assignment.coder_id), 0))
        row = rows[assignment.coder_id]
        row.cells[column[assignment.fieldnote_id]] = cell
        row.tally.add(cell)
        by_fieldnote[column[assignment.fieldnote_id]].add(cell)
        overall.add(cell)
    return RoundProgress(
        fieldnotes=fieldnotes, rows=list(rows.values()), by_fieldnote=by_fieldnote, overall=overall
    )


@dataclass
class MyRound:
    """One round as a coder sees it: their own assignments in it, with their own numbers."""

    coding_round: CodingRound
    cells: list[Cell]
    tally: Tally
    overdue: bool


def assignments_of(*, project, coder, today: date | None = None) -> list[MyRound]:
    """A coder's assignments across the project's open and revealed rounds, in two queries."""
    today = today or timezone.localdate()
    assignments = list(
        Assignment.objects.filter(
            coder=coder,
            coding_round__project=project,
            coding_round__state__in=ACTIVE_STATES,
        )
        .select_related("coding_round", "fieldnote__meeting", "fieldnote__observer")
        .order_by(
            F("coding_round__due_date").asc(nulls_last=True),
            "-coding_round__created_at",
            "coding_round__pk",
            "fieldnote__meeting__starts_at",
            "fieldnote__title",
            "fieldnote__pk",
        )
    )
    counts = dict(
        Excerpt.objects.filter(coder=coder, fieldnote__in={a.fieldnote_id for a in assignments})
        .values("fieldnote")
        .annotate(n=Count("pk"))
        .values_list("fieldnote", "n")
        .order_by()
    )
    rounds: dict[int, MyRound] = {}
    for assignment in assignments:
        coding_round = assignment.coding_round
        mine = rounds.get(coding_round.pk)
        if mine is None:
            mine = rounds[coding_round.pk] = MyRound(coding_round, [], Tally(), False)
        cell = Cell(assignment, counts.get(assignment.fieldnote_id, 0))
        mine.cells.append(cell)
        mine.tally.add(cell)
    for mine in rounds.values():
        due = mine.coding_round.due_date
        mine.overdue = due is not None and due < today and mine.tally.done < mine.tally.assigned
    return list(rounds.values())


def assignments_on(*, fieldnote, coder) -> list[Assignment]:
    """The coder's assignments for this fieldnote in open and revealed rounds (usually one)."""
    assignments = list(
        Assignment.objects.filter(
            fieldnote=fieldnote, coder=coder, coding_round__state__in=ACTIVE_STATES
        )
        .select_related("coding_round")
        .order_by(F("coding_round__due_date").asc(nulls_last=True), "coding_round__pk")
    )
    for assignment in assignments:
        assignment.fieldnote = fieldnote
    return assignments


def rounds_with_progress(project):
    """The project's rounds, each with `assigned` and `done` counts, in one query."""
    return project.coding_rounds.annotate(
        assigned=Count("assignments"),
        done=Count("assignments", filter=Q(assignments__done_at__isnull=False)),
    ).order_by("-created_at", "-pk")
