"""The time-marker parser on text nobody would write on purpose.

Every marker must point at its own text (`text[start:end] == marker.text`), markers must be in
order without overlapping, the values must be a real time, anchoring must place or decline each
one without an exception, and no input may make the regular expressions backtrack for long.
"""

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldnotes.timemarkers import anchor_markers, find_day_headings, find_markers

from .conftest import hostile

LONDON = ZoneInfo("Europe/London")
# Two days across the spring clock change, so that anchoring meets a missing hour too.
DAY_STARTS = [datetime(2026, 3, 28, 9, tzinfo=LONDON), datetime(2026, 3, 29, 0, 30, tzinfo=LONDON)]
MEETING_END = datetime(2026, 3, 29, 17, tzinfo=LONDON)

# Pieces that the patterns react to; hypothesis strings them together with arbitrary text.
PIECES = [
    "1", "9", "12", "23", "24", "99", "00", "0", "123", ":", ".", ":", " ", "\t", "\n", "\r\n",
    "[", "]", "(", ")", "\"", "“", "”", "-", "–", "~", "am", "p.m.", "pm", "o'clock", "noon",
    "midnight", "twelve", "half", "quarter", "past", "to", "twenty-five", "ten", "at ", "about ",
    "just after ", "Day 2, ", "day ", "Monday", "11 March", "10.03.2026", "2026-03-29",
    "yesterday", "in the morning", "£", "clause ", "hours", "%", "\u0301", "\U0001f642",
    "\u202e", "\x00", "٣", "１２:３０",
]  # fmt: skip


def check(text: str) -> None:
    markers = find_markers(text)
    previous_end = 0
    for marker in markers:
        assert 0 <= marker.start < marker.end <= len(text), (marker, text)
        assert text[marker.start : marker.end] == marker.text, (marker, text)
        assert marker.start >= previous_end, (markers, text)
        previous_end = marker.end
        if marker.kind == "clock":
            assert 0 <= marker.hour <= 23, marker
        else:
            assert marker.kind == "elapsed" and marker.hour >= 0, marker
        assert 0 <= marker.minute <= 59 and 0 <= marker.second <= 59, marker
        assert marker.day is None or marker.day >= 0, marker
        assert bool(marker.reason) == marker.ambiguous, marker
    headings = find_day_headings(text)
    for heading in headings:
        assert 0 <= heading.start < heading.end <= len(text), (heading, text)
        assert text[heading.start : heading.end] == heading.text, (heading, text)
    anchored = anchor_markers(
        markers, day_starts=DAY_STARTS, meeting_end=MEETING_END, headings=headings
    )
    assert [item.marker for item in anchored] == markers
    for item in anchored:
        assert item.moment is not None or item.note, item
        assert not (item.confident and item.moment is None), item


@hostile(60)
@given(text=st.text(max_size=300))
def test_arbitrary_text(text):
    check(text)


@hostile(60)
@given(
    pieces=st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=60),
)
def test_text_made_of_time_like_pieces(pieces):
    check("".join(pieces))


@hostile(25)
@given(
    piece=st.sampled_from(PIECES),
    repeat=st.integers(min_value=1, max_value=3000),
    tail=st.sampled_from(["", "pm", ":00", "]", "\n", " o'clock"]),
)
def test_long_repetitions_stay_consistent(piece, repeat, tail):
    check(piece * repeat + tail)


# What a regular expression with nested or adjacent repetition would choke on.
ADVERSARIAL = [
    "1:" * 5000,
    "1." * 5000,
    "12:" * 5000,
    "[1:" * 5000,
    "(00:" * 5000,
    "9" * 20_000,
    "[" * 20_000,
    '"' * 20_000,
    "day " * 5000,
    "Day 1, " * 3000,
    "half " * 5000,
    "quarter past " * 3000,
    "at nine " * 3000,
    "10.42 - " * 3000,
    "12 " * 6000,
    "Day 2\n" * 5000,
    "Monday 1 March " * 2000,
    "1" + " " * 20_000 + "pm",
    "twelve" + "\t" * 20_000 + "noon",
    "ten" + " " * 20_000 + "o'clock",
    "[1:" + "1" * 20_000,
    '"' + "10:30 " * 3000,
    "yesterday " * 3000 + "10:30",
    "at " * 5000 + "nine",
    "1 " * 10_000 + "a.m.",
    "10:30" + "-" * 20_000 + "11:00",
    "x" * 200_000,
    "09:30 Ward round began.\n" * 4000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda text: repr(text[:12]))
def test_adversarial_text_finishes_quickly(text):
    began = time.perf_counter()
    check(text)
    assert time.perf_counter() - began < 2.0
