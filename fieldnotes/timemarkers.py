"""Time markers: clock times written in a fieldnote, and where they fall in the meeting.

A time marker links an offset in a fieldnote to a moment of the meeting, so that several
observers' accounts of one event can be lined up on one clock. Observers write times in many ways
("09:34 Helen opens", "14.05 - Tony", "At 9.41am", "[00:12:31]" from an audio recorder, "half
eleven", "just after twelve"), and fieldnotes are full of numbers that only look like times
(£10.50, clause 4.12, 10.03.2026, "about eight seconds"). Every marker is shown to the uploader to
confirm, and a false marker misaligns a whole passage while a missing one only leaves a gap, so
finding is deliberately conservative.

Two steps, kept apart so that each can be tested on its own:
- `find_markers` and `find_day_headings` read the text and know nothing about the meeting;
- `anchor_markers` places what was found on the meeting's days.

Plain Python, no Django. Offsets are code points of the text as given.
"""

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

__all__ = [
    "Anchored",
    "DayHeading",
    "TimeMarker",
    "anchor_markers",
    "find_day_headings",
    "find_markers",
]


@dataclass(frozen=True)
class TimeMarker:
    start: int  # offset of the first character of the marker text
    end: int  # offset just after it; text[start:end] == self.text
    text: str
    kind: str  # "clock" (a time of day) or "elapsed" (time since a recorder was started)
    hour: int  # 0-23; 1-12 as written when meridiem_known is False; whole hours when elapsed
    minute: int
    second: int = 0
    day: int | None = None  # day of the meeting, from "Day 2, 09:15" or a "Day 2" heading above
    meridiem_known: bool = True  # False for "2.05" or "half two": am or pm is not written
    ambiguous: bool = False
    reason: str = ""  # why ambiguous, in plain English


@dataclass(frozen=True)
class DayHeading:
    start: int
    end: int
    text: str
    day: int | None  # from "Day N"
    weekday: int | None  # 0=Monday..6=Sunday when a weekday name is present
    date: tuple[int, int, int | None] | None  # (day of month, month, year or None)


@dataclass(frozen=True)
class Anchored:
    marker: TimeMarker
    moment: datetime | None  # aware, in the meeting's zone; None when it cannot be placed
    confident: bool  # False when we had to guess (am or pm, which day) or it falls outside
    note: str = ""  # plain English, for the uploader


# ---------------------------------------------------------------------------------------------
# Words

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_HOUR_WORD = "|".join(_NUMBER_WORDS)
_MINUTE_WORDS = {"five": 5, "ten": 10, "quarter": 15, "twenty": 20, "twenty-five": 25, "half": 30}

_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "weds": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _alternatives(words) -> str:
    # Longest first, so that "tuesday" is tried before "tue".
    return "|".join(sorted(words, key=len, reverse=True))


# A number right after these is a measure, a price or a count: "2.50 hours", "10.30 each".
_UNITS = _words(
    """
    h hr hrs hour hours min mins minute minutes s sec secs second seconds days weeks months years
    % percent per pc x times points pts degrees
    m cm mm km metre metres meter meters mile miles g kg mg kilo kilos ml l litre litres
    p pence pound pounds quid dollars euros each
    ratio vote votes majority split win defeat draw scale odds
    """
)

# A number right after these is a clause, a version, a score or a price: "clause 4.12", "won 3:10".
_NOT_TIME_BEFORE = _words(
    """
    clause clauses section sections paragraph paragraphs para item items chapter chapters page pages
    figure fig table tables version ver v rule rules step steps part parts appendix no number
    ratio ratios odds score scored won lost beat drew verse verses
    cost costs price priced paid pay gbp usd eur
    """
)

# After a bare "ten" or "half ten", these words continue a sentence about a time ("at nine with a
# recap", "half ten on the dot"); a noun there ("at two nurses", "five to ten people") is a count.
_FOLLOWS_A_TIME = _words(
    """
    a an and as at after before but by during everyone everybody exactly for he i in it just near
    nearly on precisely prompt promptly sharp she so that the then there they this till until we
    when where while with you
    """
)

# ---------------------------------------------------------------------------------------------
# Patterns. One scan of the text with `_MARKER`; the small patterns below only look at a few
# characters around each candidate.

_MERIDIEM = r"[ap]m\b|[ap]\.m\b\.?"
_DAYPART = r"in[ \t]+the[ \t]+(?:morning|afternoon|evening)\b"

_MARKER = re.compile(
    rf"""
    # Every marker starts with a digit, a bracket or one of these letters at the start of a word.
    # Checking that first lets the scan skip most positions quickly (about four times faster).
    (?= [\[(\d] | \b[qhftosenm] )
    (?:
    # Elapsed time on a recorder, always in brackets: [00:12:31], [12:31] (minutes), (00:12:31).
    (?P<elapsed>
        \[ (?: (?P<el_h>\d{{1,2}}) : (?P<el_m>\d{{2}}) | (?P<el_mm>\d{{1,3}}) )
        : (?P<el_s>\d{{2}}) \]
      | \( (?P<elp_h>\d{{1,2}}) : (?P<elp_m>\d{{2}}) : (?P<elp_s>\d{{2}}) \)
    )
    # A time with am or pm: 2pm, 2 pm, 10.42am, 2:05 p.m.
  | (?P<ampm>
        (?<![\w.:/£$€¥#]) (?P<ap_h>\d{{1,2}}) (?: [.:] (?P<ap_m>\d{{2}}) )?
        [ \t]? (?P<ap_mer>{_MERIDIEM})
    )
    # 10:42, 09:34, 14.05, 10:42:15. Whether a bare "10.42" is a time depends on its context.
  | (?P<clock>
        (?<![\w.:/£$€¥#]) (?P<c_h>\d{{1,2}}) (?P<c_sep>[.:]) (?P<c_m>\d{{2}})
        (?: : (?P<c_s>\d{{2}}) )? (?![\w%£$€]) (?![.,:/]\d)
    )
    # noon, 12 noon, twelve noon, midday, midnight
  | (?P<noon>
        (?P<noon_twelve> (?: (?<![\w.:])12 | \btwelve ) [ \t]+ )?
        \b (?P<noon_word>noon|midday|midnight) \b
    )
    # quarter past ten, twenty to two, half past 2, twenty-five to four in the afternoon
  | (?P<past_to>
        \b (?P<pt_min>quarter|half|twenty[ -]five|twenty|ten|five) [ \t]+ (?P<pt_dir>past|to) [ \t]+
        (?P<pt_hour>{_HOUR_WORD}|1[0-2]|[1-9]) \b (?![.:]\d)
        (?: [ \t]+ (?P<pt_mer>{_MERIDIEM}|{_DAYPART}) )?
    )
    # The British "half eleven", which means 11:30
  | (?P<half>
        \b half [ \t-]+ (?P<hf_hour>{_HOUR_WORD}) \b
        (?: [ \t]+ (?P<hf_mer>{_MERIDIEM}|{_DAYPART}) )?
    )
    # An hour with "o'clock" or a part of the day: "ten o'clock", "2 o'clock", "ten in the morning"
  | (?P<hour>
        \b (?P<hr_hour>{_HOUR_WORD}|1[0-2]|[1-9]) \b
        (?: (?P<hr_oclock> [ \t]* o['’]?[ \t]?clock \b )
            (?: [ \t]+ (?P<hr_mer>{_MERIDIEM}|{_DAYPART}) )?
          | [ \t]+ (?P<hr_part>{_MERIDIEM}|{_DAYPART})
        )
    )
    # A bare hour word is a time only after "at", "by", "about", "just after"... ("at nine with a
    # recap"). These fixed-width look-behinds only pre-filter; `_read_bare_hour` checks properly.
    # The look-ahead spares most words the look-behinds.
  | (?P<bare>
        (?= (?:{_HOUR_WORD}) \b )
        (?: (?<=\bat[ ]) | (?<=\bby[ ]) | (?<=until[ ]) | (?<=till[ ]) | (?<=after[ ])
          | (?<=before[ ]) | (?<=about[ ]) | (?<=around[ ]) | (?<=roughly[ ])
          | (?<=approximately[ ]) )
        (?P<bare_hour>{_HOUR_WORD}) \b
    )
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)

_DAY_NUMBER = r"\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten"

# "Day 2, 09:15": the day belongs to the marker.
_DAY_BEFORE = re.compile(rf"\bday[ \t]+(?P<n>{_DAY_NUMBER})[ \t]*[,:–—-]?[ \t]*\Z", re.IGNORECASE)
# "at 14:20 on day one"
_DAY_AFTER = re.compile(rf",?[ \t]+on[ \t]+day[ \t]+(?P<n>{_DAY_NUMBER})\b", re.IGNORECASE)

# "14:20 yesterday", "yesterday's 10:12 question": a look back to another day, not the time of
# the passage it sits in. Placing it on the current day would be wrong, so it is not a marker.
_OTHER_DAY_AFTER = re.compile(
    r"[ \t,]*(?:yesterday|tomorrow|last[ \t]+night|the[ \t]+(?:day|night)[ \t]+before"
    r"|the[ \t]+(?:previous|next|following)[ \t]+day)\b",
    re.IGNORECASE,
)
_OTHER_DAY_BEFORE = re.compile(
    r"\b(?:yesterday|tomorrow)(?:['’]s)?[ \t]+"
    r"(?:(?:at|about|around|by|from|until|till|just[ \t]+(?:after|before))[ \t]+)?\Z",
    re.IGNORECASE,
)

# Words that make a digit time certain: "at 10.42", "around 2.05", "from 14.05".
_DIGIT_PREFIX = _words(
    "at around about by until till from since after before approximately approx circa roughly"
)
# Words that let "eleven" stand for a time. "about" and "around" alone leave room for a count.
_WORD_PREFIX = re.compile(
    r"\b(?P<phrase>(?:at|by|until|till|(?:just|shortly)[ \t]+(?:after|before)|about|around"
    r"|roughly|approximately)(?:[ \t]+(?:about|around|roughly|approximately|just[ \t]+after"
    r"|just[ \t]+before))?)[ \t]+\Z",
    re.IGNORECASE,
)
# "counted to about eight", "up to about ten": a count.
_COUNTING = re.compile(r"\bto[ \t]+(?:about|around|roughly|approximately)[ \t]+\Z", re.IGNORECASE)

# "14.05–14.45", "10.30 to 11.00": both ends of a range are times.
_RANGE_AFTER = re.compile(r"[ \t]*(?:[-–—]|to\b)[ \t]*\d{1,2}[.:]\d{2}(?![\d.])", re.IGNORECASE)
_RANGE_BEFORE = re.compile(r"(?<![\d.])\d{1,2}[.:]\d{2}[ \t]*(?:[-–—]|\bto)[ \t]*\Z", re.IGNORECASE)

_NEXT_WORD = re.compile(r"[ \t]*(?P<word>[^\W\d_]+|%)")
_NEXT_CHARACTER = re.compile(r"[ \t]*(?P<character>\S?)")

# Reported speech and bracketed comments: a time inside them is something someone said, or an
# observer's cross-reference ("[AH: it matched what I noted at 09:30]"), not the time of the note.
_QUOTATION = re.compile(r"\"[^\"\n]*\"|“[^“”\n]*”")
_BRACKETS = re.compile(r"\[[^\[\]\n]*\]")

# ---------------------------------------------------------------------------------------------
# Day headings

_HEADING_CANDIDATE = re.compile(
    r"^[ \t]*(?=day\b|mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
    r"|\d)[^\n]*",
    re.IGNORECASE | re.MULTILINE,
)
_HEADING_DAY = re.compile(rf"day[ \t]+(?P<n>{_DAY_NUMBER})\b", re.IGNORECASE)
_HEADING_SEPARATOR = re.compile(r"[ \t]*(?:[,:;(–—-]|\.(?=\s|$))[ \t]*")
_CALENDAR = re.compile(
    rf"""
    (?: (?P<weekday>{_alternatives(_WEEKDAYS)}) \b \.? ,? [ \t]* )?
    (?P<date>
        (?P<d1>\d{{1,2}}) (?:st|nd|rd|th)? [ \t]+ (?:of[ \t]+)?
            (?P<m1>{_alternatives(_MONTHS)}) \b \.?
            (?: ,? [ \t]+ (?P<y1>\d{{4}}) \b )?
      | (?P<m2>{_alternatives(_MONTHS)}) \b \.? [ \t]+ (?P<d2>\d{{1,2}}) (?:st|nd|rd|th)? \b
            (?: ,? [ \t]+ (?P<y2>\d{{4}}) \b )?
      | (?P<d3>\d{{1,2}}) (?P<sep3>[/.]) (?P<m3>\d{{1,2}}) (?P=sep3) (?P<y3>\d{{4}}|\d{{2}}) \b
      | (?P<y4>\d{{4}}) - (?P<m4>\d{{2}}) - (?P<d4>\d{{2}}) \b
    )?
    (?: [ \t]* (?:morning|afternoon|evening) \b )?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_LONGEST_HEADING = 100  # characters; a longer line is prose, even if it starts with "Day 2,"

# A heading such as "Day two – recorder restarted at 09:00" says when elapsed times count from.
_RECORDER_START = re.compile(r"\b(?:recorder|recording|(?:re)?start(?:ed|s)?)\b", re.IGNORECASE)


def find_day_headings(text: str) -> list[DayHeading]:
    """Lines that name a day of the meeting: "Day 2", "Day two – Wed 11 March", "Tuesday"."""
    headings = []
    for match in _HEADING_CANDIDATE.finditer(text):
        line = match.group().strip()
        if not line or len(line) > _LONGEST_HEADING:
            continue
        parsed = _parse_heading(line)
        if parsed is not None:
            start = match.start() + match.group().index(line[0])
            headings.append(DayHeading(start, start + len(line), line, *parsed))
    return headings


_Date = tuple[int, int, int | None]


def _parse_heading(line: str) -> tuple[int | None, int | None, _Date | None] | None:
    """(day, weekday, date) when the line is a day heading."""
    day_match = _HEADING_DAY.match(line)
    if day_match:
        rest = line[day_match.end() :]
        if rest.strip():
            separator = _HEADING_SEPARATOR.match(rest)
            if not separator:
                return None  # "Day 2 was quieter": prose
            rest = rest[separator.end() :]
        weekday, date, _ = _read_calendar(rest)
        return _number(day_match["n"]), weekday, date

    weekday, date, length = _read_calendar(line)
    if weekday is None and date is None:
        return None
    rest = line[length:]
    if rest.strip():
        if not _HEADING_SEPARATOR.match(rest):
            return None  # "Wednesday was quieter": prose
        if date is None and len(line[:length].strip(" .,")) < len("monday"):
            return None  # "Sat, then stood up": an abbreviated weekday needs a date to be one
    return None, weekday, date


def _read_calendar(text: str) -> tuple[int | None, _Date | None, int]:
    """(weekday, date, characters used) from the start of `text`."""
    match = _CALENDAR.match(text)
    weekday = _WEEKDAYS[match["weekday"].lower()] if match["weekday"] else None
    date = None
    if match["date"]:
        if match["d1"]:
            day, month, year = match["d1"], _MONTHS[match["m1"].lower()], match["y1"]
        elif match["d2"]:
            day, month, year = match["d2"], _MONTHS[match["m2"].lower()], match["y2"]
        elif match["d3"]:
            day, month, year = match["d3"], match["m3"], match["y3"]
        else:
            day, month, year = match["d4"], match["m4"], match["y4"]
        day, month = int(day), int(month)
        year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
        if not (1 <= day <= 31 and 1 <= month <= 12):
            return weekday, None, match.start("date")  # "45.13.2026" is no date
        date = (day, month, year)
    return weekday, date, match.end()


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


# ---------------------------------------------------------------------------------------------
# Finding markers


def find_markers(text: str) -> list[TimeMarker]:
    """Every time marker in `text`, sorted by offset and not overlapping.

    A marker below a "Day N" heading carries that day until the next heading.
    """
    scan = _Scan(text)
    headings = find_day_headings(text)
    heading_starts = [heading.start for heading in headings]
    markers: list[TimeMarker] = []
    for match in _marker_matches(text):
        marker = _read_marker(match, scan)
        if marker is None or (markers and marker.start < markers[-1].end):
            continue
        if marker.day is None:
            index = bisect_right(heading_starts, marker.start) - 1
            if index >= 0 and headings[index].day is not None:
                marker = replace(marker, day=headings[index].day)
        markers.append(marker)
    return markers


# Where a marker can start: a digit, a bracket, or one of the few words a spelled-out time begins
# with. Trying `_MARKER` only at these places gives exactly the matches of `_MARKER.finditer`, but
# spares the engine the alternatives at every other word (the whole scan is about a third faster).
_CANDIDATE = re.compile(
    rf"[\[(\d]|\b(?:{_HOUR_WORD}|twenty|quarter|half|noon|midday|midnight)", re.IGNORECASE
)


def _marker_matches(text: str):
    """The matches `_MARKER.finditer(text)` would give: leftmost first, not overlapping."""
    resume = 0
    for candidate in _CANDIDATE.finditer(text):
        start = candidate.start()
        if start < resume:
            continue
        match = _MARKER.match(text, start)
        if match:
            yield match
            resume = max(match.end(), start + 1)


class _Scan:
    """The text being searched, with the context checks that look around a candidate."""

    def __init__(self, text: str):
        self.text = text
        self._asides: list[list[tuple[int, int]]] | None = None

    def before(self, start: int, width: int = 40) -> str:
        return self.text[max(0, start - width) : start]

    def at_line_start(self, start: int) -> bool:
        # Only a few characters are looked at, so that a text without line breaks stays fast.
        line_start = self.text.rfind("\n", max(0, start - 8), start) + 1
        if line_start == 0 and start > 8:
            return False
        return self.text[line_start:start].strip(" \t-*•–") == ""

    def unit_follows(self, end: int) -> bool:
        # Units are written in lower case; "09:30 Points raised" starts a sentence.
        match = _NEXT_WORD.match(self.text, end)
        return bool(match) and match["word"] in _UNITS

    def reads_on(self, end: int) -> bool:
        """Whether what follows a spelled-out time reads like the rest of a sentence about a time.

        "Ten to ten, Mark objected" and "at half nine on the dot" do; "five to ten people" and
        "at two nurses" do not.
        """
        text = self.text
        if end < len(text) and text[end] in "-‐" and text[end + 1 : end + 2].isalpha():
            return False  # "ten-minute"
        following = _NEXT_CHARACTER.match(text, end)["character"]
        if not following.isalnum():
            return True  # end of line or punctuation
        if following.isdigit():
            return False
        word = _NEXT_WORD.match(text, end)["word"]
        return word[0].isupper() or word.lower() in _FOLLOWS_A_TIME

    def words_before(self, start: int) -> list[str]:
        """The two words before `start` on its line, lower case, if a space separates them."""
        before = self.text[max(0, start - 30) : start].rpartition("\n")[2]
        if not before[-1:].isspace():
            return []
        return [word.strip("(.#").lower() for word in before.split()[-2:]]

    def not_a_time_before(self, start: int) -> bool:
        words = self.words_before(start)
        if words and words[-1] == "of":
            words.pop()  # "a ratio of 3:20"
        return bool(words) and words[-1] in _NOT_TIME_BEFORE

    def certain_before(self, start: int) -> bool:
        words = self.words_before(start)
        if words and words[-1] in _DIGIT_PREFIX:
            return True
        return self.before(start, 2).endswith("~")

    def in_range(self, start: int, end: int) -> bool:
        if _RANGE_AFTER.match(self.text, end):
            return True
        # The cheap test first: most candidates are not preceded by a dash or "to".
        before = self.before(start).rstrip()
        return before.lower().endswith(("-", "–", "—", "to")) and bool(_RANGE_BEFORE.search(before))

    def day_before(self, start: int) -> tuple[int, int] | None:
        before = self.before(start, 20)
        if "day" not in before.lower():
            return None
        match = _DAY_BEFORE.search(before)
        if not match:
            return None
        return start - (len(before) - match.start()), _number(match["n"])

    def day_after(self, end: int) -> int | None:
        match = _DAY_AFTER.match(self.text, end)
        return _number(match["n"]) if match else None

    def about_another_day(self, start: int, end: int) -> bool:
        if _OTHER_DAY_AFTER.match(self.text, end):
            return True
        before = self.before(start)
        lowered = before.lower()
        return ("yesterday" in lowered or "tomorrow" in lowered) and bool(
            _OTHER_DAY_BEFORE.search(before)
        )

    def in_aside(self, start: int, end: int) -> bool:
        if self._asides is None:
            self._asides = [
                [match.span() for match in _QUOTATION.finditer(self.text)],
                [match.span() for match in _BRACKETS.finditer(self.text)],
            ]
        for spans in self._asides:
            index = bisect_right(spans, (start, len(self.text))) - 1
            if index < 0:
                continue
            aside = spans[index]
            # An elapsed time is in brackets of its own; it is not inside a comment.
            if aside[0] <= start and end <= aside[1] and aside != (start, end):
                return True
        return False


@dataclass
class _Reading:
    """What one alternative of `_MARKER` read, before the checks common to all of them."""

    start: int
    end: int
    hour: int
    minute: int
    second: int = 0
    kind: str = "clock"
    meridiem_known: bool = True
    ambiguous: bool = False
    reason: str = ""


def _read_marker(match: re.Match, scan: _Scan) -> TimeMarker | None:
    reading = _READERS[match.lastgroup](match, scan)
    if reading is None:
        return None
    if scan.in_aside(reading.start, reading.end):
        return None
    if scan.about_another_day(reading.start, reading.end):
        return None
    start, day = reading.start, None
    if reading.kind == "clock":
        day_before = scan.day_before(reading.start)
        if day_before:
            start, day = day_before
        else:
            day = scan.day_after(reading.end)
    return TimeMarker(
        start=start,
        end=reading.end,
        text=scan.text[start : reading.end],
        kind=reading.kind,
        hour=reading.hour,
        minute=reading.minute,
        second=reading.second,
        day=day,
        meridiem_known=reading.meridiem_known,
        ambiguous=reading.ambiguous,
        reason=reading.reason,
    )


def _read_elapsed(match: re.Match, scan: _Scan) -> _Reading | None:
    if match["el_mm"] is not None:
        hours, minutes = divmod(int(match["el_mm"]), 60)
        seconds = int(match["el_s"])
    elif match["el_h"] is not None:
        hours, minutes, seconds = int(match["el_h"]), int(match["el_m"]), int(match["el_s"])
    else:
        hours, minutes, seconds = int(match["elp_h"]), int(match["elp_m"]), int(match["elp_s"])
    if minutes > 59 or seconds > 59:
        return None
    return _Reading(*match.span(), hours, minutes, seconds, kind="elapsed")


def _read_ampm(match: re.Match, scan: _Scan) -> _Reading | None:
    hour, minute = int(match["ap_h"]), int(match["ap_m"] or 0)
    meridiem = match["ap_mer"][0].lower()
    if minute > 59:
        return None
    if 1 <= hour <= 12:
        hour = _with_meridiem(hour, meridiem)
    elif not (13 <= hour <= 23 and meridiem == "p" and match["ap_m"]):  # "14:00pm" is 14:00
        return None
    return _Reading(*match.span(), hour, minute)


def _read_clock(match: re.Match, scan: _Scan) -> _Reading | None:
    hour, minute, second = int(match["c_h"]), int(match["c_m"]), int(match["c_s"] or 0)
    start, end = match.span()
    if hour > 23 or minute > 59 or second > 59:
        return None
    if scan.unit_follows(end) or scan.not_a_time_before(start):
        return None
    # "09:34" and "14.05" are 24-hour times; "2:05" or "2.05" leaves am or pm open.
    meridiem_known = not (len(match["c_h"]) == 1 and hour >= 1)
    if match["c_sep"] == ":":
        return _Reading(start, end, hour, minute, second, meridiem_known=meridiem_known)
    # A dot is also a decimal point: "14.05" is a time at the start of an entry, after "at",
    # in a range or after "Day 2,", and otherwise only possibly one.
    certain = (
        scan.at_line_start(start)
        or scan.certain_before(start)
        or scan.in_range(start, end)
        or scan.day_before(start)
    )
    return _Reading(
        start,
        end,
        hour,
        minute,
        second,
        meridiem_known=meridiem_known,
        ambiguous=not certain,
        reason="" if certain else "could be a decimal number",
    )


def _read_noon(match: re.Match, scan: _Scan) -> _Reading | None:
    start, end = match.span()
    # "the midnight oil", "a midday meal": only a time when it reads as one.
    if not (match["noon_twelve"] or _WORD_PREFIX.search(scan.before(start)) or scan.reads_on(end)):
        return None
    hour = 0 if match["noon_word"].lower() == "midnight" else 12
    return _Reading(start, end, hour, 0)


def _read_past_to(match: re.Match, scan: _Scan) -> _Reading | None:
    start, end = match.span()
    minutes = _MINUTE_WORDS[match["pt_min"].lower().replace(" ", "-")]
    hour = _number(match["pt_hour"])
    if match["pt_dir"].lower() == "to":
        if minutes == 30:
            return None  # "half to" is not a time
        minutes, hour = 60 - minutes, hour - 1 or 12
        # "quarter to" is always a time; "five to ten" may be a count of people.
        if minutes != 45 and not match["pt_mer"] and not scan.reads_on(end):
            return None
    if scan.unit_follows(end):
        return None
    return _spelled(start, end, hour, minutes, match["pt_mer"])


def _read_half(match: re.Match, scan: _Scan) -> _Reading | None:
    start, end = match.span()
    if not match["hf_mer"] and not scan.reads_on(end):
        return None
    return _spelled(start, end, _number(match["hf_hour"]), 30, match["hf_mer"])


def _read_hour(match: re.Match, scan: _Scan) -> _Reading | None:
    start, end = match.span()
    hour = _number(match["hr_hour"])
    part = match["hr_part"]
    # "one in the morning" is too often "only one in the morning session".
    if hour == 1 and part and part.lower().startswith("in"):
        return None
    if scan.unit_follows(end):
        return None
    return _spelled(start, end, hour, 0, match["hr_mer"] or part)


def _read_bare_hour(match: re.Match, scan: _Scan) -> _Reading | None:
    # "one" is left out: "at one point", "about one in three".
    hour = _number(match["bare_hour"])
    if hour == 1:
        return None
    start, end = match.span()
    before = scan.before(start)
    prefix = _WORD_PREFIX.search(before)
    if not prefix or _COUNTING.search(before) or not scan.reads_on(end):
        return None
    reading = _spelled(start, end, hour, 0, None)
    if prefix["phrase"].split()[0].lower() in {"about", "around", "roughly", "approximately"}:
        reading.ambiguous = True
        reading.reason = "could be a number rather than a time"
    return reading


def _spelled(start: int, end: int, hour: int, minute: int, meridiem: str | None) -> _Reading:
    if not meridiem:
        return _Reading(start, end, hour, minute, meridiem_known=False)
    meridiem = meridiem.lower()
    if meridiem.startswith("in"):
        meridiem = "a" if meridiem.endswith("morning") else "p"
    return _Reading(start, end, _with_meridiem(hour, meridiem[0]), minute)


def _with_meridiem(hour: int, meridiem: str) -> int:
    """A 1-12 hour with "a" or "p", as 0-23."""
    return hour % 12 + (12 if meridiem == "p" else 0)


_READERS = {
    "elapsed": _read_elapsed,
    "ampm": _read_ampm,
    "clock": _read_clock,
    "noon": _read_noon,
    "past_to": _read_past_to,
    "half": _read_half,
    "hour": _read_hour,
    "bare": _read_bare_hour,
}

# ---------------------------------------------------------------------------------------------
# Anchoring

_HOUR = timedelta(hours=1)
_DAY_JUMP = timedelta(hours=3)  # a time this much earlier than the one before starts a new day
_LONGEST_DAY = timedelta(hours=10)  # how long a day before the last is taken to run, if not given


def anchor_markers(
    markers: Sequence[TimeMarker],
    *,
    day_starts: Sequence[datetime],
    meeting_end: datetime,
    headings: Sequence[DayHeading] = (),
    day_ends: Sequence[datetime] = (),
) -> list[Anchored]:
    """Place each marker on the meeting's clock.

    `day_starts[i]` is when day i+1 of the meeting starts, aware and in the meeting's zone.
    `day_ends`, when given, is when each day ends; otherwise a day before the last is taken to
    run ten hours, and the last day ends at `meeting_end`. Headings from `find_day_headings`
    let a "Wednesday 11 March" heading choose the day of the markers below it.
    """
    meeting = _Meeting(day_starts, meeting_end, day_ends)
    headings = sorted(headings, key=lambda heading: heading.start)
    placer = _Placer(meeting)
    next_heading = 0
    anchored = []
    for marker in sorted(markers, key=lambda marker: marker.start):
        while next_heading < len(headings) and headings[next_heading].start <= marker.start:
            placer.enter(headings[next_heading])
            next_heading += 1
        anchored.append(placer.place(marker))
    return anchored


class _Meeting:
    """The meeting's days, with arithmetic done in UTC so that clock changes cannot shift it."""

    def __init__(self, day_starts, meeting_end, day_ends):
        if not day_starts:
            raise ValueError("A meeting has at least one day.")
        for moment in (*day_starts, meeting_end, *day_ends):
            if moment.utcoffset() is None:
                raise ValueError("Meeting times must be aware datetimes.")
        self.day_starts = list(day_starts)
        self.day_count = len(day_starts)
        self.opens = _utc(day_starts[0]) - _HOUR
        self.closes = _utc(meeting_end) + _HOUR
        self.day_windows = []
        for index, start in enumerate(day_starts):
            if index < len(day_ends):
                end = _utc(day_ends[index])
            elif index == self.day_count - 1:
                end = _utc(meeting_end)
            else:
                end = min(_utc(start) + _LONGEST_DAY, _utc(day_starts[index + 1]) - _HOUR)
            self.day_windows.append((_utc(start) - _HOUR, end + _HOUR))

    def at(self, day: int, hour: int, minute: int, second: int) -> datetime:
        """The wall-clock time on that day's date, in that day's zone (DST-aware with zoneinfo)."""
        start = self.day_starts[day]
        return datetime(
            start.year, start.month, start.day, hour, minute, second, tzinfo=start.tzinfo
        )

    def within(self, day: int, moment: datetime) -> bool:
        low, high = self.day_windows[day]
        moment = _utc(moment)
        return self.opens <= moment <= self.closes and low <= moment <= high

    def day_of(self, heading: DayHeading, current: int) -> int | None:
        """The 0-based day a heading names, or None when it names no day of this meeting."""
        if heading.day is not None:
            return heading.day - 1
        if heading.date is not None:
            day_of_month, month, year = heading.date
            for index, start in enumerate(self.day_starts):
                if (start.day, start.month) == (day_of_month, month) and year in (None, start.year):
                    return index
            return None
        matching = [
            index
            for index, start in enumerate(self.day_starts)
            if start.weekday() == heading.weekday
        ]
        later = [i for i in matching if i >= current]
        return (later or matching or [None])[0]


@dataclass
class _Previous:
    moment: datetime
    day: int


class _Placer:
    """Walks the markers in text order, remembering the day and the last time placed."""

    def __init__(self, meeting: _Meeting):
        self.meeting = meeting
        self.heading_day: int | None = None  # day named by the latest heading, if any
        self.recorder_heading: DayHeading | None = None
        self.recorder_start: datetime | None = None
        self.sequence_day = 0
        self.previous: _Previous | None = None

    def enter(self, heading: DayHeading) -> None:
        self.heading_day = self.meeting.day_of(heading, self.sequence_day)
        if self.heading_day is not None and 0 <= self.heading_day < self.meeting.day_count:
            self.sequence_day = self.heading_day
        self.recorder_heading = heading if _RECORDER_START.search(heading.text) else None
        self.recorder_start = None

    def place(self, marker: TimeMarker) -> Anchored:
        meeting = self.meeting
        if marker.day is not None:
            day, by_sequence = marker.day - 1, False
        elif self.heading_day is not None:
            day, by_sequence = self.heading_day, False
        else:
            day, by_sequence = self.sequence_day, True
        if not 0 <= day < meeting.day_count:
            days = "day" if meeting.day_count == 1 else "days"
            note = f"The notes say day {day + 1}, but the meeting has {meeting.day_count} {days}."
            return Anchored(marker, None, False, note)

        notes = [_sentence(marker.reason)] if marker.ambiguous else []
        moment, guessed, meridiem_note = self._moment(marker, day)
        previous = self.previous
        if (
            by_sequence
            and not marker.ambiguous
            and previous is not None
            and previous.day == day
            and _utc(moment) < _utc(previous.moment) - _DAY_JUMP
            and day + 1 < meeting.day_count
        ):
            # "16:20" then "09:05": the notes have moved on to the next morning.
            day += 1
            moment, guessed, meridiem_note = self._moment(marker, day)
            notes.append(f"After {previous.moment:%H:%M}, so taken as day {day + 1}.")
            guessed = True
        if meridiem_note:
            notes.append(meridiem_note)
        if previous is not None and previous.day == day and _utc(moment) < _utc(previous.moment):
            notes.append("Earlier than the marker before it.")
            guessed = True
        inside = meeting.within(day, moment)
        if not inside:
            notes.append("Outside the meeting's hours.")

        # "Day two – recorder restarted at 09:00": elapsed times below count from that moment.
        heading = self.recorder_heading
        if heading and marker.kind == "clock" and heading.start <= marker.start < heading.end:
            self.recorder_start = moment
        # A doubtful or out-of-hours time must not steer the day or the order of those after it.
        if not marker.ambiguous and inside:
            self.previous = _Previous(moment, day)
            self.sequence_day = day
        confident = not (marker.ambiguous or guessed or not inside)
        return Anchored(marker, moment, confident, " ".join(notes))

    def _moment(self, marker: TimeMarker, day: int) -> tuple[datetime, bool, str]:
        """(moment, guessed, note) for the marker on that day."""
        meeting = self.meeting
        if marker.kind == "elapsed":
            # A recorder restarted each day counts from the time its heading gives, else from
            # the start of the day.
            origin = self.recorder_start or meeting.day_starts[day]
            elapsed = timedelta(hours=marker.hour, minutes=marker.minute, seconds=marker.second)
            return (_utc(origin) + elapsed).astimezone(origin.tzinfo), False, ""
        if marker.meridiem_known:
            return meeting.at(day, marker.hour, marker.minute, marker.second), False, ""

        readings = [
            meeting.at(day, hour, marker.minute, marker.second)
            for hour in (marker.hour % 12, marker.hour % 12 + 12)
        ]
        fitting = [moment for moment in readings if meeting.within(day, moment)]
        if len(fitting) == 1:
            chosen = fitting[0]
            other = readings[1] if chosen is readings[0] else readings[0]
            note = f"Assumed {_meridiem(chosen)}: {_twelve_hour(other)} is outside the meeting."
            return chosen, False, note
        if self.previous is not None and self.previous.day == day:
            reference, nearer = _utc(self.previous.moment), "the marker before it"
        else:
            reference, nearer = _utc(meeting.day_starts[day]), "the start of the day"
        chosen = min(readings, key=lambda moment: abs(_utc(moment) - reference))
        other = readings[1] if chosen is readings[0] else readings[0]
        if fitting:
            note = (
                f"Assumed {_meridiem(chosen)}: {_twelve_hour(other)} would also fit, "
                f"and this is nearer {nearer}."
            )
        else:
            note = (
                f"Neither {_twelve_hour(readings[0])} nor {_twelve_hour(readings[1])} "
                f"is within the meeting; assumed {_meridiem(chosen)}."
            )
        return chosen, True, note


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _meridiem(moment: datetime) -> str:
    return "am" if moment.hour < 12 else "pm"


def _twelve_hour(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {_meridiem(moment)}"


def _sentence(reason: str) -> str:
    return reason[:1].upper() + reason[1:] + "."
