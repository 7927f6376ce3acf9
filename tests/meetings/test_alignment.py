"""Alignment: placing excerpts on the meeting's clock from time markers and agenda headings.

Plain unit tests: no database.
"""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.alignment import (
    AgendaHeading,
    Placement,
    find_agenda_headings,
    place_excerpts,
    trusted_markers,
)

LONDON = ZoneInfo("Europe/London")


def day1(hour, minute, second=0):
    return datetime(2026, 3, 10, hour, minute, second, tzinfo=LONDON)


def day2(hour, minute, second=0):
    return datetime(2026, 3, 11, hour, minute, second, tzinfo=LONDON)


# The demo meeting's agenda.
AGENDA = [
    ('Welcome and "where we are"', day1(9, 30), day1(10, 30)),
    ("Ward stories", day1(10, 45), day1(12, 30)),
    ("Lay panel response", day1(13, 30), day1(15, 0)),
    ("Table work: what would count as evidence?", day1(15, 15), day1(16, 30)),
    ("Revisiting day one: draft terms of collaboration", day2(9, 0), day2(10, 45)),
    ("Commitments and close", day2(11, 0), day2(12, 30)),
]
TITLES = [title for title, _, _ in AGENDA]


def place(offsets, *, text="", markers=(), agenda=AGENDA, tz=LONDON, **options):
    return place_excerpts(
        offsets, text=text, markers=list(markers), agenda=agenda, tz=tz, **options
    )


# --- Notes without markers: agenda headings, else untimed --------------------------------------


def test_place_excerpts_without_markers_uses_agenda_headings_else_untimed():
    text = (
        "Fieldnotes – Ben\n\n"
        "Arrived early and found a seat.\n\n"
        "1. Welcome and ‘where we are’\n"
        "Helen opened.\n\n"
        "Item 2: WARD STORIES\n"
        "Grace spoke from her table.\n"
    )
    offsets = [
        text.index("Arrived"),
        text.index("Helen"),
        text.index("Grace"),
        text.index("1. Welcome"),  # the heading itself sits under itself
        text.index("Item 2") - 1,  # the blank line before a heading still sits under the one above
    ]

    assert place(offsets, text=text) == [
        Placement(None, "untimed", None),
        Placement(day1(9, 30), "agenda", 0),
        Placement(day1(10, 45), "agenda", 1),
        Placement(day1(9, 30), "agenda", 0),
        Placement(day1(9, 30), "agenda", 0),
    ]


def test_place_excerpts_without_markers_or_agenda_is_untimed():
    text = "Ward stories\nGrace spoke."

    assert place([0, 13], text=text, agenda=[]) == [
        Placement(None, "untimed", None),
        Placement(None, "untimed", None),
    ]


def test_find_agenda_headings_gives_exact_offsets():
    text = "Notes\n   3. Lay panel response  \r\nMargaret spoke.\n"
    start = text.index("3.")

    assert find_agenda_headings(text, TITLES) == [
        AgendaHeading(start, start + len("3. Lay panel response"), 2)
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("3. Lay panel response", 2),
        ("3) Lay panel response", 2),
        ("3 Lay panel response", 2),
        ("Item 3: Lay panel response", 2),
        ("Agenda item 3 – lay panel response", 2),
        ("ITEM 3B. LAY PANEL RESPONSE", 2),
        ("(c) LAY PANEL RESPONSE", 2),
        ("c) Lay panel response", 2),
        ("  ## Lay Panel Response ##  ", 2),
        ("*Lay panel response*", 2),
        ("Lay panel response (13:30–15:00), chaired by Jo", 2),
        ("2.1 Ward stories", 1),
        ("Ward stories.", 1),
        ("Ward stories. Jo set these up as ten minutes each.", 1),
        ("iv) Table work: what would count as evidence?", 3),
        ("Welcome and 'where we are'", 0),
        ("WELCOME AND “WHERE WE ARE”", 0),
        ("Wélcome and where we are", 0),
        # the short form of a title with a subtitle, but only as the whole line
        ("Table work", 3),
        ("4. Table Work", 3),
        ("Revisiting day one", 4),
        ("Table work – groups of six", None),
        # not headings
        ("Lay panel", None),
        ("The lay panel response was moving.", None),
        ("Lay panel response " + "and more " * 12, None),  # longer than 120 characters
        ("Wardstories", None),
        ("Items arising", None),
    ],
)
def test_find_agenda_headings_normalises_numbering_case_and_punctuation(line, expected):
    text = f"Some notes before.\n{line}\nSomething was said.\n"

    found = [heading.agenda_index for heading in find_agenda_headings(text, TITLES)]

    assert found == ([] if expected is None else [expected])


def test_find_agenda_headings_repeated_titles_name_the_next_item_of_that_title():
    agenda = ["Welcome", "Break", "Ward stories", "Break", "Close"]
    text = "Welcome\nx\nBreak\nx\nWard stories\nx\nBreak\nx\nBreak\nClose\n"

    assert [heading.agenda_index for heading in find_agenda_headings(text, agenda)] == [
        0,
        1,
        2,
        3,
        1,  # no "Break" after the second: the first one
        4,
    ]


def test_find_agenda_headings_prefers_the_longest_title():
    agenda = ["Ward stories", "Ward stories: Ward 7"]

    headings = find_agenda_headings("Ward stories: Ward 7\nWard stories\n", agenda)

    assert [heading.agenda_index for heading in headings] == [1, 0]


# --- Markers out of order ----------------------------------------------------------------------


def test_trusted_markers_ignores_a_recap_marker_and_reports_it():
    markers = [
        (300, day1(10, 30)),
        (0, day1(10, 0)),
        (100, day1(10, 20)),
        (200, day1(10, 5)),  # "at 10:05 she had said…", written in the 10:20 passage
    ]

    kept, ignored = trusted_markers(markers)

    assert kept == [(0, day1(10, 0)), (100, day1(10, 20)), (300, day1(10, 30))]
    assert ignored == [(200, day1(10, 5))]


def test_trusted_markers_ignores_a_slip_that_runs_ahead():
    markers = [(0, day1(10, 0)), (100, day1(11, 20)), (200, day1(10, 25)), (300, day1(10, 30))]

    assert trusted_markers(markers) == (
        [(0, day1(10, 0)), (200, day1(10, 25)), (300, day1(10, 30))],
        [(100, day1(11, 20))],
    )


def test_trusted_markers_keeps_equal_moments_and_handles_none():
    markers = [(0, day1(10, 0)), (50, day1(10, 0)), (90, day1(10, 1))]

    assert trusted_markers(markers) == (markers, [])
    assert trusted_markers([]) == ([], [])


def test_place_excerpts_does_not_fold_the_clock_back_at_a_recap_marker():
    markers = [(0, day1(10, 0)), (100, day1(10, 20)), (200, day1(10, 5)), (300, day1(10, 30))]

    placements = place([150, 200, 250], markers=markers)

    # between 10:20 at 100 and 10:30 at 300: 600 s * 50/200 = 150 s, 300 s, 450 s
    assert placements == [
        Placement(day1(10, 22, 30), "interpolated", 0),
        Placement(day1(10, 25), "interpolated", 0),
        Placement(day1(10, 27, 30), "interpolated", 0),
    ]


# --- Between markers ---------------------------------------------------------------------------

MARKERS = [(0, day1(9, 34)), (700, day1(9, 41))]  # 420 s over 700 characters


def test_place_excerpts_interpolates_to_the_second():
    placements = place([0, 1, 100, 233, 350, 699, 700, 900], markers=MARKERS)

    assert placements == [
        Placement(day1(9, 34), "marker", 0),  # exactly at a marker
        Placement(day1(9, 34, 1), "interpolated", 0),  # 0.6 s rounds to 1 s
        Placement(day1(9, 35), "interpolated", 0),  # 60 s
        Placement(day1(9, 36, 20), "interpolated", 0),  # 139.8 s
        Placement(day1(9, 37, 30), "interpolated", 0),  # 210 s
        Placement(day1(9, 40, 59), "interpolated", 0),  # 419.4 s
        Placement(day1(9, 41), "marker", 0),  # exactly at the next marker
        Placement(day1(9, 41), "marker", 0),  # after the last marker
    ]


def test_place_excerpts_previous_mode_takes_the_marker_before():
    placements = place([0, 350, 699, 700, 900], markers=MARKERS, mode="previous")

    assert placements == [
        Placement(day1(9, 34), "marker", 0),
        Placement(day1(9, 34), "marker", 0),
        Placement(day1(9, 34), "marker", 0),
        Placement(day1(9, 41), "marker", 0),
        Placement(day1(9, 41), "marker", 0),
    ]


def test_place_excerpts_keeps_the_order_of_the_offsets_given():
    placements = place([700, 0, 350], markers=MARKERS)

    assert [placement.moment for placement in placements] == [
        day1(9, 41),
        day1(9, 34),
        day1(9, 37, 30),
    ]


def test_place_excerpts_does_not_interpolate_over_more_than_three_hours():
    three_hours = [(0, day1(10, 0)), (100, day1(13, 0))]
    a_second_more = [(0, day1(10, 0)), (100, day1(13, 0, 1))]

    assert place([50], markers=three_hours, agenda=[]) == [
        Placement(day1(11, 30), "interpolated", None)
    ]
    assert place([50], markers=a_second_more, agenda=[]) == [Placement(day1(10, 0), "marker", None)]
    assert place(
        [50], markers=[(0, day1(10, 0)), (100, day1(11, 30))], max_gap=timedelta(hours=1)
    ) == [Placement(day1(10, 0), "marker", 0)]


def test_place_excerpts_interpolates_in_real_time_across_a_clock_change():
    # Clocks go forward at 01:00 GMT on 29 March 2026: 00:30 GMT to 02:30 BST is one hour.
    markers = [
        (0, datetime(2026, 3, 29, 0, 30, tzinfo=LONDON)),
        (100, datetime(2026, 3, 29, 2, 30, tzinfo=LONDON)),
    ]

    (placement,) = place([50], markers=markers, agenda=[])

    assert placement.moment.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert placement == Placement(datetime(2026, 3, 29, 2, 0, tzinfo=LONDON), "interpolated", None)


# --- Two-day meetings and the day boundary -----------------------------------------------------


def test_place_excerpts_two_day_meeting_does_not_interpolate_across_the_night():
    markers = [
        (0, day1(16, 0)),
        (500, day1(16, 20)),
        (1000, day2(9, 5)),
        (1500, day2(9, 45)),
    ]

    placements = place([250, 750, 999, 1000, 1250, 1600], markers=markers)

    assert placements == [
        Placement(day1(16, 10), "interpolated", 3),
        Placement(day1(16, 20), "marker", 3),  # the night is not interpolated over
        Placement(day1(16, 20), "marker", 3),
        Placement(day2(9, 5), "marker", 4),
        Placement(day2(9, 25), "interpolated", 4),  # a day-two excerpt gets a day-two moment
        Placement(day2(9, 45), "marker", 4),
    ]


def test_place_excerpts_does_not_interpolate_across_midnight_in_the_meetings_zone():
    # 23:30 and 00:30 London summer time: one hour apart, on two days in London but on one
    # day (22:30 and 23:30) in UTC.
    late = datetime(2026, 6, 10, 23, 30, tzinfo=LONDON)
    after_midnight = datetime(2026, 6, 11, 0, 30, tzinfo=LONDON)
    markers = [(0, late), (100, after_midnight)]

    assert place([50], markers=markers, agenda=[]) == [Placement(late, "marker", None)]
    assert place([50], markers=markers, agenda=[], tz=UTC) == [
        Placement(datetime(2026, 6, 10, 23, 0, tzinfo=UTC), "interpolated", None)
    ]


# --- Before the first marker -------------------------------------------------------------------


def test_place_excerpts_before_the_first_marker_falls_back_to_the_heading():
    text = (
        "Arrived after the break.\n"
        "Ward stories\n"
        "Grace stood at her own table.\n"
        "11:05 Margaret asked who wipes the board.\n"
        "Lay panel response\n"
        "Margaret spoke about her husband.\n"
    )
    markers = [(text.index("11:05"), day1(11, 5))]

    placements = place(
        [text.index("Arrived"), text.index("Grace"), text.index("11:05"), text.index("Margaret s")],
        text=text,
        markers=markers,
    )

    assert placements == [
        Placement(None, "untimed", None),
        Placement(day1(10, 45), "agenda", 1),
        Placement(day1(11, 5), "marker", 1),
        # after the last marker its moment holds, heading or not: markers are the better evidence
        Placement(day1(11, 5), "marker", 1),
    ]


# --- Agenda items of timed placements ----------------------------------------------------------


def test_place_excerpts_agenda_index_is_the_innermost_item_holding_the_moment():
    agenda = [
        ("Day one", day1(9, 0), day1(17, 0)),
        ("Ward stories", day1(10, 45), day1(12, 30)),
        ("Lunch", day1(12, 30), day1(13, 30)),
    ]
    markers = [(0, day1(10, 0)), (10, day1(10, 45)), (20, day1(12, 30)), (30, day1(17, 0))]

    placements = place([0, 10, 20, 30], markers=markers, agenda=agenda, mode="previous")

    assert [placement.agenda_index for placement in placements] == [0, 1, 2, None]


def test_place_excerpts_rejects_an_unknown_mode_and_naive_moments():
    with pytest.raises(ValueError, match="Unknown mode"):
        place([0], markers=MARKERS, mode="nearest")
    with pytest.raises(ValueError, match="aware"):
        place([0], markers=[(0, datetime(2026, 3, 10, 9, 34))])


def test_place_excerpts_is_fast_on_a_long_note():
    paragraphs = []
    markers = []
    offset = 0
    for i in range(400):
        moment = day1(9, 30) + timedelta(minutes=i)
        paragraph = f"{moment:%H:%M} " + "Someone said something and others nodded. " * 10 + "\n"
        if i % 50 == 0:
            paragraph = f"{TITLES[i // 50 % len(TITLES)]}\n" + paragraph
        markers.append((offset + paragraph.index(f"{moment:%H:%M}"), moment))
        paragraphs.append(paragraph)
        offset += len(paragraph)
    text = "".join(paragraphs)
    offsets = list(range(0, len(text), len(text) // 2_000))

    timings = []
    for _ in range(2):  # the better of two runs, so that a busy machine does not fail the test
        started = time.perf_counter()
        placements = place(offsets, text=text, markers=markers)
        timings.append(time.perf_counter() - started)

    assert min(timings) < 0.1
    assert len(placements) == len(offsets)


# --- Invariants --------------------------------------------------------------------------------


@st.composite
def markers_in_order(draw):
    """Markers with offsets increasing and moments not decreasing, from 09:00 on day one; gaps
    of up to four hours, so some cross the three-hour rule and the night."""
    steps = draw(
        st.lists(st.tuples(st.integers(1, 400), st.integers(0, 4 * 3600)), min_size=1, max_size=10)
    )
    markers, offset, moment = [], draw(st.integers(0, 200)), day1(9, 0)
    for characters, seconds in steps:
        markers.append((offset, moment))
        offset += characters
        moment += timedelta(seconds=seconds)
    return markers


@settings(max_examples=200, deadline=None)
@given(
    markers_in_order(),
    st.lists(st.integers(0, 4_500), max_size=40),
    st.sampled_from(["interpolate", "previous"]),
)
def test_placements_keep_the_order_of_markers(markers, offsets, mode):
    assert trusted_markers(markers) == (markers, [])
    offsets = sorted(offsets)
    placements = place(offsets, markers=markers, agenda=[], mode=mode)

    first_offset = markers[0][0]
    first, last = markers[0][1], markers[-1][1]
    timed = [placement.moment for placement in placements if placement.moment is not None]
    assert timed == sorted(timed)
    for offset, placement in zip(offsets, placements, strict=True):
        if offset < first_offset:
            assert placement == Placement(None, "untimed", None)
            continue
        assert first <= placement.moment <= last
        assert placement.how in ("marker", "interpolated")
        if placement.how == "interpolated":
            assert mode == "interpolate"
            before = max(i for i, (start, _) in enumerate(markers) if start <= offset)
            assert markers[before][1] <= placement.moment <= markers[before + 1][1]
            assert markers[before + 1][1] - markers[before][1] <= timedelta(hours=3)


def _longest_chain(moments):
    longest = []
    for i, moment in enumerate(moments):
        longest.append(1 + max((longest[j] for j in range(i) if moments[j] <= moment), default=0))
    return max(longest, default=0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), max_size=25))
def test_trusted_markers_keeps_a_longest_non_decreasing_chain(pairs):
    markers = [(offset, day1(10, 0) + timedelta(minutes=minutes)) for offset, minutes in pairs]

    kept, ignored = trusted_markers(markers)

    assert sorted(kept + ignored) == sorted(markers)
    assert kept == sorted(kept)
    assert [moment for _, moment in kept] == sorted(moment for _, moment in kept)
    assert len(kept) == _longest_chain([moment for _, moment in sorted(markers)])
