"""Time markers: finding clock times in fieldnotes and placing them on the meeting's clock."""

import itertools
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fieldnotes.timemarkers import (
    Anchored,
    DayHeading,
    TimeMarker,
    anchor_markers,
    find_day_headings,
    find_markers,
)

LONDON = ZoneInfo("Europe/London")
DEMO_FIELDNOTES = Path(__file__).resolve().parents[2] / "demo" / "fieldnotes"


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


# The demo meeting: Tuesday 10 March 2026 09:30 to Wednesday 11 March 2026 12:30.
DEMO_DAY_STARTS = [london(2026, 3, 10, 9, 30), london(2026, 3, 11, 9, 0)]
DEMO_END = london(2026, 3, 11, 12, 30)
# A one-day meeting on the demo's first day.
ONE_DAY = [london(2026, 3, 10, 9, 30)]
ONE_DAY_END = london(2026, 3, 10, 16, 30)


def anchor(text, day_starts=DEMO_DAY_STARTS, meeting_end=DEMO_END, **options):
    return anchor_markers(
        find_markers(text),
        day_starts=day_starts,
        meeting_end=meeting_end,
        headings=find_day_headings(text),
        **options,
    )


def placed(anchored: list[Anchored]) -> list[tuple]:
    return [(a.marker.text, a.moment, a.confident, a.note) for a in anchored]


# --- Finding: every supported form ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dev spoke 10:42 and sat.", TimeMarker(10, 15, "10:42", "clock", 10, 42)),
        ("09:34 Helen opens.", TimeMarker(0, 5, "09:34", "clock", 9, 34)),
        ("Helen opened at 10.42am sharp.", TimeMarker(16, 23, "10.42am", "clock", 10, 42)),
        ("It began at 10.42 am.", TimeMarker(12, 20, "10.42 am", "clock", 10, 42)),
        ("By 2pm we were done.", TimeMarker(3, 6, "2pm", "clock", 14, 0)),
        ("By 2 pm we were done.", TimeMarker(3, 7, "2 pm", "clock", 14, 0)),
        ("Back at 2.05pm.", TimeMarker(8, 14, "2.05pm", "clock", 14, 5)),
        ("Back at 2 p.m. sharp.", TimeMarker(8, 14, "2 p.m.", "clock", 14, 0)),
        ("Back at 12am.", TimeMarker(8, 12, "12am", "clock", 0, 0)),
        ("It was 14:00pm by then.", TimeMarker(7, 14, "14:00pm", "clock", 14, 0)),
        ("Lunch at 12 noon.", TimeMarker(9, 16, "12 noon", "clock", 12, 0)),
        ("Lunch at noon.", TimeMarker(9, 13, "noon", "clock", 12, 0)),
        ("Twelve noon came.", TimeMarker(0, 11, "Twelve noon", "clock", 12, 0)),
        ("Done by midnight.", TimeMarker(8, 16, "midnight", "clock", 0, 0)),
        ("[00:12:31] Helen opens.", TimeMarker(0, 10, "[00:12:31]", "elapsed", 0, 12, 31)),
        ("[12:31] Helen opens.", TimeMarker(0, 7, "[12:31]", "elapsed", 0, 12, 31)),
        ("[75:20] Still going.", TimeMarker(0, 7, "[75:20]", "elapsed", 1, 15, 20)),
        ("(00:12:31) Helen opens.", TimeMarker(0, 10, "(00:12:31)", "elapsed", 0, 12, 31)),
        ("14:05 - Tony asks.", TimeMarker(0, 5, "14:05", "clock", 14, 5)),
        ("14.05 - Tony asks.", TimeMarker(0, 5, "14.05", "clock", 14, 5)),
        ("- 10.42 Jo speaks.", TimeMarker(2, 7, "10.42", "clock", 10, 42)),
        ("Day 2, 09:15 Recap.", TimeMarker(0, 12, "Day 2, 09:15", "clock", 9, 15, day=2)),
        ("Day two, 9.15am, recap.", TimeMarker(0, 15, "Day two, 9.15am", "clock", 9, 15, day=2)),
        ("Arrived at 9.41am.", TimeMarker(11, 17, "9.41am", "clock", 9, 41)),
        ("Tony spoke around 2.05pm.", TimeMarker(18, 24, "2.05pm", "clock", 14, 5)),
        ("Clock said 10:42:15 exactly.", TimeMarker(11, 19, "10:42:15", "clock", 10, 42, 15)),
        ("It was 02:05 by then.", TimeMarker(7, 12, "02:05", "clock", 2, 5)),
        ("at 14:20 on day one", TimeMarker(3, 8, "14:20", "clock", 14, 20, day=1)),
    ],
)
def test_find_markers_reads_digit_forms(text, expected):
    assert find_markers(text) == [expected]
    assert text[expected.start : expected.end] == expected.text


def twelve_hour(start, end, text, hour, minute):
    """A marker whose am or pm is not written."""
    return TimeMarker(start, end, text, "clock", hour, minute, meridiem_known=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It was 2:05 by then.", twelve_hour(7, 11, "2:05", 2, 5)),
        ("Back at 2.05 for tea.", twelve_hour(8, 12, "2.05", 2, 5)),
        ("At quarter past ten we stopped.", twelve_hour(3, 19, "quarter past ten", 10, 15)),
        ("At half past two we went back.", twelve_hour(3, 16, "half past two", 2, 30)),
        ("half past 2", twelve_hour(0, 11, "half past 2", 2, 30)),
        ("Coffee at half eleven.", twelve_hour(10, 21, "half eleven", 11, 30)),
        ("Half eleven, Ward 12.", twelve_hour(0, 11, "Half eleven", 11, 30)),
        ("It was twenty to ten.", twelve_hour(7, 20, "twenty to ten", 9, 40)),
        ("At ten to twelve, Jo wound up.", twelve_hour(3, 16, "ten to twelve", 11, 50)),
        ("It was twenty to one.", twelve_hour(7, 20, "twenty to one", 12, 40)),
        ("Back at twenty-five to four.", twelve_hour(8, 27, "twenty-five to four", 3, 35)),
        ("Helen, ten past nine, arrived.", twelve_hour(7, 20, "ten past nine", 9, 10)),
        ("Just after eleven the wards spoke.", twelve_hour(11, 17, "eleven", 11, 0)),
        ("Just before twelve, lunch.", twelve_hour(12, 18, "twelve", 12, 0)),
        ("We started at eleven.", twelve_hour(14, 20, "eleven", 11, 0)),
        ("Finished by four, mostly.", twelve_hour(12, 16, "four", 4, 0)),
        ("We started at ten o'clock.", twelve_hour(14, 25, "ten o'clock", 10, 0)),
        ("at 9 o'clock sharp", twelve_hour(3, 12, "9 o'clock", 9, 0)),
        ("We met at nine with a recap.", twelve_hour(10, 14, "nine", 9, 0)),
        ("At about ten to ten Mark objected.", twelve_hour(9, 19, "ten to ten", 9, 50)),
    ],
)
def test_find_markers_reads_times_without_am_or_pm(text, expected):
    assert find_markers(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "From ten in the morning, waiting.",
            TimeMarker(5, 23, "ten in the morning", "clock", 10, 0),
        ),
        (
            "At half past two in the afternoon, tea.",
            TimeMarker(3, 33, "half past two in the afternoon", "clock", 14, 30),
        ),
        (
            "At quarter to seven pm, dinner.",
            TimeMarker(3, 22, "quarter to seven pm", "clock", 18, 45),
        ),
        (
            "Home by seven in the evening.",
            TimeMarker(8, 28, "seven in the evening", "clock", 19, 0),
        ),
    ],
)
def test_find_markers_reads_spelled_out_times_with_part_of_day(text, expected):
    assert find_markers(text) == [expected]


def test_find_markers_counts_code_points_not_utf16_units():
    text = "Zoë 🙂 at 10:42, café."
    assert find_markers(text) == [TimeMarker(9, 14, "10:42", "clock", 10, 42)]


def test_find_markers_leaves_the_dash_out_of_an_entry_time():
    text = "14.05 - Tony asks.\n14.20 – Grace protests."
    assert [(m.start, m.end, m.text) for m in find_markers(text)] == [
        (0, 5, "14.05"),
        (19, 24, "14.20"),
    ]


# --- Finding: weak and doubtful matches -------------------------------------------------------


def test_find_markers_keeps_a_bare_decimal_looking_time_as_ambiguous():
    assert find_markers("She wrote 10.42 on the board.") == [
        TimeMarker(
            10, 15, "10.42", "clock", 10, 42, ambiguous=True, reason="could be a decimal number"
        )
    ]
    assert find_markers("Then 2.05 on the slide.") == [
        TimeMarker(
            5,
            9,
            "2.05",
            "clock",
            2,
            5,
            meridiem_known=False,
            ambiguous=True,
            reason="could be a decimal number",
        )
    ]


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("Back at 10.42 after coffee.", 10, 42),
        ("Open from 14.05 onwards.", 14, 5),
        ("Quiet until 10.30 when Jo spoke.", 10, 30),
        ("Started around 10.30 in the end.", 10, 30),
        ("10.42. Then Jo spoke.", 10, 42),
    ],
)
def test_find_markers_is_sure_of_a_decimal_looking_time_in_context(text, hour, minute):
    (marker,) = find_markers(text)
    assert (marker.hour, marker.minute, marker.ambiguous, marker.reason) == (
        hour,
        minute,
        False,
        "",
    )


def test_find_markers_is_sure_of_both_ends_of_a_range():
    text = "The whole 14.05–14.45 stretch. Back at 10.30 to 11.00 for coffee."
    assert [(m.text, m.ambiguous) for m in find_markers(text)] == [
        ("14.05", False),
        ("14.45", False),
        ("10.30", False),
        ("11.00", False),
    ]


def test_find_markers_marks_about_a_number_word_as_possibly_a_count():
    assert find_markers("Around four the flipchart went up.") == [
        TimeMarker(
            7,
            11,
            "four",
            "clock",
            4,
            0,
            meridiem_known=False,
            ambiguous=True,
            reason="could be a number rather than a time",
        )
    ]


# --- Finding: what is not a time --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # money
        "It cost £10.50 in the end.",
        "Only $3.20 each.",
        "A coffee was €2.30.",
        "They paid 12.50 for it.",
        # decimals with units
        "It took 2.5 hours.",
        "It took 2.50 hours.",
        "About 10.5% of staff.",
        "A 10.50% rise.",
        "It is 1.25m wide.",
        "It weighed 2.50 kg.",
        # scores and ratios
        "A 1:1 meeting with Jo.",
        "They won 3:2 on the day.",
        "It was a 4:1 vote.",
        "A 4:10 vote.",
        "A ratio of 1:20 on nights.",
        # dates
        "Dated 10.03.2026 at the top.",
        "Dated 10/03 at the top.",
        "Dated 10/03/2026 at the top.",
        "Dated 2026-03-10 at the top.",
        "Dated 10.03.26 at the top.",
        # versions
        "The header said DRAFT v0.3 today.",
        "Version 3.2.1 of the app.",
        "See v10.30 of the form.",
        # clauses
        "Under clause 4.2 they share.",
        "As section 3.1 says.",
        "As in 4.2 of the terms.",
        "Under clause 4.12 they share.",
        "As section 10.15 says.",
        # out of range
        "It read 10.75 on the gauge.",
        "It read 25:10 on the gauge.",
        "It read 10:60 on the gauge.",
        "Back at 13pm.",
        # inside words and longer digit runs
        "NEWS2 charts.",
        "Code A123:45 on the form.",
        "Code 12:345 on the form.",
        # number words that are counts
        "There were five to ten people there.",
        "A pause of about eight seconds.",
        "I counted to about eight.",
        "At one point Jo stood.",
        "She pointed at two nurses.",
        "All ten of us laughed.",
        "Half an hour later.",
        "At ten-minute intervals.",
        "For ten minutes nobody spoke.",
        "He came home after eleven days.",
        "About twenty of them.",
        "The ten past presidents.",
        "Burning the midnight oil.",
        "A midday meal.",
        # reported speech and bracketed comments
        '"Back at 11.15," Jo said.',
        '"See you at half ten," she said.',
        "Grace: “We start at nine tomorrow.”",
        "[AH: it matched what I noted at 09:30.]",
        "[AH: today (10:12, 14:05, 14:20) mattered.]",
        # times of another day
        "Grace at 14:20 yesterday said it.",
        "It was yesterday's 10:12 question.",
        "Tomorrow at ten we meet again.",
        # nothing at all
        "No times here, just 3 wards and 28 beds.",
        "",
    ],
)
def test_find_markers_ignores_what_only_looks_like_a_time(text):
    assert find_markers(text) == []


def test_find_markers_are_sorted_and_do_not_overlap():
    text = "09:30 Day 2, 09:45 then at 2pm, [00:01:02] and quarter past three."
    markers = find_markers(text)
    assert [m.text for m in markers] == [
        "09:30",
        "Day 2, 09:45",
        "2pm",
        "[00:01:02]",
        "quarter past three",
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(markers))


# --- Day headings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "day", "weekday", "date"),
    [
        ("Day 2", 2, None, None),
        ("Day two", 2, None, None),
        ("DAY 2", 2, None, None),
        ("Day 2 – Wed 11 March", 2, 2, (11, 3, None)),
        ("Day 2 (Wednesday)", 2, 2, None),
        ("Day two – recorder restarted at 09:00", 2, None, None),
        ("Day 1, 09:30", 1, None, None),
        (
            "Day 1 – Tue 10 March 2026, Millbrook Conference Centre (Beech Room)",
            1,
            1,
            (10, 3, 2026),
        ),
        ("Wednesday 11 March", None, 2, (11, 3, None)),
        ("Wednesday 11 March 2026", None, 2, (11, 3, 2026)),
        ("Tuesday 10 March 2026, Millbrook Conference Centre, Beech Room", None, 1, (10, 3, 2026)),
        ("Tuesday", None, 1, None),
        ("Wednesday morning", None, 2, None),
        ("Sunday 29th March", None, 6, (29, 3, None)),
        ("March 11, 2026", None, None, (11, 3, 2026)),
        ("11/03/2026", None, None, (11, 3, 2026)),
        ("2026-03-11", None, None, (11, 3, 2026)),
    ],
)
def test_find_day_headings_reads_a_heading_line(line, day, weekday, date):
    assert find_day_headings(line) == [DayHeading(0, len(line), line, day, weekday, date)]


@pytest.mark.parametrize(
    "line",
    [
        "Day 2 was quieter than day 1.",
        "Wednesday was quieter.",
        "Sat, then stood up.",
        "Monitoring charts came up.",
        "March on, said Jo.",
        "09.30 - Still at the registration desk.",
        "10.12 - Dev Patel asks his question.",
        "Day 2, "
        + "and everyone was tired after the long first day, so the recap ran late and " * 2,
        "In the morning on Day 2 we met.",
    ],
)
def test_find_day_headings_ignores_prose(line):
    assert find_day_headings(line) == []


def test_find_day_headings_gives_offsets_of_the_heading_text():
    text = "Notes\n\n  Day 2  \n10:00 Recap."
    assert find_day_headings(text) == [DayHeading(9, 14, "Day 2", 2, None, None)]


def test_find_markers_takes_the_day_from_the_heading_above_until_the_next():
    text = (
        "09:00 Before any heading.\n"
        "Day 1\n"
        "09:30 Opening.\n"
        "Day 2 – Wed 11 March\n"
        "09:05 Recap.\n"
        "Day 1, 16:20 A late note about day one.\n"
        "Wednesday\n"
        "10:00 No number under a weekday heading.\n"
    )
    assert [(m.text, m.day) for m in find_markers(text)] == [
        ("09:00", None),
        ("09:30", 1),
        ("09:05", 2),
        ("Day 1, 16:20", 1),
        ("10:00", None),
    ]


# --- Anchoring --------------------------------------------------------------------------------


def test_anchor_two_day_meeting_moves_to_the_next_day_after_a_jump_back():
    text = "09:30 Opening.\n16:20 Close.\n09:05 Recap.\n10:00 Clause 4.\n"
    assert placed(anchor(text)) == [
        ("09:30", london(2026, 3, 10, 9, 30), True, ""),
        ("16:20", london(2026, 3, 10, 16, 20), True, ""),
        ("09:05", london(2026, 3, 11, 9, 5), False, "After 16:20, so taken as day 2."),
        ("10:00", london(2026, 3, 11, 10, 0), True, ""),
    ]


def test_anchor_stays_on_the_last_day_when_there_is_no_next_day():
    text = "15:00 Late.\n09:30 Early again.\n"
    assert placed(anchor(text, ONE_DAY, ONE_DAY_END)) == [
        ("15:00", london(2026, 3, 10, 15, 0), True, ""),
        ("09:30", london(2026, 3, 10, 9, 30), False, "Earlier than the marker before it."),
    ]


def test_anchor_flags_a_marker_earlier_than_the_one_before():
    text = "10:00 Stories.\nThe laugh made sense later, at 12:05.\n09:50 Quotes.\n10:05 Questions."
    assert placed(anchor(text)) == [
        ("10:00", london(2026, 3, 10, 10, 0), True, ""),
        ("12:05", london(2026, 3, 10, 12, 5), True, ""),
        ("09:50", london(2026, 3, 10, 9, 50), False, "Earlier than the marker before it."),
        ("10:05", london(2026, 3, 10, 10, 5), True, ""),
    ]


def test_anchor_takes_the_day_of_an_explicit_marker():
    assert placed(anchor("Day 2, 09:15 Recap.")) == [
        ("Day 2, 09:15", london(2026, 3, 11, 9, 15), True, ""),
    ]


def test_anchor_takes_the_day_from_weekday_and_date_headings():
    text = (
        "Wednesday 11 March\n\n10:00 Clause 4.\n\n"
        "Tuesday\n\n14:05 Tony's question.\n\n"
        "Wed 11/03/2026\n\n11:40 Steering group.\n"
    )
    assert placed(anchor(text)) == [
        ("10:00", london(2026, 3, 11, 10, 0), True, ""),
        ("14:05", london(2026, 3, 10, 14, 5), True, ""),
        ("11:40", london(2026, 3, 11, 11, 40), True, ""),
    ]


def test_anchor_ignores_a_heading_that_names_no_day_of_the_meeting():
    text = "Thursday 12 March (written up afterwards)\n\n10:00 Opening.\n16:20 Close.\n09:05 Recap."
    assert [a.moment for a in anchor(text)] == [
        london(2026, 3, 10, 10, 0),
        london(2026, 3, 10, 16, 20),
        london(2026, 3, 11, 9, 5),
    ]


def test_anchor_cannot_place_a_day_the_meeting_does_not_have():
    assert placed(anchor("Day 3, 09:15 Extra.\n")) == [
        ("Day 3, 09:15", None, False, "The notes say day 3, but the meeting has 2 days."),
    ]
    assert placed(anchor("Day 2\n\n09:15 Extra.\n", ONE_DAY, ONE_DAY_END)) == [
        ("09:15", None, False, "The notes say day 2, but the meeting has 1 day."),
    ]


def test_anchor_chooses_pm_when_am_is_outside_the_meeting():
    assert placed(anchor("At half past two we went back.", ONE_DAY, ONE_DAY_END)) == [
        (
            "half past two",
            london(2026, 3, 10, 14, 30),
            True,
            "Assumed pm: 2:30 am is outside the meeting.",
        ),
    ]


def test_anchor_chooses_am_when_pm_is_outside_the_day():
    # 21:20 is within the two-day meeting, but not within the first day's hours.
    assert placed(anchor("I arrived at about twenty past nine.")) == [
        (
            "twenty past nine",
            london(2026, 3, 10, 9, 20),
            True,
            "Assumed am: 9:20 pm is outside the meeting.",
        ),
    ]


def test_anchor_guesses_the_reading_nearest_the_marker_before_when_both_fit():
    long_day, long_end = [london(2026, 3, 10, 8, 0)], london(2026, 3, 10, 22, 0)
    text = "20:00 Dinner.\nWe left at nine."
    assert placed(anchor(text, long_day, long_end)) == [
        ("20:00", london(2026, 3, 10, 20, 0), True, ""),
        (
            "nine",
            london(2026, 3, 10, 21, 0),
            False,
            "Assumed pm: 9:00 am would also fit, and this is nearer the marker before it.",
        ),
    ]


def test_anchor_guesses_from_the_start_of_the_day_when_nothing_came_before():
    long_day, long_end = [london(2026, 3, 10, 8, 0)], london(2026, 3, 10, 22, 0)
    assert placed(anchor("We arrived at nine.", long_day, long_end)) == [
        (
            "nine",
            london(2026, 3, 10, 9, 0),
            False,
            "Assumed am: 9:00 pm would also fit, and this is nearer the start of the day.",
        ),
    ]


def test_anchor_guesses_when_neither_reading_fits():
    short_end = london(2026, 3, 10, 12, 30)
    assert placed(anchor("At quarter past six we left.", ONE_DAY, short_end)) == [
        (
            "quarter past six",
            london(2026, 3, 10, 6, 15),
            False,
            "Neither 6:15 am nor 6:15 pm is within the meeting; assumed am. "
            "Outside the meeting's hours.",
        ),
    ]


def test_anchor_keeps_a_moment_outside_the_meeting_but_flags_it():
    text = "08:45 Coffee.\n16:45 Tidying up.\n18:45 Drinks."
    assert placed(anchor(text, ONE_DAY, ONE_DAY_END)) == [
        ("08:45", london(2026, 3, 10, 8, 45), True, ""),
        ("16:45", london(2026, 3, 10, 16, 45), True, ""),
        ("18:45", london(2026, 3, 10, 18, 45), False, "Outside the meeting's hours."),
    ]


def test_anchor_elapsed_counts_from_the_restart_of_each_day():
    text = (
        "Day one – recorder started at 09:30\n\n[00:04:10] Helen opens.\n\n"
        "Day two – recorder restarted at 09:00\n\n[00:48:15] Mark objects.\n"
    )
    assert placed(anchor(text)) == [
        ("09:30", london(2026, 3, 10, 9, 30), True, ""),
        ("[00:04:10]", london(2026, 3, 10, 9, 34, 10), True, ""),
        ("09:00", london(2026, 3, 11, 9, 0), True, ""),
        ("[00:48:15]", london(2026, 3, 11, 9, 48, 15), True, ""),
    ]


def test_anchor_elapsed_prefers_the_restart_time_written_in_the_heading():
    text = "Day two – recorder restarted at 09:00\n\n[00:48:15] Mark objects.\n"
    agenda_starts = [london(2026, 3, 10, 9, 30), london(2026, 3, 11, 9, 15)]
    assert [a.moment for a in anchor(text, agenda_starts)] == [
        london(2026, 3, 11, 9, 0),
        london(2026, 3, 11, 9, 48, 15),
    ]
    # Without the headings, the day's start is all there is to count from.
    markers = find_markers(text)
    anchored = anchor_markers(markers, day_starts=agenda_starts, meeting_end=DEMO_END)
    assert anchored[1].moment == london(2026, 3, 11, 10, 3, 15)


def test_anchor_elapsed_moves_to_the_next_day_when_the_recorder_starts_again():
    text = "[03:25:00] End of day one.\n[00:05:20] Recap.\n"
    assert placed(anchor(text)) == [
        ("[03:25:00]", london(2026, 3, 10, 12, 55), True, ""),
        ("[00:05:20]", london(2026, 3, 11, 9, 5, 20), False, "After 12:55, so taken as day 2."),
    ]


def test_anchor_an_ambiguous_marker_does_not_steer_the_others():
    text = "16:20 Close.\nShe wrote 09.05 on the board.\n09:10 Recap."
    assert placed(anchor(text)) == [
        ("16:20", london(2026, 3, 10, 16, 20), True, ""),
        (
            "09.05",
            london(2026, 3, 10, 9, 5),
            False,
            "Could be a decimal number. Earlier than the marker before it.",
        ),
        ("09:10", london(2026, 3, 11, 9, 10), False, "After 16:20, so taken as day 2."),
    ]


def test_anchor_text_without_times_gives_nothing():
    assert anchor("Nobody looked at a clock all day.") == []
    assert anchor_markers([], day_starts=DEMO_DAY_STARTS, meeting_end=DEMO_END) == []


def test_anchor_uses_wall_clock_times_across_the_spring_clock_change():
    # The clocks go forward at 01:00 UTC on 29 March 2026: 00:30 is GMT, 09:30 is BST.
    night = [london(2026, 3, 29, 0, 30)]
    text = "00:45 Start.\n[09:00:00] Nine hours on the recorder.\n09:30 Breakfast."
    anchored = anchor(text, night, london(2026, 3, 29, 11, 0))
    assert [a.moment.astimezone(UTC) for a in anchored] == [
        datetime(2026, 3, 29, 0, 45, tzinfo=UTC),
        datetime(2026, 3, 29, 9, 30, tzinfo=UTC),  # nine real hours after 00:30 UTC
        datetime(2026, 3, 29, 8, 30, tzinfo=UTC),
    ]
    assert [f"{a.moment:%H:%M %Z}" for a in anchored] == ["00:45 GMT", "10:30 BST", "09:30 BST"]


def test_anchor_two_day_meeting_over_the_clock_change():
    weekend = [london(2026, 3, 28, 9, 30), london(2026, 3, 29, 9, 0)]
    anchored = anchor(
        "Day 1, 09:30 Opening.\nDay 2, 09:30 Recap.", weekend, london(2026, 3, 29, 12, 0)
    )
    assert [a.moment.astimezone(UTC) for a in anchored] == [
        datetime(2026, 3, 28, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 8, 30, tzinfo=UTC),
    ]
    assert all(a.confident for a in anchored)


def test_anchor_refuses_naive_or_missing_days():
    with pytest.raises(ValueError, match="aware"):
        anchor_markers([], day_starts=[datetime(2026, 3, 10, 9, 30)], meeting_end=DEMO_END)
    with pytest.raises(ValueError, match="at least one day"):
        anchor_markers([], day_starts=[], meeting_end=DEMO_END)


def test_anchor_uses_day_ends_when_given():
    # Told that day 1 ran until 21:00, "at nine" after 20:00 is a fair reading for both.
    day_ends = [london(2026, 3, 10, 21, 0), DEMO_END]
    text = "Day 1\n20:00 Dinner.\nWe left at nine."
    anchored = anchor(text, day_ends=day_ends)
    assert [(a.moment, a.confident) for a in anchored] == [
        (london(2026, 3, 10, 20, 0), True),
        (london(2026, 3, 10, 21, 0), False),
    ]


# --- The demo fieldnotes ----------------------------------------------------------------------


def demo(name: str) -> tuple[list[TimeMarker], list[Anchored]]:
    text = (DEMO_FIELDNOTES / f"{name}.txt").read_text(encoding="utf-8")
    markers = find_markers(text)
    anchored = anchor_markers(
        markers,
        day_starts=DEMO_DAY_STARTS,
        meeting_end=DEMO_END,
        headings=find_day_headings(text),
    )
    return markers, anchored


@pytest.mark.parametrize(
    ("name", "at_least"),
    [("amira", 40), ("ben", 55), ("chloe", 30), ("sam", 23), ("margaret", 18), ("tony", 18)],
)
def test_demo_fieldnote_has_a_plausible_number_of_markers(name, at_least):
    markers, _ = demo(name)
    assert at_least <= len(markers) <= at_least + 10


def test_demo_amira_writes_clock_times():
    markers, _ = demo("amira")
    assert len([m for m in markers if m.kind == "clock" and not m.ambiguous]) >= 40


def test_demo_sam_writes_elapsed_times_apart_from_the_recorder_starts():
    text = (DEMO_FIELDNOTES / "sam.txt").read_text(encoding="utf-8")
    markers, anchored = demo("sam")
    clock = [m for m in markers if m.kind == "clock"]
    headings = find_day_headings(text)
    assert [(m.text, m.day) for m in clock] == [("09:30", 1), ("09:00", 2)]
    assert all(any(h.start <= m.start < h.end for h in headings) for m in clock)
    assert len([m for m in markers if m.kind == "elapsed"]) >= 20
    assert anchored[-1].moment == london(2026, 3, 11, 12, 25)  # "[03:25:00] End."


@pytest.mark.parametrize(
    ("name", "before_the_start"),
    [
        ("amira", []),
        # "Coffee ... brought in on trolleys at 09.15": a real moment a quarter of an hour before
        # the meeting opened, within the hour of grace that anchoring allows.
        ("ben", [("09.15", london(2026, 3, 10, 9, 15))]),
        ("chloe", []),
        ("sam", []),
    ],
)
def test_demo_ethnographers_moments_lie_inside_the_meeting(name, before_the_start):
    _, anchored = demo(name)
    assert anchored
    assert all(a.moment is not None for a in anchored)
    assert [
        (a.marker.text, a.moment)
        for a in anchored
        if not DEMO_DAY_STARTS[0] <= a.moment <= DEMO_END
    ] == before_the_start


@pytest.mark.parametrize("name", ["margaret", "tony"])
def test_demo_lay_observers_moments_lie_inside_the_meeting_or_just_before(name):
    # Both arrived before the start: "at about twenty past nine", "at ten past nine".
    _, anchored = demo(name)
    early = london(2026, 3, 10, 9, 0)
    assert [a.marker.text for a in anchored if not early <= a.moment <= DEMO_END] == []
    assert all(a.confident for a in anchored if a.moment < DEMO_DAY_STARTS[0])


@pytest.mark.parametrize("name", ["amira", "ben", "chloe", "sam", "margaret", "tony"])
def test_demo_every_observer_has_tonys_question_at_five_past_two(name):
    # The same moment seen by six observers: the point of anchoring.
    _, anchored = demo(name)
    question = london(2026, 3, 10, 14, 5)
    assert any(
        a.moment is not None and abs((a.moment - question).total_seconds()) <= 5 * 60
        for a in anchored
    )


@pytest.mark.parametrize("name", ["amira", "ben", "chloe", "sam"])
def test_demo_ethnographers_markers_are_not_doubtful(name):
    markers, anchored = demo(name)
    assert not any(m.ambiguous for m in markers)
    assert all(a.moment is not None for a in anchored)


# --- Speed ------------------------------------------------------------------------------------


def test_find_markers_is_fast_on_a_long_text():
    notes = "\n\n".join(path.read_text(encoding="utf-8") for path in DEMO_FIELDNOTES.glob("*.txt"))
    text = "\n\n".join([notes] * (200_000 // len(notes.split()) + 1))
    assert len(text.split()) >= 200_000
    timings = []
    for _ in range(2):  # the better of two runs, so that a busy machine does not fail the test
        started = time.perf_counter()
        markers = find_markers(text)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 1.0
    assert len(markers) > 2_000


def test_candidate_scan_finds_exactly_what_a_full_scan_finds():
    from pathlib import Path

    from fieldnotes import timemarkers

    folder = Path(__file__).resolve().parents[2] / "demo" / "fieldnotes"
    texts = [path.read_text() for path in sorted(folder.glob("*.txt"))]
    texts.append("Twenty-five to four, TWELVE noon, (00:12:31) [12:31] half eleven, at nine, ok.")
    for text in texts:
        full = [match.span() for match in timemarkers._MARKER.finditer(text)]
        assert [match.span() for match in timemarkers._marker_matches(text)] == full
