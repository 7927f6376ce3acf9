"""Triangulation: what each observer of one meeting recorded, placed on the meeting's clock.

The Django side of `meetings.alignment` and `meetings.windows`. `triangulate` reads one meeting in
a fixed number of queries whatever the number of excerpts (the agenda, the latest version of every
fieldnote with its observer, their confirmed time markers, the code tree, the visible excerpts'
codes and the coders), places every excerpt with `place_excerpts` in the current time zone, and
returns plain data: one lane per observer with its placed marks and its untimed excerpts, the day
stretches of the timeline, and a codes-by-observers matrix. `compare_windows` adds, for a window
size, the codes seen by one observer only and Krippendorff's alpha per code across observers.
`layout_timeline` turns a result into SVG geometry for the comparison page.

Every excerpt comes through `Excerpt.objects.visible_to`, so a blind coding round hides the same
work here as on every other page.
"""

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from django.contrib.auth import get_user_model
from django.db.models import prefetch_related_objects
from django.utils import timezone

from coding.analysis import coding_url, share_text, union_length
from coding.models import Excerpt, ExcerptCode
from fieldnotes.models import TimeMarker

from .alignment import MODES, find_agenda_headings, place_excerpts, trusted_markers
from .windows import (
    WINDOW_MINUTES,
    AlphaResult,
    Window,
    agenda_windows,
    covering_observers,
    observations,
    observer_alpha,
    seen_by_one,
    time_windows,
)

WINDOW_CHOICES = (*(str(minutes) for minutes in WINDOW_MINUTES), "agenda")
DEFAULT_WINDOW = "10"
HOW = {
    "marker": "at the time marker before it",
    "interpolated": "between two time markers",
    "agenda": "at the start of the agenda item it is written under",
    "untimed": "untimed",
}
# A day with no agenda and no time marker to say when it ended is drawn until this hour.
DEFAULT_DAY_END = time(17, 0)
# Stretches widened to take in a moment outside the meeting's hours snap to quarter hours.
SNAP = timedelta(minutes=15)
FIRST_WORDS = 12


def _ints(values) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(value) for value in values if str(value).isdecimal()))


@dataclass(frozen=True)
class Options:
    """What the comparison shows: codes and coders to keep (empty: all), window size, placing."""

    codes: tuple[int, ...] = ()
    coders: tuple[int, ...] = ()
    window: str = DEFAULT_WINDOW
    mode: str = "interpolate"

    @classmethod
    def from_query(cls, query) -> "Options":
        """From GET parameters; values that make no sense fall back to the defaults."""
        window = query.get("window", DEFAULT_WINDOW)
        mode = query.get("mode", "interpolate")
        return cls(
            codes=_ints(query.getlist("code")),
            coders=_ints(query.getlist("coder")),
            window=window if window in WINDOW_CHOICES else DEFAULT_WINDOW,
            mode=mode if mode in MODES else "interpolate",
        )

    @property
    def minutes(self) -> int | None:
        return None if self.window == "agenda" else int(self.window)

    def query(self, *, codes=True) -> list[tuple[str, str]]:
        """The options as GET parameters (defaults left out), for links that keep them."""
        items = [("code", str(pk)) for pk in self.codes] if codes else []
        items += [("coder", str(pk)) for pk in self.coders]
        if self.window != DEFAULT_WINDOW:
            items.append(("window", self.window))
        if self.mode != "interpolate":
            items.append(("mode", self.mode))
        return items


@dataclass(frozen=True)
class CodeInfo:
    id: int
    name: str
    colour: str
    depth: int
    codable: bool
    archived: bool
    folder: str = ""  # the parent code's name, under which the matrix groups it


@dataclass
class Mark:
    """One excerpt of one observer's notes, placed on the meeting's clock."""

    excerpt_id: int
    fieldnote_id: int
    observer_id: int
    coder_id: int
    coder: str
    start: int
    end: int
    codes: list[int]
    text: str
    url: str
    fieldnote_title: str = ""
    code_infos: list["CodeInfo"] = field(default_factory=list)  # the codes, for labels
    moment: datetime | None = None
    how: str = "untimed"
    agenda_index: int | None = None
    when: str = "untimed"  # the moment as the page shows it: "10:42" or "Day 2 09:48"

    @property
    def first_words(self) -> str:
        words = self.text.split()
        cut = " ".join(words[:FIRST_WORDS])
        if len(cut) > 90:
            cut = cut[:89].rstrip()
            return cut + "…"
        return cut + ("…" if len(words) > FIRST_WORDS else "")

    @property
    def how_words(self) -> str:
        return HOW[self.how]


@dataclass
class Lane:
    observer_id: int
    name: str
    fieldnotes: list[tuple[int, str]]  # (id, title) of the latest versions
    length: int  # characters of text in all their fieldnotes
    # Characters in the fieldnotes that carry at least one excerpt of the chosen coders: only
    # those say anything about codes; text nobody has coded yet is neither present nor absent.
    coded_length: int = 0
    marks: list[Mark] = field(default_factory=list)  # timed, by moment
    untimed: list[Mark] = field(default_factory=list)  # in text order
    # The first and last moment their coded notes reach.
    coverage: tuple[datetime, datetime] | None = None

    @property
    def coded(self) -> bool:
        return self.coded_length > 0

    @property
    def first_when(self) -> str:
        return self.marks[0].when if self.marks else ""

    @property
    def last_when(self) -> str:
        return self.marks[-1].when if self.marks else ""

    @property
    def excerpts(self) -> list[Mark]:
        return self.marks + self.untimed


@dataclass(frozen=True)
class Stretch:
    """One day of the timeline, from its first to its last moment; the night is left out."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True)
class AgendaSpan:
    index: int
    title: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Cell:
    count: int
    covered: int  # characters coded with the code (each counted once)
    length: int  # characters of text they are a share of

    @property
    def share(self) -> float | None:
        return self.covered / self.length if self.length else None

    @property
    def share_text(self) -> str:
        return share_text(self.covered, self.length)


@dataclass
class MatrixRow:
    code: CodeInfo
    cells: list[Cell]  # one per lane, in lane order
    total: Cell


@dataclass
class Triangulation:
    options: Options
    tz: tzinfo
    stretches: list[Stretch]
    agenda: list[AgendaSpan]
    lanes: list[Lane]
    codes: dict[int, CodeInfo]  # every code of the codebook, in tree order
    shown_codes: list[CodeInfo]  # the matrix's rows
    matrix: list[MatrixRow]
    totals: list[Cell]  # per lane: excerpts of any shown code, and the text they cover
    total: Cell
    coders: list[tuple[int, str]]  # whose excerpts the user may see in this meeting
    days: int  # number of stretches; times read "Day 2 09:48" when above one

    @property
    def timed(self) -> int:
        return sum(len(lane.marks) for lane in self.lanes)

    @property
    def untimed(self) -> int:
        return sum(len(lane.untimed) for lane in self.lanes)

    def periods(self) -> list[tuple[datetime, datetime]]:
        return [(stretch.start, stretch.end) for stretch in self.stretches]


# ---------------------------------------------------------------------------------------------
# Reading and placing


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def triangulate(*, meeting, user, options: Options | None = None) -> Triangulation:
    """The meeting as the comparison page shows it to `user`. `meeting.project` must carry the
    user's role (as `projects.access.get_meeting_for` leaves it)."""
    options = options or Options()
    project = meeting.project
    tz = timezone.get_current_timezone()

    prefetch_related_objects([meeting], "agenda_items")  # day_starts() reads them too
    items = list(meeting.agenda_items.all())
    agenda = [(item.title, item.starts_at, item.ends_at) for item in items]

    fieldnotes = list(
        meeting.fieldnotes.latest_versions()
        .select_related("observer")
        .order_by("observer__name", "observer_id", "created_at", "pk")
    )
    markers: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    found = TimeMarker.objects.filter(
        fieldnote__meeting=meeting,
        fieldnote__next_version__isnull=True,
        confirmed=True,
        moment__isnull=False,
    ).values_list("fieldnote_id", "offset", "moment")
    for fieldnote_id, offset, moment in found:
        markers[fieldnote_id].append((offset, moment))

    tree = project.codebook.tree(include_archived=True)
    names = {code.pk: code.name for code in tree}
    codes = {
        code.pk: CodeInfo(
            code.pk,
            code.name,
            code.colour,
            code.depth,
            code.is_codable,
            code.archived,
            names.get(code.parent_id, ""),
        )
        for code in tree
    }

    visible = Excerpt.objects.visible_to(user, project).filter(
        fieldnote__meeting=meeting, fieldnote__next_version__isnull=True
    )
    chosen = visible.filter(coder_id__in=options.coders) if options.coders else visible
    # Every code of the chosen coders' excerpts, not only the chosen codes: a fieldnote they
    # coded without a chosen code says "absent", one nobody coded says nothing.
    links = ExcerptCode.objects.filter(excerpt__in=chosen.values("pk"))
    rows: dict[int, tuple] = {}
    codes_of: dict[int, list[int]] = defaultdict(list)
    coded_notes: set[int] = set()
    for excerpt_id, code_id, fieldnote_id, start, end, coder_id in links.values_list(
        "excerpt_id",
        "code_id",
        "excerpt__fieldnote_id",
        "excerpt__start",
        "excerpt__end",
        "excerpt__coder_id",
    ):
        coded_notes.add(fieldnote_id)
        if not options.codes or code_id in options.codes:
            rows[excerpt_id] = (fieldnote_id, start, end, coder_id)
            codes_of[excerpt_id].append(code_id)

    people = (
        get_user_model()
        .objects.filter(pk__in=visible.values("coder_id"))
        .order_by("first_name", "last_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    )
    coders = [(pk, _name(first, last, username)) for pk, first, last, username in people]
    coder_names = dict(coders)

    order = {pk: position for position, pk in enumerate(codes)}
    by_fieldnote: dict[int, list[Mark]] = defaultdict(list)
    texts = {fieldnote.pk: fieldnote.text for fieldnote in fieldnotes}
    titles = {fieldnote.pk: fieldnote.title for fieldnote in fieldnotes}
    observer_of = {fieldnote.pk: fieldnote.observer_id for fieldnote in fieldnotes}
    for excerpt_id, (fieldnote_id, start, end, coder_id) in sorted(
        rows.items(), key=lambda item: (item[1][0], item[1][1], item[1][2], item[0])
    ):
        by_fieldnote[fieldnote_id].append(
            Mark(
                excerpt_id=excerpt_id,
                fieldnote_id=fieldnote_id,
                observer_id=observer_of[fieldnote_id],
                coder_id=coder_id,
                coder=coder_names.get(coder_id, "?"),
                start=start,
                end=end,
                codes=sorted(codes_of[excerpt_id], key=lambda pk: order.get(pk, len(order))),
                text=texts[fieldnote_id][start:end],
                url=coding_url(project.pk, fieldnote_id, excerpt_id),
                fieldnote_title=titles[fieldnote_id],
            )
        )
    for marks in by_fieldnote.values():
        for mark in marks:
            mark.code_infos = [codes[pk] for pk in mark.codes if pk in codes]

    lanes: dict[int, Lane] = {}
    evidence: list[datetime] = []  # every moment the timeline must show
    for fieldnote in fieldnotes:
        observer = fieldnote.observer
        lane = lanes.get(observer.pk)
        if lane is None:
            lane = lanes[observer.pk] = Lane(observer.pk, observer.name, [], 0)
        lane.fieldnotes.append((fieldnote.pk, fieldnote.title))
        lane.length += len(fieldnote.text)
        note_markers = markers.get(fieldnote.pk, [])
        span = _note_span(fieldnote.text, note_markers, agenda)
        if span:
            evidence.extend(span)
        if fieldnote.pk in coded_notes:
            lane.coded_length += len(fieldnote.text)
        if span and fieldnote.pk in coded_notes:
            first, last = span
            if lane.coverage:
                first, last = min(first, lane.coverage[0]), max(last, lane.coverage[1])
            lane.coverage = (first, last)
        marks = by_fieldnote.get(fieldnote.pk, [])
        placements = place_excerpts(
            [mark.start for mark in marks],
            text=fieldnote.text,
            markers=note_markers,
            agenda=agenda,
            tz=tz,
            mode=options.mode,
        )
        for mark, placement in zip(marks, placements, strict=True):
            mark.moment, mark.how = placement.moment, placement.how
            mark.agenda_index = placement.agenda_index
            (lane.marks if mark.moment else lane.untimed).append(mark)
            if mark.moment:
                evidence.append(mark.moment)
    for lane in lanes.values():
        lane.marks.sort(key=lambda mark: (mark.moment, mark.fieldnote_id, mark.start))

    stretches = day_stretches(
        meeting.starts_at, meeting.ends_at, meeting.day_starts(), agenda, evidence, tz
    )
    days = len(stretches)
    for lane in lanes.values():
        for mark in lane.marks:
            mark.when = when(mark.moment, stretches, tz)

    lane_list = list(lanes.values())
    # The matrix's rows: the chosen codes, else every code some shown excerpt carries.
    used = set(options.codes) or {pk for found in codes_of.values() for pk in found}
    shown = [info for pk, info in codes.items() if pk in used]
    matrix, totals, total = _matrix(lane_list, shown)
    return Triangulation(
        options=options,
        tz=tz,
        stretches=stretches,
        agenda=[
            AgendaSpan(index, title, start.astimezone(tz), end.astimezone(tz))
            for index, (title, start, end) in enumerate(agenda)
        ],
        lanes=lane_list,
        codes=codes,
        shown_codes=shown,
        matrix=matrix,
        totals=totals,
        total=total,
        coders=coders,
        days=days,
    )


def _note_span(text, markers, agenda) -> tuple[datetime, datetime] | None:
    """The first and last moment a fieldnote reaches: its trusted markers, and the agenda items
    named by headings above its first marker (those are what place excerpts there)."""
    kept, _ = trusted_markers(markers)
    moments = [moment for _, moment in kept]
    first_marker = kept[0][0] if kept else math.inf
    for heading in find_agenda_headings(text, [title for title, _, _ in agenda]):
        if heading.start < first_marker:
            _, start, end = agenda[heading.agenda_index]
            moments += [start, end - timedelta(microseconds=1)]
    return (min(moments), max(moments)) if moments else None


def _matrix(lanes: list[Lane], shown: list[CodeInfo]):
    """Per code and observer: excerpts carrying the code, and the characters they cover (each
    character once, however many excerpts or coders cover it) as a share of the observer's text."""
    spans: dict[int, dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[tuple[int, int], int] = defaultdict(int)
    any_code: dict[int, list[tuple[int, int]]] = defaultdict(list)
    shown_ids = {code.id for code in shown}
    for lane in lanes:
        for mark in lane.excerpts:
            carried = [pk for pk in mark.codes if pk in shown_ids]
            for pk in carried:
                spans[pk][mark.fieldnote_id].append((mark.start, mark.end))
                counts[pk, lane.observer_id] += 1
            if carried:
                any_code[mark.fieldnote_id].append((mark.start, mark.end))

    def covered(spans_by_note, lane):
        return sum(union_length(spans_by_note.get(pk, ())) for pk, _ in lane.fieldnotes)

    all_length = sum(lane.coded_length for lane in lanes)
    rows = []
    for code in shown:
        cells = [
            Cell(
                counts[code.id, lane.observer_id], covered(spans[code.id], lane), lane.coded_length
            )
            for lane in lanes
        ]
        rows.append(
            MatrixRow(
                code,
                cells,
                Cell(
                    sum(cell.count for cell in cells),
                    sum(cell.covered for cell in cells),
                    all_length,
                ),
            )
        )
    totals = [
        Cell(
            sum(1 for mark in lane.excerpts if any(pk in shown_ids for pk in mark.codes)),
            covered(any_code, lane),
            lane.coded_length,
        )
        for lane in lanes
    ]
    total = Cell(
        sum(cell.count for cell in totals), sum(cell.covered for cell in totals), all_length
    )
    return rows, totals, total


# ---------------------------------------------------------------------------------------------
# Days of the timeline


def _floor(moment: datetime, step: timedelta = SNAP) -> datetime:
    midnight = datetime.combine(moment.date(), time(0), tzinfo=moment.tzinfo)
    return midnight + ((moment - midnight) // step) * step


def day_stretches(
    starts_at: datetime,
    ends_at: datetime,
    day_starts: list[datetime],
    agenda,
    moments,
    tz: tzinfo,
) -> list[Stretch]:
    """One stretch per calendar day (in `tz`) that the meeting, its agenda or a placed moment
    falls on, so the timeline leaves out the nights.

    A meeting day runs from its start (`Meeting.day_starts`) to the meeting's end on its last
    day, and on earlier days to the end of its last agenda item, else 17:00; a meeting shorter
    than a day is one sitting, cut only at midnight if it runs past it. Each day is widened,
    to quarter hours, to take in every moment placed on it, always ending after the last one (a
    window holds the moments in [start, end)). A moment on a day outside the meeting gets a
    stretch of its own.
    """
    low: dict[date, datetime] = {}
    high: dict[date, datetime] = {}

    def widen(day, start, end):
        low[day] = min(low.get(day, start), start)
        high[day] = max(high.get(day, end), end)

    agenda_ends: dict[date, datetime] = {}
    for _, start, end in agenda:
        start, end = start.astimezone(tz), end.astimezone(tz)
        widen(start.date(), start, min(end, _next_midnight(start)))
        agenda_ends[start.date()] = max(agenda_ends.get(start.date(), end), end)
    for day, start, end in _meeting_days(starts_at, ends_at, day_starts, agenda_ends, tz):
        widen(day, start, end)
    for moment in moments:
        moment = moment.astimezone(tz)
        start = _floor(moment)
        widen(moment.date(), start, min(start + SNAP, _next_midnight(moment)))
    return [Stretch(low[day], high[day]) for day in sorted(low)]


def _meeting_days(starts_at, ends_at, day_starts, agenda_ends, tz):
    """(date, start, end) of each day of the meeting itself, in `tz`."""
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    if end - start < timedelta(hours=24):
        # One sitting, perhaps an evening one that runs past midnight: cut only at midnight.
        while start < end:
            cut = min(end, _next_midnight(start))
            yield start.date(), start, cut
            start = cut
        return
    for day_start in day_starts:
        day_start = day_start.astimezone(tz)
        day = day_start.date()
        if day == end.date():
            day_end = end
        else:
            day_end = agenda_ends.get(day) or max(
                datetime.combine(day, DEFAULT_DAY_END, tzinfo=tz), day_start + SNAP
            )
        day_end = min(day_end, _next_midnight(day_start))
        if day_end > day_start:
            yield day, day_start, day_end


def _next_midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date() + timedelta(days=1), time(0), tzinfo=moment.tzinfo)


def when(moment: datetime | None, stretches: list[Stretch], tz: tzinfo) -> str:
    """A moment as the page shows it: "10:42", or "Day 2 09:48" on a timeline of several days
    (numbered as `time_windows` numbers them)."""
    if moment is None:
        return "untimed"
    local = moment.astimezone(tz)
    if len(stretches) < 2:
        return f"{local:%H:%M}"
    dates = [stretch.start.date() for stretch in stretches]
    day = dates.index(local.date()) + 1 if local.date() in dates else None
    return f"Day {day} {local:%H:%M}" if day else f"{local:%d %b %H:%M}"


# ---------------------------------------------------------------------------------------------
# Windows: seen by one observer only, and agreement across observers


@dataclass
class SeenItem:
    window: Window
    code: CodeInfo
    lane: Lane
    marks: list[Mark]
    others: list[str]  # the observers who cover the window without the code


@dataclass
class AlphaRow:
    code: CodeInfo
    result: AlphaResult


@dataclass
class WindowReport:
    windows: list[Window]
    seen: list[SeenItem]
    alpha: list[AlphaRow]
    # What alpha was computed from, for downloads: (observer, code, moment, excerpt) per timed
    # excerpt and code, and each observer's first and last moment.
    placed: list = field(default_factory=list)
    coverage: dict = field(default_factory=dict)


def compare_windows(result: Triangulation) -> WindowReport:
    """For the chosen window size: codes only one observer's notes carry in a window that others
    cover, and per shown code Krippendorff's alpha of its presence across observers."""
    minutes = result.options.minutes
    if minutes is None:
        windows = agenda_windows(
            [(span.title, span.start, span.end) for span in result.agenda], tz=result.tz
        )
    else:
        windows = time_windows(result.periods(), minutes, tz=result.tz) if result.stretches else []
    shown = {code.id for code in result.shown_codes}
    marks = {mark.excerpt_id: mark for lane in result.lanes for mark in lane.marks}
    placed = [
        (mark.observer_id, pk, mark.moment, mark.excerpt_id)
        for mark in marks.values()
        for pk in mark.codes
        if pk in shown
    ]
    coverage = {lane.observer_id: lane.coverage for lane in result.lanes if lane.coverage}
    lanes = {lane.observer_id: lane for lane in result.lanes}
    order = {pk: position for position, pk in enumerate(result.codes)}
    covering = covering_observers(windows, coverage, observations(placed, windows))
    seen = []
    for found in seen_by_one(placed, windows, coverage):
        window = found.window
        others = [
            lane.name
            for lane in result.lanes
            if lane.observer_id != found.observer and lane.observer_id in covering[window.index]
        ]
        seen.append(
            SeenItem(
                window,
                result.codes[found.code],
                lanes[found.observer],
                [marks[key] for key in found.excerpt_keys],
                others,
            )
        )
    seen.sort(key=lambda item: (item.window.start, item.window.index, order[item.code.id]))
    alphas = observer_alpha(placed, windows, coverage, [code.id for code in result.shown_codes])
    return WindowReport(
        windows,
        seen,
        [AlphaRow(code, alphas[code.id]) for code in result.shown_codes],
        placed,
        coverage,
    )


# ---------------------------------------------------------------------------------------------
# Timeline geometry (SVG user units; the page draws it with classes, never inline styles)

LABEL_WIDTH = 168
DAY_GAP = 28
HEAD_HEIGHT = 22  # the day row
AGENDA_HEIGHT = 40  # two lines of agenda titles
AXIS_HEIGHT = 22  # hour labels
ROW_HEIGHT = 20
LANE_PAD = 6
MARK_WIDTH = 6
MAX_ROWS = 5
TIP_HEIGHT = 30
CHAR_WIDTH = 6.6  # average width of a 12px sans-serif character, to cut labels to fit


@dataclass
class Segment:
    y: float
    height: float
    code: int


@dataclass
class MarkShape:
    mark: Mark
    x: float
    y: float
    segments: list[Segment]
    title: str
    tip_x: float
    tip_anchor: str  # "start" or "end", so the tip stays inside the drawing
    tip: str  # the title, cut to the room on that side


@dataclass
class LaneShape:
    lane: Lane
    y: float
    height: float
    label: str
    label_y: float
    marks: list[MarkShape]
    untimed_y: float


@dataclass
class Band:
    x: float
    width: float
    lines: list[str]
    title: str
    shade: int


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class DayShape:
    x: float
    width: float
    label: str


@dataclass
class Timeline:
    width: float
    height: float
    label_width: float
    days: list[DayShape]
    breaks: list[float]  # the middle of the gap between two days
    bands: list[Band]
    ticks: list[Tick]
    lanes: list[LaneShape]
    top: float  # where the lanes begin
    bottom: float  # where they end
    band_height: float  # agenda bands reach from their labels down through every lane
    tip_y: float
    axis_y: float
    agenda_y: float


def _cut(text: str, width: float) -> str:
    fits = max(int(width // CHAR_WIDTH), 1)
    return text if len(text) <= fits else text[: max(fits - 1, 1)].rstrip() + "…"


def _two_lines(text: str, width: float) -> list[str]:
    fits = max(int(width // CHAR_WIDTH), 1)
    if len(text) <= fits:
        return [text]
    words, first = text.split(), ""
    while words and len(f"{first} {words[0]}".strip()) <= fits:
        first = f"{first} {words.pop(0)}".strip()
    if not first:
        return [_cut(text, width)]
    return [first, _cut(" ".join(words), width)] if words else [first]


def mark_title(mark: Mark, lane: Lane, codes: Mapping[int, CodeInfo]) -> str:
    names = ", ".join(codes[pk].name for pk in mark.codes if pk in codes)
    return f"{mark.when} · {lane.name} · {names} · coded by {mark.coder}: “{mark.first_words}”"


def layout_timeline(result: Triangulation, *, span_width: float = 880) -> Timeline:
    """Where everything goes: about `span_width` units for the meeting's time (at least 1.2 and
    at most 4 per minute, so a day and a half fits a laptop's screen), days side by side with a
    gap, one lane per observer, and marks of nearby moments stacked in rows so that none hides
    another."""
    minutes = sum(stretch.minutes for stretch in result.stretches)
    scale = min(4.0, max(1.2, span_width / minutes)) if minutes else 2.0
    days, x = [], LABEL_WIDTH
    for stretch in result.stretches:
        width = stretch.minutes * scale
        start = stretch.start
        days.append(DayShape(x, width, f"{start:%a} {start.day} {start:%b}"))
        x += width + DAY_GAP
    width = x - DAY_GAP + 12 if days else LABEL_WIDTH + 200

    def x_of(moment: datetime) -> float:
        moment = moment.astimezone(result.tz)
        for stretch, day in zip(result.stretches, days, strict=True):
            if stretch.start <= moment <= stretch.end:
                return day.x + (moment - stretch.start).total_seconds() / 60 * scale
        return LABEL_WIDTH  # not reached: the stretches take in every placed moment

    agenda_y = HEAD_HEIGHT
    axis_y = agenda_y + AGENDA_HEIGHT
    top = axis_y + AXIS_HEIGHT
    bands = []
    for span in result.agenda:
        for stretch in result.stretches:
            start, end = max(span.start, stretch.start), min(span.end, stretch.end)
            if start < end:
                left, right = x_of(start), x_of(end)
                bands.append(
                    Band(
                        left,
                        right - left,
                        _two_lines(span.title, right - left - 6),
                        f"{span.title}, {span.start:%H:%M}–{span.end:%H:%M}",
                        span.index % 2,
                    )
                )
    ticks = []
    for stretch in result.stretches:
        hour = stretch.start.replace(minute=0, second=0, microsecond=0)
        if hour < stretch.start:
            hour += timedelta(hours=1)
        while hour <= stretch.end:
            ticks.append(Tick(x_of(hour), f"{hour:%H:%M}"))
            hour += timedelta(hours=1)

    lanes, y = [], top
    for lane in result.lanes:
        rows: list[float] = []  # the right edge of the last mark in each row
        placed = []
        for mark in lane.marks:
            center = x_of(mark.moment)
            left = center - MARK_WIDTH / 2
            row = next((i for i, edge in enumerate(rows) if edge + 1 <= left), None)
            if row is None:
                if len(rows) < MAX_ROWS:
                    rows.append(0)
                    row = len(rows) - 1
                else:
                    row = min(range(len(rows)), key=rows.__getitem__)
            rows[row] = left + MARK_WIDTH
            placed.append((mark, left, row))
        height = max(len(rows), 2) * ROW_HEIGHT + 2 * LANE_PAD
        shapes = []
        for mark, left, row in placed:
            mark_y = y + LANE_PAD + row * ROW_HEIGHT + 2
            piece = (ROW_HEIGHT - 4) / max(len(mark.codes), 1)
            segments = [Segment(mark_y + i * piece, piece, pk) for i, pk in enumerate(mark.codes)]
            right_half = left > width / 2
            title = mark_title(mark, lane, result.codes)
            tip_x = left + MARK_WIDTH if right_half else left
            room = tip_x - 8 if right_half else width - tip_x - 8
            shapes.append(
                MarkShape(
                    mark,
                    left,
                    mark_y,
                    segments,
                    title,
                    tip_x,
                    "end" if right_half else "start",
                    _cut(title, room),
                )
            )
        lanes.append(
            LaneShape(
                lane,
                y,
                height,
                _cut(lane.name, LABEL_WIDTH - 16),
                y + LANE_PAD + 14,
                shapes,
                y + LANE_PAD + 32,
            )
        )
        y += height
    return Timeline(
        width=width,
        height=y + TIP_HEIGHT,
        label_width=LABEL_WIDTH,
        days=days,
        breaks=[day.x - DAY_GAP / 2 for day in days[1:]],
        bands=bands,
        ticks=ticks,
        lanes=lanes,
        top=top,
        bottom=y,
        band_height=y - agenda_y,
        tip_y=y + 20,
        axis_y=axis_y,
        agenda_y=agenda_y,
    )
