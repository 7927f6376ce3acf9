"""The triangulation adapter: one meeting read from the database, its excerpts placed on the
meeting's clock, the codes-by-observers matrix, windows, and the blind-round rule."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from coding.models import CodingRound
from fieldnotes.models import TimeMarker
from meetings.triangulation import (
    Cell,
    Options,
    Stretch,
    compare_windows,
    day_stretches,
    layout_timeline,
    triangulate,
)
from projects.access import get_meeting_for
from projects.models import Role
from tests.factories import (
    AgendaItemFactory,
    CodeFactory,
    ExcerptFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ObserverFactory,
    UserFactory,
)

LONDON = ZoneInfo("Europe/London")


def at(hour, minute, second=0, day=10):
    return datetime(2026, 3, day, hour, minute, second, tzinfo=LONDON)


ANN = (
    "09:30 Helen opened the day.\n"
    "10:00 Grace said: we are not here to be marked. Murmurs of agreement.\n"
    "10:30 Close of the morning."
)
BOB = "Welcome\nHelen opened.\n10:10 Tony asked where the patients were."
CAT = "Notes written later. Grace protested."


def _markers(fieldnote, *moments):
    for clock, moment in moments:
        offset = fieldnote.text.index(clock)
        TimeMarker.objects.create(
            fieldnote=fieldnote,
            offset=offset,
            end=offset + len(clock),
            text=clock,
            kind=TimeMarker.Kind.CLOCK,
            moment=moment,
            confirmed=True,
        )


def _excerpt(fieldnote, coder, quote, *codes):
    start = fieldnote.text.index(quote)
    excerpt = ExcerptFactory(fieldnote=fieldnote, coder=coder, start=start, end=start + len(quote))
    for code in codes:
        excerpt.excerpt_codes.create(code=code)
    return excerpt


@pytest.fixture
def small(project, users):
    return build_small(project, users)


def build_small(project, users):
    """A morning meeting seen by three observers: Ann's notes have three markers, Bob's a heading
    and one marker, Cat's nothing to place them by."""
    meeting = MeetingFactory(project=project, title="Ward meeting", starts_at=at(9, 30))
    AgendaItemFactory(meeting=meeting, title="Welcome", starts_at=at(9, 30), ends_at=at(10, 0))
    AgendaItemFactory(meeting=meeting, title="Ward stories", starts_at=at(10, 0), ends_at=at(11, 0))
    notes = {}
    for name, text in (("Ann", ANN), ("Bob", BOB), ("Cat", CAT)):
        observer = ObserverFactory(project=project, name=f"{name} Observer")
        notes[name] = FieldnoteFactory(
            meeting=meeting, observer=observer, title=f"{name}'s notes", text=text
        )
    # A marker nobody confirmed is not used.
    TimeMarker.objects.create(
        fieldnote=notes["Cat"], offset=0, end=5, text="Notes", kind="manual", moment=at(11, 0)
    )
    _markers(notes["Ann"], ("09:30", at(9, 30)), ("10:00", at(10, 0)), ("10:30", at(10, 30)))
    _markers(notes["Bob"], ("10:10", at(10, 10)))
    protest = CodeFactory(codebook=project.codebook, name="Protest", colour="#a4262c")
    resolution = CodeFactory(codebook=project.codebook, name="Resolution", colour="#1e6b3a")
    coder, pi = users["coder"], users["pi"]
    excerpts = {
        "a1": _excerpt(notes["Ann"], coder, "Grace said: we are not here to be marked.", protest),
        "a2": _excerpt(notes["Ann"], pi, "10:00 Grace said:", protest),
        "a3": _excerpt(notes["Ann"], coder, "Close of the morning.", resolution),
        "b1": _excerpt(notes["Bob"], pi, "Helen opened.", protest),
        "b2": _excerpt(notes["Bob"], coder, "Tony asked where the patients were.", resolution),
        "c1": _excerpt(notes["Cat"], coder, "Grace protested.", protest),
    }
    return {
        "meeting": meeting,
        "notes": notes,
        "codes": {"Protest": protest, "Resolution": resolution},
        "excerpts": excerpts,
    }


def _run(user, meeting, **options):
    meeting = get_meeting_for(user, meeting.project_id, meeting.pk, need="read_fieldnotes")
    return triangulate(meeting=meeting, user=user, options=Options(**options))


def _placed(result):
    return {
        lane.name: [
            (mark.excerpt_id, mark.moment.isoformat() if mark.moment else None, mark.how)
            for mark in lane.excerpts
        ]
        for lane in result.lanes
    }


# --- Placing -----------------------------------------------------------------------------------


def test_triangulate_places_every_excerpt_on_the_meetings_clock(small, users):
    e = {key: excerpt.pk for key, excerpt in small["excerpts"].items()}

    result = _run(users["pi"], small["meeting"])

    # Grace is 6 characters after the 10:00 marker, 70 before the 10:30 one: 6/70 of half an
    # hour is 154.3 seconds, so 10:02:34. Bob's "Helen opened." sits under the Welcome heading,
    # before his first marker. Cat's notes have only an unconfirmed marker: untimed.
    assert _placed(result) == {
        "Ann Observer": [
            (e["a2"], "2026-03-10T10:00:00+00:00", "marker"),
            (e["a1"], "2026-03-10T10:02:34+00:00", "interpolated"),
            (e["a3"], "2026-03-10T10:30:00+00:00", "marker"),
        ],
        "Bob Observer": [
            (e["b1"], "2026-03-10T09:30:00+00:00", "agenda"),
            (e["b2"], "2026-03-10T10:10:00+00:00", "marker"),
        ],
        "Cat Observer": [(e["c1"], None, "untimed")],
    }
    ann = result.lanes[0]
    assert [mark.when for mark in ann.marks] == ["10:00", "10:02", "10:30"]
    assert [mark.agenda_index for mark in ann.marks] == [1, 1, 1]
    assert ann.marks[1].text == "Grace said: we are not here to be marked."
    assert ann.marks[1].first_words == "Grace said: we are not here to be marked."
    assert ann.marks[1].coder == users["coder"].first_name
    assert ann.marks[1].url == (
        f"/projects/{small['meeting'].project_id}/fieldnotes/{small['notes']['Ann'].pk}/code/"
        f"#excerpt-{e['a1']}"
    )
    assert [code.name for code in ann.marks[1].code_infos] == ["Protest"]
    assert result.stretches == [Stretch(at(9, 30), at(12, 30))]
    assert (result.timed, result.untimed) == (5, 1)


def test_triangulate_previous_mode_takes_the_marker_before(small, users):
    result = _run(users["pi"], small["meeting"], mode="previous")

    assert [mark.when for mark in result.lanes[0].marks] == ["10:00", "10:00", "10:30"]
    assert [mark.how for mark in result.lanes[0].marks] == ["marker", "marker", "marker"]


def test_triangulate_uses_only_the_latest_version_of_a_fieldnote(small, users):
    old = small["notes"]["Cat"]
    newer = FieldnoteFactory(
        meeting=small["meeting"],
        observer=old.observer,
        title="Cat's notes v2",
        text="Revised.",
        version=2,
        previous_version=old,
    )

    result = _run(users["pi"], small["meeting"])

    cat = result.lanes[2]
    assert cat.fieldnotes == [(newer.pk, "Cat's notes v2")]
    assert cat.excerpts == []
    assert not cat.coded


# --- The matrix --------------------------------------------------------------------------------


def test_triangulate_matrix_counts_excerpts_and_shares_of_each_observers_text(small, users):
    result = _run(users["pi"], small["meeting"])

    assert [lane.name for lane in result.lanes] == ["Ann Observer", "Bob Observer", "Cat Observer"]
    assert [row.code.name for row in result.matrix] == ["Protest", "Resolution"]
    protest, resolution = result.matrix
    # Ann's two Protest excerpts overlap: [28, 45) and [34, 75) cover 47 of her 125 characters.
    assert protest.cells == [Cell(2, 47, 125), Cell(1, 13, 63), Cell(1, 16, 37)]
    assert [cell.share_text for cell in protest.cells] == ["37.6%", "20.6%", "43.2%"]
    assert protest.total == Cell(4, 76, 225)
    assert resolution.cells == [Cell(1, 21, 125), Cell(1, 35, 63), Cell(0, 0, 37)]
    assert result.totals == [Cell(3, 68, 125), Cell(2, 48, 63), Cell(1, 16, 37)]
    assert result.total == Cell(6, 132, 225)


def test_triangulate_filters_by_code_and_coder(small, users):
    protest = small["codes"]["Protest"]

    result = _run(users["pi"], small["meeting"], codes=(protest.pk,), coders=(users["pi"].pk,))

    assert [row.code.name for row in result.matrix] == ["Protest"]
    assert [cell.count for cell in result.matrix[0].cells] == [1, 1, 0]
    assert _placed(result) == {
        "Ann Observer": [(small["excerpts"]["a2"].pk, "2026-03-10T10:00:00+00:00", "marker")],
        "Bob Observer": [(small["excerpts"]["b1"].pk, "2026-03-10T09:30:00+00:00", "agenda")],
        "Cat Observer": [],
    }
    # Cat's notes carry no excerpt of the PI's: they say nothing, so their share is undefined.
    assert [lane.coded for lane in result.lanes] == [True, True, False]
    assert result.matrix[0].cells[2] == Cell(0, 0, 0)
    assert result.matrix[0].cells[2].share is None
    assert sorted(result.coders) == sorted(
        [(users["coder"].pk, users["coder"].first_name), (users["pi"].pk, users["pi"].first_name)]
    )


def test_triangulate_hides_other_coders_excerpts_of_an_open_blind_round(small, users, project):
    other = UserFactory(username="second-coder", first_name="Olu")
    MembershipFactory(project=project, user=other, role=Role.CODER)
    hidden = _excerpt(
        small["notes"]["Ann"], other, "Helen opened the day.", small["codes"]["Protest"]
    )
    seen = _excerpt(small["notes"]["Bob"], other, "Tony asked", small["codes"]["Protest"])
    blind = CodingRound.objects.create(project=project, name="Blind pilot", blind=True)
    blind.fieldnotes.add(small["notes"]["Ann"])
    e = {key: excerpt.pk for key, excerpt in small["excerpts"].items()}

    as_coder = _run(users["coder"], small["meeting"])

    # On Ann's notes the coder sees only their own excerpts: neither the PI's nor Olu's.
    assert [mark.excerpt_id for mark in as_coder.lanes[0].excerpts] == [e["a1"], e["a3"]]
    # Olu's "Tony asked" is placed with the coder's excerpt at 10:10, the shorter one first.
    assert [mark.excerpt_id for mark in as_coder.lanes[1].excerpts] == [e["b1"], seen.pk, e["b2"]]
    assert as_coder.matrix[0].cells[0] == Cell(1, 41, 125)
    as_pi = _run(users["pi"], small["meeting"])
    assert hidden.pk in [mark.excerpt_id for mark in as_pi.lanes[0].excerpts]

    blind.state = CodingRound.State.REVEALED
    blind.save()
    revealed = _run(users["coder"], small["meeting"])
    assert hidden.pk in [mark.excerpt_id for mark in revealed.lanes[0].excerpts]


# --- Windows: seen by one, agreement -----------------------------------------------------------


def test_compare_windows_lists_codes_seen_by_one_observer_and_alpha(small, users):
    e = {key: excerpt.pk for key, excerpt in small["excerpts"].items()}

    report = compare_windows(_run(users["pi"], small["meeting"]))

    assert len(report.windows) == 18  # 09:30 to 12:30 in ten minutes
    assert [
        (
            item.window.label,
            item.code.name,
            item.lane.name,
            [mark.excerpt_id for mark in item.marks],
            item.others,
        )
        for item in report.seen
    ] == [
        ("09:30–09:40", "Protest", "Bob Observer", [e["b1"]], ["Ann Observer"]),
        ("10:00–10:10", "Protest", "Ann Observer", [e["a2"], e["a1"]], ["Bob Observer"]),
        ("10:10–10:20", "Resolution", "Bob Observer", [e["b2"]], ["Ann Observer"]),
    ]
    # Ann covers 09:30 to 10:30, Bob 09:30 to 10:10 (his Welcome heading, then his marker): five
    # windows with both. Protest: Ann 0 0 0 1 0, Bob 1 0 0 0 0, so o(0,1) = o(1,0) = 2 of
    # n = 10 pairable values with n0 = 8, n1 = 2: alpha = 1 - 9 * 4 / (2 * 8 * 2) = -0.125.
    # Resolution: only Bob's 10:10 window, so 1 - 9 * 2 / (2 * 9 * 1) = 0.
    assert [(row.code.name, row.result.units) for row in report.alpha] == [
        ("Protest", 5),
        ("Resolution", 5),
    ]
    assert report.alpha[0].result.alpha == pytest.approx(-0.125)
    assert report.alpha[1].result.alpha == pytest.approx(0.0)


def test_compare_windows_by_agenda_item(small, users):
    report = compare_windows(_run(users["pi"], small["meeting"], window="agenda"))

    assert [window.label for window in report.windows] == ["Welcome", "Ward stories"]
    # In Ward stories Ann carries both codes and Bob only Resolution.
    assert [(item.window.label, item.code.name, item.lane.name) for item in report.seen] == [
        ("Welcome", "Protest", "Bob Observer"),
        ("Ward stories", "Protest", "Ann Observer"),
    ]
    assert [row.result.reason for row in report.alpha] == [None, None]


def test_compare_windows_without_two_observers_says_why(project, users):
    meeting = MeetingFactory(project=project, starts_at=at(9, 30))
    note = FieldnoteFactory(meeting=meeting, text="09:30 Alone.")
    _markers(note, ("09:30", at(9, 30)))
    code = CodeFactory(codebook=project.codebook, name="Alone")
    _excerpt(note, users["coder"], "Alone.", code)

    report = compare_windows(_run(users["pi"], meeting))

    assert report.seen == []
    assert report.alpha[0].result.alpha is None
    assert report.alpha[0].result.reason == "fewer than two observers cover any window"


# --- Days of the timeline ----------------------------------------------------------------------


def test_day_stretches_leave_out_the_night_and_take_in_moments_outside_the_hours():
    agenda = [
        ("Ward stories", at(10, 45), at(12, 30)),
        ("Table work", at(15, 15), at(16, 30)),
        ("Day two", at(9, 0, day=11), at(10, 45, day=11)),
    ]
    day_starts = [at(9, 30), at(9, 0, day=11)]

    stretches = day_stretches(
        at(9, 30),
        at(12, 30, day=11),
        day_starts,
        agenda,
        # Arrived at ten past nine; a marker exactly at the end of the meeting; one the day after.
        [at(9, 10), at(12, 30, day=11), at(18, 5, day=12)],
        LONDON,
    )

    assert stretches == [
        Stretch(at(9, 0), at(16, 30)),
        Stretch(at(9, 0, day=11), at(12, 45, day=11)),
        Stretch(at(18, 0, day=12), at(18, 15, day=12)),
    ]


def test_day_stretches_day_without_agenda_runs_to_five():
    stretches = day_stretches(
        at(9, 30), at(12, 0, day=11), [at(9, 30), at(9, 0, day=11)], [], [], LONDON
    )

    assert stretches == [
        Stretch(at(9, 30), at(17, 0)),
        Stretch(at(9, 0, day=11), at(12, 0, day=11)),
    ]


def test_day_stretches_evening_meeting_is_cut_only_at_midnight():
    stretches = day_stretches(
        at(19, 0), at(0, 30, day=11), [at(19, 0), at(9, 0, day=11)], [], [], LONDON
    )

    assert stretches == [
        Stretch(at(19, 0), at(0, 0, day=11)),
        Stretch(at(0, 0, day=11), at(0, 30, day=11)),
    ]


def test_two_day_meeting_numbers_its_days(project, users):
    meeting = MeetingFactory(project=project, starts_at=at(9, 30), ends_at=at(12, 30, day=11))
    note = FieldnoteFactory(meeting=meeting, text="Day 2, 09:48 Mark objected.")
    _markers(note, ("09:48", at(9, 48, day=11)))
    _excerpt(note, users["coder"], "Mark objected.", CodeFactory(codebook=project.codebook))

    result = _run(users["pi"], meeting)

    assert result.lanes[0].marks[0].when == "Day 2 09:48"
    assert [stretch.start.date().day for stretch in result.stretches] == [10, 11]
    timeline = layout_timeline(result)
    assert [day.label for day in timeline.days] == ["Tue 10 Mar", "Wed 11 Mar"]
    # Day two's stretch begins after day one's and a gap; 09:48 is 48 minutes into it.
    second = timeline.days[1]
    assert second.x == timeline.days[0].x + timeline.days[0].width + 28
    scale = second.width / result.stretches[1].minutes
    assert timeline.lanes[0].marks[0].x == pytest.approx(second.x + 48 * scale - 3)


def test_layout_timeline_stacks_marks_that_would_hide_each_other(small, users):
    twin = _excerpt(
        small["notes"]["Ann"], users["pi"], "Grace said: we are", small["codes"]["Resolution"]
    )
    e = {key: excerpt.pk for key, excerpt in small["excerpts"].items()}

    timeline = layout_timeline(_run(users["pi"], small["meeting"]))

    # Three hours at 4 units a minute: 10:00 and 10:02:34 are 10 units apart and share a row;
    # the twin at the very same moment as a1 goes to the second row.
    ann = timeline.lanes[0]
    assert [shape.mark.excerpt_id for shape in ann.marks] == [e["a2"], twin.pk, e["a1"], e["a3"]]
    assert [shape.y - ann.y for shape in ann.marks] == [8, 8, 28, 8]
    # x: the 168-unit label column, then 4 units a minute from 09:30, less half a mark's width.
    start = 168 + 32 * 4 + 34 / 15 - 3
    assert [shape.x for shape in ann.marks] == pytest.approx([285, start, start, 405])
    assert ann.height == 2 * 20 + 2 * 6
    assert ann.marks[2].title == (
        f"10:02 · Ann Observer · Protest · coded by {users['coder'].first_name}: "
        "“Grace said: we are not here to be marked.”"
    )


# --- Queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["pi", "coder"])
@pytest.mark.parametrize("count", [3, 30])
def test_triangulate_reads_a_meeting_in_a_fixed_number_of_queries(
    project, users, django_assert_num_queries, role, count
):
    meeting = MeetingFactory(project=project, starts_at=at(9, 30))
    AgendaItemFactory(meeting=meeting)
    code = CodeFactory(codebook=project.codebook)
    for observer in range(3):
        note = FieldnoteFactory(meeting=meeting, text="09:30 " + "word " * 200)
        _markers(note, ("09:30", at(9, 30 + observer)))
        for index in range(count // 3):
            excerpt = ExcerptFactory(
                fieldnote=note, coder=users["coder"], start=6 + index * 5, end=10 + index * 5
            )
            excerpt.excerpt_codes.create(code=code)
    meeting = get_meeting_for(users[role], project.pk, meeting.pk, need="read_fieldnotes")

    # The agenda, the fieldnotes with their observers, the markers, the codebook and its codes,
    # the excerpts' codes, the coders.
    with django_assert_num_queries(7):
        result = triangulate(meeting=meeting, user=users[role])
        compare_windows(result)
        layout_timeline(result)

    assert result.timed == count
