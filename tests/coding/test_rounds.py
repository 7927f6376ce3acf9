"""Coding round workflows: creating and changing rounds, marking assignments done, revealing and
closing, and the progress counts."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from coding import rounds
from coding.models import Assignment, CodingRound, Excerpt
from fieldnotes.services import create_version
from projects.models import Role
from tests.factories import (
    ExcerptFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ObserverFactory,
    UserFactory,
)

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def second_coder(project):
    user = UserFactory(username="second-coder", first_name="Bea", last_name="Second")
    MembershipFactory(project=project, user=user, role=Role.CODER)
    return user


@pytest.fixture
def other_fieldnote(meeting):
    return FieldnoteFactory(meeting=meeting, title="Second account")


def _round(project, users, fieldnotes, coders, **extra):
    values = {"name": "Pilot", "blind": True, "due_date": None, "created_by": users["pi"]}
    values.update(extra)
    return rounds.create_round(project=project, fieldnotes=fieldnotes, coders=coders, **values)


def _pairs(coding_round):
    return sorted(coding_round.assignments.values_list("fieldnote_id", "coder_id", "done_at"))


# --- creating ----------------------------------------------------------------------------------


def test_create_round_assigns_every_fieldnote_to_every_coder(
    project, users, fieldnote, other_fieldnote, second_coder
):
    coding_round = _round(
        project,
        users,
        [fieldnote, other_fieldnote],
        [users["coder"], second_coder],
        name="  Pilot round  ",
        due_date=date(2026, 4, 1),
    )
    assert (coding_round.name, coding_round.blind, coding_round.state) == (
        "Pilot round",
        True,
        "open",
    )
    assert (coding_round.due_date, coding_round.created_by) == (date(2026, 4, 1), users["pi"])
    assert set(coding_round.fieldnotes.all()) == {fieldnote, other_fieldnote}
    assert set(coding_round.coders.all()) == {users["coder"], second_coder}
    assert _pairs(coding_round) == sorted(
        (f.pk, c.pk, None)
        for f in (fieldnote, other_fieldnote)
        for c in (users["coder"], second_coder)
    )


def test_create_round_takes_a_pi_as_coder_and_ignores_repeats(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote, fieldnote], [users["pi"], users["pi"]])
    assert _pairs(coding_round) == [(fieldnote.pk, users["pi"].pk, None)]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no fieldnotes", "Choose at least one fieldnote for the round."),
        ("no coders", "Choose at least one coder for the round."),
        ("no name", "Give the round a name."),
        (
            "observer",
            "Only the project's PIs and coders can be given assignments (not observers, lay "
            "members or the consensus coder).",
        ),
        (
            "consensus",
            "Only the project's PIs and coders can be given assignments (not observers, lay "
            "members or the consensus coder).",
        ),
        (
            "outsider",
            "Only the project's PIs and coders can be given assignments (not observers, lay "
            "members or the consensus coder).",
        ),
        (
            "older version",
            "Only the latest version of one of this project's fieldnotes can be assigned.",
        ),
        (
            "other project",
            "Only the latest version of one of this project's fieldnotes can be assigned.",
        ),
    ],
)
def test_create_round_refuses_what_cannot_be_assigned(project, users, fieldnote, case, message):
    fieldnotes, coders, name = [fieldnote], [users["coder"]], "Pilot"
    if case == "no fieldnotes":
        fieldnotes = []
    elif case == "no coders":
        coders = []
    elif case == "no name":
        name = "   "
    elif case == "observer":
        coders = [users["coder"], users["observer"]]
    elif case == "consensus":
        consensus = UserFactory(username="consensus")
        MembershipFactory(project=project, user=consensus, role=Role.CODER, is_consensus=True)
        coders = [consensus]
    elif case == "outsider":
        coders = [users["outsider"]]
    elif case == "older version":
        FieldnoteFactory(
            meeting=fieldnote.meeting,
            observer=fieldnote.observer,
            previous_version=fieldnote,
            version=2,
        )
    elif case == "other project":
        fieldnotes = [FieldnoteFactory()]
    with pytest.raises(ValidationError) as refused:
        _round(project, users, fieldnotes, coders, name=name)
    assert refused.value.messages == [message]
    assert CodingRound.objects.count() == 0
    assert Assignment.objects.count() == 0


# --- changing ----------------------------------------------------------------------------------


def test_update_round_adds_and_removes_assignments(
    project, users, fieldnote, other_fieldnote, second_coder
):
    coding_round = _round(project, users, [fieldnote], [users["coder"], second_coder])
    rounds.update_round(
        coding_round=coding_round,
        name="Pilot, extended",
        due_date=date(2026, 5, 1),
        fieldnotes=[fieldnote, other_fieldnote],
        coders=[users["coder"]],
    )
    coding_round.refresh_from_db()
    assert (coding_round.name, coding_round.due_date) == ("Pilot, extended", date(2026, 5, 1))
    assert set(coding_round.coders.all()) == {users["coder"]}
    assert _pairs(coding_round) == sorted(
        [(fieldnote.pk, users["coder"].pk, None), (other_fieldnote.pk, users["coder"].pk, None)]
    )


def test_update_round_keeps_done_assignments_of_those_who_stay(
    project, users, fieldnote, other_fieldnote
):
    coding_round = _round(project, users, [fieldnote], [users["coder"]])
    done = rounds.set_done(assignment=coding_round.assignments.get(), done=True)
    rounds.update_round(
        coding_round=coding_round,
        name="Pilot",
        due_date=None,
        fieldnotes=[fieldnote, other_fieldnote],
        coders=[users["coder"]],
    )
    assert _pairs(coding_round) == sorted(
        [
            (fieldnote.pk, users["coder"].pk, done.done_at),
            (other_fieldnote.pk, users["coder"].pk, None),
        ]
    )


def test_update_round_refuses_to_drop_a_done_assignment(
    project, users, fieldnote, other_fieldnote, second_coder
):
    coding_round = _round(
        project, users, [fieldnote, other_fieldnote], [users["coder"], second_coder]
    )
    rounds.set_done(
        assignment=coding_round.assignments.get(fieldnote=fieldnote, coder=second_coder), done=True
    )
    before = _pairs(coding_round)
    with pytest.raises(ValidationError) as refused:
        rounds.update_round(
            coding_round=coding_round,
            name="Renamed",
            due_date=None,
            fieldnotes=[other_fieldnote],
            coders=[users["coder"], second_coder],
        )
    assert refused.value.messages == [
        "These assignments are already marked done, so their fieldnote or coder cannot leave "
        "the round: Observer's notes by Bea Second. Ask the coder to mark them not done first, "
        "or keep them in the round."
    ]
    coding_round.refresh_from_db()
    assert coding_round.name == "Pilot"
    assert _pairs(coding_round) == before


def test_update_round_keeps_a_fieldnote_revised_since_it_was_assigned(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"]])
    FieldnoteFactory(
        meeting=fieldnote.meeting,
        observer=fieldnote.observer,
        previous_version=fieldnote,
        version=2,
    )
    rounds.update_round(
        coding_round=coding_round,
        name="Pilot",
        due_date=None,
        fieldnotes=[fieldnote],
        coders=[users["coder"], users["pi"]],
    )
    assert _pairs(coding_round) == sorted(
        [(fieldnote.pk, users["coder"].pk, None), (fieldnote.pk, users["pi"].pk, None)]
    )


def test_closed_round_may_be_renamed_but_not_reassigned(project, users, fieldnote, other_fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"]])
    rounds.close_round(coding_round=coding_round, user=users["pi"])
    rounds.update_round(
        coding_round=coding_round,
        name="Pilot (done)",
        due_date=None,
        fieldnotes=[fieldnote],
        coders=[users["coder"]],
    )
    with pytest.raises(ValidationError) as refused:
        rounds.update_round(
            coding_round=coding_round,
            name="Pilot (done)",
            due_date=None,
            fieldnotes=[fieldnote, other_fieldnote],
            coders=[users["coder"]],
        )
    assert refused.value.messages == [
        "This round is closed, so its fieldnotes and coders can no longer change."
    ]
    coding_round.refresh_from_db()
    assert coding_round.name == "Pilot (done)"
    assert _pairs(coding_round) == [(fieldnote.pk, users["coder"].pk, None)]


# --- done, reveal, close -----------------------------------------------------------------------


def test_set_done_keeps_the_first_time_and_can_be_undone(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"]])
    assignment = coding_round.assignments.get()
    first = rounds.set_done(assignment=assignment, done=True).done_at
    assert first is not None
    assert rounds.set_done(assignment=assignment, done=True).done_at == first
    assert rounds.set_done(assignment=assignment, done=False).done_at is None
    assignment.refresh_from_db()
    assert assignment.done_at is None


def test_set_done_is_refused_once_the_round_is_closed(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"]])
    rounds.close_round(coding_round=coding_round, user=users["pi"])
    with pytest.raises(ValidationError) as refused:
        rounds.set_done(assignment=coding_round.assignments.get(), done=True)
    assert refused.value.messages == [
        "This round is closed, so its assignments can no longer change."
    ]
    assert coding_round.assignments.get().done_at is None


def test_reveal_only_from_open(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"]])
    assert coding_round.hides_work
    revealed = rounds.reveal_round(coding_round=coding_round, user=users["pi"])
    assert (revealed.state, revealed.hides_work) == ("revealed", False)
    assert revealed.revealed_at is not None
    with pytest.raises(ValidationError) as refused:
        rounds.reveal_round(coding_round=coding_round, user=users["pi"])
    assert refused.value.messages == [
        "This round is already revealed, so there is nothing left to reveal."
    ]
    rounds.close_round(coding_round=coding_round, user=users["pi"])
    with pytest.raises(ValidationError) as refused:
        rounds.reveal_round(coding_round=coding_round, user=users["pi"])
    assert refused.value.messages == [
        "This round is already closed, so there is nothing left to reveal."
    ]


def test_closing_an_open_round_reveals_it_once(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"]])
    closed = rounds.close_round(coding_round=coding_round, user=users["pi"])
    assert (closed.state, closed.hides_work) == ("closed", False)
    assert closed.revealed_at is not None
    with pytest.raises(ValidationError) as refused:
        rounds.close_round(coding_round=coding_round, user=users["pi"])
    assert refused.value.messages == ["This round is already closed."]


def test_closing_a_revealed_round_keeps_when_it_was_revealed(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"]])
    revealed_at = rounds.reveal_round(coding_round=coding_round, user=users["pi"]).revealed_at
    assert rounds.close_round(coding_round=coding_round, user=users["pi"]).revealed_at == (
        revealed_at
    )


# --- progress ----------------------------------------------------------------------------------


@pytest.fixture
def progress_round(project, users, fieldnote, other_fieldnote, second_coder):
    """Two fieldnotes, two coders; the coder has finished the first fieldnote."""
    users["coder"].first_name, users["coder"].last_name = "Ada", "Coder"
    users["coder"].save()
    coding_round = _round(
        project, users, [fieldnote, other_fieldnote], [users["coder"], second_coder]
    )
    rounds.set_done(
        assignment=coding_round.assignments.get(fieldnote=fieldnote, coder=users["coder"]),
        done=True,
    )
    for start in (0, 6, 12):
        ExcerptFactory(fieldnote=fieldnote, coder=users["coder"], start=start, end=start + 4)
    ExcerptFactory(fieldnote=other_fieldnote, coder=second_coder, start=0, end=4)
    # Someone outside the round: not counted.
    ExcerptFactory(fieldnote=fieldnote, coder=users["pi"], start=0, end=4)
    return coding_round


def _grid(progress):
    return {
        row.coder.username: [(cell.done, cell.excerpts) if cell else None for cell in row.cells]
        for row in progress.rows
    }


def test_round_progress_counts_per_coder_and_fieldnote(
    progress_round, users, fieldnote, other_fieldnote, django_assert_num_queries
):
    with django_assert_num_queries(2):
        progress = rounds.round_progress(progress_round)
        assert [f.pk for f in progress.fieldnotes] == [fieldnote.pk, other_fieldnote.pk]
        # Rows in the order of the coders' names: Ada Coder, then Bea Second.
        assert list(_grid(progress).items()) == [
            ("the-coder", [(True, 3), (False, 0)]),
            ("second-coder", [(False, 0), (False, 1)]),
        ]
        assert [vars(row.tally) for row in progress.rows] == [
            {"assigned": 2, "done": 1, "excerpts": 3},
            {"assigned": 2, "done": 0, "excerpts": 1},
        ]
        assert [vars(t) for t in progress.by_fieldnote] == [
            {"assigned": 2, "done": 1, "excerpts": 3},
            {"assigned": 2, "done": 0, "excerpts": 1},
        ]
        assert vars(progress.overall) == {"assigned": 4, "done": 1, "excerpts": 4}


def test_round_progress_reads_the_same_queries_for_more_coders_and_fieldnotes(
    project, users, meeting, django_assert_num_queries
):
    fieldnotes = [FieldnoteFactory(meeting=meeting) for _ in range(6)]
    coders = [users["coder"], users["pi"]]
    for index in range(3):
        user = UserFactory(username=f"extra-{index}")
        MembershipFactory(project=project, user=user, role=Role.CODER)
        coders.append(user)
    coding_round = _round(project, users, fieldnotes, coders)
    for fieldnote in fieldnotes:
        ExcerptFactory(fieldnote=fieldnote, coder=users["coder"])
    with django_assert_num_queries(2):
        progress = rounds.round_progress(coding_round)
    assert vars(progress.overall) == {"assigned": 30, "done": 0, "excerpts": 6}


def test_round_progress_for_one_coder_reads_only_their_row(
    progress_round, second_coder, fieldnote, other_fieldnote
):
    progress = rounds.round_progress(progress_round, coder=second_coder)
    assert _grid(progress) == {"second-coder": [(False, 0), (False, 1)]}
    assert vars(progress.overall) == {"assigned": 2, "done": 0, "excerpts": 1}
    assert progress.row_of(second_coder.pk).coder == second_coder


def test_assignments_of_a_coder_across_active_rounds(
    project, users, fieldnote, other_fieldnote, django_assert_num_queries
):
    late = _round(
        project, users, [fieldnote, other_fieldnote], [users["coder"]], due_date=date(2026, 3, 1)
    )
    undated = _round(project, users, [other_fieldnote], [users["coder"]], name="Undated")
    soon = _round(project, users, [fieldnote], [users["coder"]], due_date=date(2026, 3, 20))
    closed = _round(project, users, [fieldnote], [users["coder"]], name="Old")
    rounds.close_round(coding_round=closed, user=users["pi"])
    _round(project, users, [fieldnote], [users["pi"]], name="Not mine")
    rounds.set_done(assignment=late.assignments.get(fieldnote=fieldnote), done=True)
    ExcerptFactory(fieldnote=fieldnote, coder=users["coder"])
    ExcerptFactory(fieldnote=fieldnote, coder=users["pi"])
    with django_assert_num_queries(2):
        mine = rounds.assignments_of(project=project, coder=users["coder"], today=date(2026, 3, 10))
    assert [(m.coding_round, m.overdue, vars(m.tally)) for m in mine] == [
        (late, True, {"assigned": 2, "done": 1, "excerpts": 1}),
        (soon, False, {"assigned": 1, "done": 0, "excerpts": 1}),
        (undated, False, {"assigned": 1, "done": 0, "excerpts": 0}),
    ]
    assert [c.assignment.fieldnote for c in mine[0].cells] == [fieldnote, other_fieldnote]


def test_a_finished_round_past_its_due_date_is_not_overdue(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"]], due_date=date(2026, 3, 1))
    rounds.set_done(assignment=coding_round.assignments.get(), done=True)
    mine = rounds.assignments_of(project=project, coder=users["coder"], today=date(2026, 3, 10))
    assert [m.overdue for m in mine] == [False]


def test_rounds_with_progress_counts_assignments_in_one_query(
    progress_round, project, django_assert_num_queries
):
    with django_assert_num_queries(1):
        listed = [(r.name, r.assigned, r.done) for r in rounds.rounds_with_progress(project)]
    assert listed == [("Pilot", 4, 1)]


def test_fieldnotes_are_offered_in_meeting_order_latest_versions_only(project, users, meeting):
    later = MeetingFactory(project=project, starts_at=datetime(2026, 4, 1, 9, tzinfo=LONDON))
    observer = ObserverFactory(project=project, name="Ann")
    first = FieldnoteFactory(meeting=later, observer=observer, title="Later meeting")
    earlier = FieldnoteFactory(meeting=meeting, observer=observer, title="Earlier meeting")
    revised = FieldnoteFactory(
        meeting=meeting, observer=observer, previous_version=earlier, version=2
    )
    assert list(rounds.eligible_fieldnotes(project)) == [revised, first]


def test_refusal_names_three_done_assignments_and_counts_the_rest(project, users, meeting):
    fieldnotes = [FieldnoteFactory(meeting=meeting, title=f"Note {n}") for n in range(5)]
    coding_round = _round(project, users, fieldnotes, [users["coder"], users["pi"]])
    for assignment in coding_round.assignments.filter(coder=users["coder"]):
        rounds.set_done(assignment=assignment, done=True)
    users["coder"].first_name, users["coder"].last_name = "Ada", "Coder"
    users["coder"].save()
    with pytest.raises(ValidationError) as refused:
        rounds.update_round(
            coding_round=coding_round,
            name="Pilot",
            due_date=None,
            fieldnotes=fieldnotes,
            coders=[users["pi"]],
        )
    assert refused.value.messages == [
        "These assignments are already marked done, so their fieldnote or coder cannot leave "
        "the round: Note 0 by Ada Coder; Note 1 by Ada Coder; Note 2 by Ada Coder; and 2 more. "
        "Ask the coder to mark them not done first, or keep them in the round."
    ]


def test_a_revision_carries_the_round_and_keeps_it_blind(project, users, fieldnote):
    coding_round = _round(project, users, [fieldnote], [users["coder"], users["pi"]])
    rounds.set_done(assignment=coding_round.assignments.get(coder=users["coder"]), done=True)
    theirs = ExcerptFactory(fieldnote=fieldnote, coder=users["pi"], start=0, end=5)
    new = create_version(
        fieldnote=fieldnote,
        text="Before. " + fieldnote.text,
        source_name="",
        source_format="paste",
        user=users["pi"],
    )
    # create_version carries the round itself, in its own transaction.
    assert list(coding_round.fieldnotes.all()) == [new]
    assert _pairs(coding_round) == sorted(
        [
            (new.pk, users["coder"].pk, coding_round.assignments.get(coder=users["coder"]).done_at),
            (new.pk, users["pi"].pk, None),
        ]
    )
    project.role = "coder"
    assert theirs.pk not in Excerpt.objects.visible_to(users["coder"], project).values_list(
        "pk", flat=True
    )
    assert vars(rounds.round_progress(coding_round).overall) == {
        "assigned": 2,
        "done": 1,
        "excerpts": 1,
    }
