"""Alignment: where each excerpt of a fieldnote falls on the meeting's clock.

Observers of one meeting write different texts, so their excerpts can only be compared by time.
A fieldnote's confirmed time markers (from `fieldnotes.timemarkers`) tie some offsets of its text to
moments; this module places every other offset from them, falling back to the agenda.

Rules, in the order they apply to an excerpt starting at offset x:

1. Trusted markers. Markers are sorted by offset. A marker whose moment is earlier than one written
   above it ("at 10:05 she had said…" in a 10:20 passage) is a look back, not the time of the
   passage, and must not fold the clock back. So only the longest chain of markers whose moments do
   not decrease with offset is kept (`trusted_markers`, O(m log m)); the others are ignored and
   reported. When several chains are equally long, the one keeping the earlier-written markers wins:
   of two markers that disagree, the later one that goes back in time is taken as the look back.
2. Exactly at, or after the last trusted marker: the marker's moment ("marker").
3. Between two trusted markers: with `mode="interpolate"` (the default) the moment is interpolated
   linearly by offset between them, in real elapsed time (UTC, so a clock change cannot bend it)
   and rounded to the nearest second ("interpolated"); with `mode="previous"`, the previous marker's
   moment ("marker"). There is no interpolation across a long gap: when the two markers fall on
   different calendar days in the meeting's zone `tz`, or more than `max_gap` apart (default three
   hours; exactly `max_gap` still interpolates), the previous marker's moment is used ("marker").
   Two-day meetings need nothing else: anchored markers carry full datetimes, so day two is simply
   later, and the night between two days is never interpolated over.
4. Before the first trusted marker, and in notes with no markers at all: the agenda item whose
   heading the excerpt sits under, at the item's start ("agenda"), else "untimed". The excerpt sits
   under the nearest heading at or before it (a heading line's first character counts as under it).
   A heading is a line of at most 120 characters (surrounding blanks aside) whose normalised words
   equal an item's normalised title or start with it, or equal the title's short form: the part
   before a colon or dash, as in "Table work" for "Table work: what would count as evidence?".
   Normalising case-folds, drops accents, apostrophes, punctuation and leading numbering ("3.",
   "3)", "Item 4:", "Agenda item 2b", "(b)", "iv."). The longest matching title wins; of items with
   the same title, the first one after the item the previous heading named (so a second "Break"
   heading names the second break), else the first. Headings after the first marker do not move
   excerpts: the markers are the better evidence.

`agenda_index` is the position in `agenda` (as passed, normally in time order) of the item whose
time span [starts_at, ends_at) holds the moment, the innermost one if items nest; for "agenda"
placements, the item itself. Moments are returned in `tz`.

Headings are found once per text, in one pass over its lines; placing n excerpts against m markers
and headings then costs O(n log m). Plain Python, no Django.
"""

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = [
    "MODES",
    "AgendaHeading",
    "Placement",
    "find_agenda_headings",
    "place_excerpts",
    "trusted_markers",
]

MODES = ("interpolate", "previous")

Marker = tuple[int, datetime]  # (offset in the text, aware moment)
AgendaEntry = tuple[str, datetime, datetime]  # (title, starts_at, ends_at)


@dataclass(frozen=True)
class Placement:
    moment: datetime | None  # aware, in the meeting's zone; None when untimed
    how: str  # "marker", "interpolated", "agenda" or "untimed"
    agenda_index: int | None


@dataclass(frozen=True)
class AgendaHeading:
    start: int  # offset of the heading's first character
    end: int  # offset just after its last one
    agenda_index: int


# ---------------------------------------------------------------------------------------------
# Markers

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"Moments must be aware datetimes; got {moment!r}.")
    return moment.astimezone(UTC)


def _microseconds(moment: datetime) -> int:
    return (_utc(moment) - _EPOCH) // _MICROSECOND


def trusted_markers(markers: Iterable[Marker]) -> tuple[list[Marker], list[Marker]]:
    """(kept, ignored), each sorted by offset: the longest chain of markers whose moments do not
    decrease with offset, and the rest. Of equally long chains, the one keeping earlier markers."""
    ordered = sorted(markers, key=lambda marker: (marker[0], _microseconds(marker[1])))
    times = [_microseconds(moment) for _, moment in ordered]
    # chain_from[i]: length of the longest non-decreasing chain that starts with marker i. Read
    # from the end, such a chain is non-increasing, so this is the usual patience scan on -time.
    chain_from = [0] * len(ordered)
    tails: list[int] = []  # tails[k]: least -time that ends a chain of k + 1 markers so far
    for i in range(len(ordered) - 1, -1, -1):
        position = bisect_right(tails, -times[i])
        chain_from[i] = position + 1
        if position == len(tails):
            tails.append(-times[i])
        else:
            tails[position] = -times[i]
    # Taking the first marker that still allows a full-length chain gives the chain with the
    # earliest markers; any marker with a longer chain_from would have made the chain longer.
    kept, ignored = [], []
    needed = max(chain_from, default=0)
    latest = None
    for i, marker in enumerate(ordered):
        if needed and chain_from[i] == needed and (latest is None or times[i] >= latest):
            kept.append(marker)
            latest = times[i]
            needed -= 1
        else:
            ignored.append(marker)
    return kept, ignored


# ---------------------------------------------------------------------------------------------
# Agenda headings

_LONGEST_HEADING = 120  # characters; a longer line is prose

_LINE = re.compile(rf"^[^\S\n]*(?P<line>[^\n]{{1,{_LONGEST_HEADING}}}?)[^\S\n]*$", re.MULTILINE)
_NUMBERING = re.compile(
    r"""
    ^ [^\w(]*
    (?:
        (?:agenda[ \t]+)? item [ \t]* (?: \d+[a-z]? | [a-z] | [ivx]{1,4} ) \b [.):]?
      | \( [ \t]* (?: \d+ | [a-z] | [ivx]{1,4} ) [ \t]* \)
      | (?: \d+(?:\.\d+)* | [a-z] | [ivx]{1,4} ) [.)] (?=\s|$)
      | \d+(?:\.\d+)* (?=\s|$)
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
_WORD = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['’‘`]")
_SHORT_FORM = re.compile(r"\s*(?::|\s[–—-]\s)")


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _words(text: str) -> tuple[str, ...]:
    text = _APOSTROPHES.sub("", _folded(text))
    numbering = _NUMBERING.match(text)
    if numbering:
        text = text[numbering.end() :]
    return tuple(_WORD.findall(text))


class _Titles:
    """The agenda's titles, looked up by the words a line starts with."""

    def __init__(self, titles: Sequence[str]):
        self.full: dict[tuple[str, ...], list[int]] = {}
        self.short: dict[tuple[str, ...], list[int]] = {}
        for index, title in enumerate(titles):
            words = _words(title)
            if not words:
                continue
            self.full.setdefault(words, []).append(index)
            head = _SHORT_FORM.split(title, maxsplit=1)
            short = _words(head[0]) if len(head) == 2 else ()
            if short and short != words:
                self.short.setdefault(short, []).append(index)
        self.lengths = sorted({len(words) for words in self.full}, reverse=True)

    def named(self, line: str) -> list[int]:
        """Items the line names, best first (all with the same title)."""
        words = _words(line)
        for length in self.lengths:
            if length <= len(words) and words[:length] in self.full:
                return self.full[words[:length]]
        return self.short.get(words, [])


def find_agenda_headings(text: str, titles: Sequence[str]) -> list[AgendaHeading]:
    """Lines of `text` that name an agenda item, in text order; `titles` in agenda order."""
    lookup = _Titles(titles)
    if not lookup.full:
        return []
    headings = []
    previous = -1
    for match in _LINE.finditer(text):
        named = lookup.named(match["line"])
        if not named:
            continue
        index = next((item for item in named if item > previous), named[0])
        headings.append(AgendaHeading(match.start("line"), match.end("line"), index))
        previous = index
    return headings


class _AgendaClock:
    """Which agenda item a moment falls in: the agenda cut at every start and end, each piece
    holding its innermost item (latest start, then earliest end), so a lookup is one bisection."""

    def __init__(self, agenda: Sequence[AgendaEntry]):
        spans = [
            (_microseconds(start), _microseconds(end), index)
            for index, (_, start, end) in enumerate(agenda)
        ]
        spans = [span for span in spans if span[1] > span[0]]
        self.cuts = sorted({time for start, end, _ in spans for time in (start, end)})
        self.items: list[int | None] = []
        for left in self.cuts[:-1]:  # agendas are short: a few dozen items at most
            holding = [(start, -end, index) for start, end, index in spans if start <= left < end]
            self.items.append(max(holding)[2] if holding else None)

    def item_at(self, moment: datetime) -> int | None:
        piece = bisect_right(self.cuts, _microseconds(moment)) - 1
        return self.items[piece] if 0 <= piece < len(self.items) else None


# ---------------------------------------------------------------------------------------------
# Placing


def place_excerpts(
    offsets: Iterable[int],
    *,
    text: str,
    markers: Iterable[Marker],
    agenda: Sequence[AgendaEntry],
    tz: tzinfo,
    mode: str = "interpolate",
    max_gap: timedelta = timedelta(hours=3),
) -> list[Placement]:
    """One Placement per offset, in the order given. See the module's docstring for the rules."""
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; choose one of {MODES}.")
    kept, _ = trusted_markers(markers)
    marker_offsets = [offset for offset, _ in kept]
    moments = [_utc(moment) for _, moment in kept]
    days = [moment.astimezone(tz).date() for moment in moments]
    clock = _AgendaClock(agenda)
    headings = find_agenda_headings(text, [title for title, _, _ in agenda])
    heading_starts = [heading.start for heading in headings]

    placements = []
    for offset in offsets:
        i = bisect_right(marker_offsets, offset) - 1
        if i < 0:
            under = bisect_right(heading_starts, offset) - 1
            if under < 0:
                placements.append(Placement(None, "untimed", None))
            else:
                index = headings[under].agenda_index
                placements.append(Placement(agenda[index][1].astimezone(tz), "agenda", index))
            continue
        moment, how = moments[i], "marker"
        if (
            mode == "interpolate"
            and offset > marker_offsets[i]
            and i + 1 < len(kept)
            and days[i] == days[i + 1]
            and moments[i + 1] - moments[i] <= max_gap
        ):
            moment = _between(
                moments[i],
                moments[i + 1],
                offset - marker_offsets[i],
                marker_offsets[i + 1] - offset,
            )
            how = "interpolated"
        placements.append(Placement(moment.astimezone(tz), how, clock.item_at(moment)))
    return placements


def _between(earlier: datetime, later: datetime, after: int, before: int) -> datetime:
    """The moment `after / (after + before)` of the way from `earlier` to `later`, to the nearest
    second of elapsed time (half a second rounds up), never beyond `later`."""
    span = (later - earlier) // _MICROSECOND
    numerator, denominator = span * after, (after + before) * 1_000_000
    seconds = (numerator + denominator // 2) // denominator
    return earlier + min(timedelta(seconds=seconds), later - earlier)
