"""Time windows over a meeting: what each observer's notes carry in them, what only one observer
recorded, and how far observers agree.

Excerpts placed on the meeting's clock (`meetings.alignment`) are compared window by window:
fixed windows of 5, 10 or 15 minutes over each meeting day (`time_windows`), or one window per
agenda item (`agenda_windows`).

- A moment belongs to every window whose [start, end) holds it, so a moment on a boundary belongs
  to the window starting there; moments outside every window are left out.
- An observer covers a window when their notes span it: the windows meeting their (first, last)
  timed moments and every window between, plus any window their notes carry an excerpt in (an
  excerpt placed by its agenda heading may lie outside the span of their markers). Where an
  observer does not cover a window, their value there is missing (None), not absent (0).
- Seen by one: a code that exactly one observer's notes carry in a window while at least one other
  observer covers that window (and so, by definition, has no excerpt of that code there). Where
  nobody else was writing, there is nothing to ask the others.
- Agreement across observers: per code, Krippendorff's alpha (nominal) of code presence (1/0),
  units = windows, coders = observers, from `coding.agreement.krippendorff_alpha`. Only windows
  covered by at least two observers can be compared; their number is `units`.

Moments are compared in UTC, so a change of the clocks cannot misplace them. Observers, codes and
excerpt keys are whatever the caller uses (ids, names), as long as they are hashable and codes
sort among themselves. Plain Python, no Django.
"""

from bisect import bisect_right
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from coding.agreement import krippendorff_alpha

__all__ = [
    "WINDOW_MINUTES",
    "AlphaResult",
    "SeenByOne",
    "Window",
    "agenda_windows",
    "covering_observers",
    "observations",
    "observer_alpha",
    "presence",
    "seen_by_one",
    "time_windows",
]

WINDOW_MINUTES = (5, 10, 15)  # the window sizes offered

Placed = tuple[Hashable, Hashable, datetime, Hashable]  # (observer, code, moment, excerpt key)
# window index -> observer -> code -> keys of the excerpts carrying it there, in the order given
Observations = dict[int, dict[Hashable, dict[Hashable, list[Hashable]]]]

NOBODY_TO_COMPARE = "fewer than two observers cover any window"
PRESENT_EVERYWHERE = "no variation: the code is present everywhere"
ABSENT_EVERYWHERE = "no variation: the code is absent everywhere"


@dataclass(frozen=True)
class Window:
    index: int
    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True)
class SeenByOne:
    window: Window
    code: Hashable
    observer: Hashable
    excerpt_keys: tuple[Hashable, ...]


@dataclass(frozen=True)
class AlphaResult:
    alpha: float | None
    units: int  # windows covered by at least two observers
    reason: str | None = None  # why alpha is None, in plain words


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"Moments must be aware datetimes; got {moment!r}.")
    return moment.astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Windows


def time_windows(
    periods: Iterable[tuple[datetime, datetime]], minutes: int, *, tz: tzinfo | None = None
) -> list[Window]:
    """Windows of `minutes` tiling each (start, end) period from its start; the last window of a
    period ends with it and may be shorter. Labels read "09:30–09:40" in `tz` (default: each
    period's own zone), with "Day 2 " before them when the periods span several dates."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise ValueError(f"A window is a positive whole number of minutes; got {minutes!r}.")
    step = timedelta(minutes=minutes)
    spans = sorted(
        ((_utc(start), _utc(end), tz or start.tzinfo) for start, end in periods),
        key=lambda span: span[:2],
    )
    for (start, end, _), following in zip(spans, [*spans[1:], None], strict=True):
        if end <= start:
            raise ValueError("A period must end after it starts.")
        if following is not None and following[0] < end:
            raise ValueError("Periods must not overlap.")
    dates = sorted({start.astimezone(zone).date() for start, _, zone in spans})
    day_number = {date: number for number, date in enumerate(dates, start=1)}

    windows = []
    for start, end, zone in spans:
        cursor = start
        while cursor < end:
            until = min(cursor + step, end)
            local_start, local_end = cursor.astimezone(zone), until.astimezone(zone)
            label = f"{local_start:%H:%M}–{local_end:%H:%M}"
            if len(dates) > 1:
                label = f"Day {day_number[local_start.date()]} {label}"
            windows.append(Window(len(windows), local_start, local_end, label))
            cursor = until
    return windows


def agenda_windows(
    agenda: Iterable[tuple[str, datetime, datetime]], *, tz: tzinfo | None = None
) -> list[Window]:
    """One window per (title, starts_at, ends_at) agenda item, indexed in agenda order and
    labelled with its title; times in `tz` when given."""
    windows = []
    for index, (title, start, end) in enumerate(agenda):
        if _utc(end) <= _utc(start):
            raise ValueError(f"The agenda item {title!r} must end after it starts.")
        if tz is not None:
            start, end = start.astimezone(tz), end.astimezone(tz)
        windows.append(Window(index, start, end, title))
    return windows


class _Locator:
    """Finds the windows holding a moment with one bisection, and a short walk back only where
    windows overlap (nested agenda items)."""

    def __init__(self, windows: Sequence[Window]):
        spans = sorted((_utc(window.start), _utc(window.end), window.index) for window in windows)
        self.starts = [start for start, _, _ in spans]
        self.ends = [end for _, end, _ in spans]
        self.indexes = [index for _, _, index in spans]
        self.reach = []  # reach[i]: the latest end among the first i + 1 windows
        for end in self.ends:
            self.reach.append(max(end, self.reach[-1]) if self.reach else end)

    def holding(self, moment: datetime) -> list[int]:
        moment = _utc(moment)
        found = []
        i = bisect_right(self.starts, moment) - 1
        while i >= 0 and self.reach[i] > moment:
            if self.ends[i] > moment:
                found.append(self.indexes[i])
            i -= 1
        return found


# ---------------------------------------------------------------------------------------------
# What the notes carry, and who covers what


def observations(placed: Iterable[Placed], windows: Sequence[Window]) -> Observations:
    """Window index -> observer -> code -> the keys of the excerpts carrying that code there.
    Windows where no excerpt falls are left out."""
    locator = _Locator(windows)
    seen: Observations = {}
    for observer, code, moment, key in placed:
        for index in locator.holding(moment):
            seen.setdefault(index, {}).setdefault(observer, {}).setdefault(code, []).append(key)
    return seen


def covering_observers(
    windows: Sequence[Window],
    coverage: dict[Hashable, tuple[datetime, datetime]],
    seen: Observations | None = None,
) -> dict[int, set[Hashable]]:
    """Window index -> the observers who cover it: their (first, last) span widened to whole
    windows, plus the windows `seen` (from `observations`) has their excerpts in."""
    spans = {observer: (_utc(first), _utc(last)) for observer, (first, last) in coverage.items()}
    covering: dict[int, set[Hashable]] = {}
    for window in windows:
        start, end = _utc(window.start), _utc(window.end)
        covering[window.index] = {
            observer for observer, (first, last) in spans.items() if start <= last and end > first
        }
    for index, by_observer in (seen or {}).items():
        covering.setdefault(index, set()).update(by_observer)
    return covering


class _Grid:
    """Everything the comparisons need, worked out once: what each observer's notes carry in each
    window, and who covers each window."""

    def __init__(self, placed, windows, coverage):
        self.windows = sorted(windows, key=lambda window: (_utc(window.start), window.index))
        self.seen = observations(placed, windows)
        self.covering = covering_observers(windows, coverage, self.seen)
        observers = dict.fromkeys(coverage)
        for by_observer in self.seen.values():
            observers.update(dict.fromkeys(by_observer))
        self.observers = list(observers)

    def carriers(self, index: int, code) -> list[Hashable]:
        return [observer for observer, codes in self.seen.get(index, {}).items() if code in codes]

    def values(self, code, windows: Sequence[Window]) -> dict[Hashable, list[int | None]]:
        rows = {}
        for observer in self.observers:
            rows[observer] = [
                (1 if code in self.seen.get(window.index, {}).get(observer, ()) else 0)
                if observer in self.covering[window.index]
                else None
                for window in windows
            ]
        return rows


def presence(
    placed: Iterable[Placed],
    windows: Sequence[Window],
    coverage: dict[Hashable, tuple[datetime, datetime]],
    code: Hashable,
) -> dict[Hashable, list[int | None]]:
    """Observer -> one value per window (in the order of `windows`): 1 when their notes carry
    `code` there, 0 when they cover the window without it, None when they do not cover it.
    The reliability data behind `observer_alpha`."""
    grid = _Grid(placed, windows, coverage)
    return grid.values(code, windows)


# ---------------------------------------------------------------------------------------------
# Comparisons


def seen_by_one(
    placed: Iterable[Placed],
    windows: Sequence[Window],
    coverage: dict[Hashable, tuple[datetime, datetime]],
) -> list[SeenByOne]:
    """Codes that exactly one observer's notes carry in a window that another observer covers,
    sorted by window (start, then index) and then code."""
    grid = _Grid(placed, windows, coverage)
    found = []
    for window in grid.windows:
        by_observer = grid.seen.get(window.index, {})
        codes = {code for codes in by_observer.values() for code in codes}
        for code in sorted(codes):
            carriers = grid.carriers(window.index, code)
            if len(carriers) != 1:
                continue
            (observer,) = carriers
            if grid.covering[window.index] - {observer}:
                keys = tuple(by_observer[observer][code])
                found.append(SeenByOne(window, code, observer, keys))
    return found


def observer_alpha(
    placed: Iterable[Placed],
    windows: Sequence[Window],
    coverage: dict[Hashable, tuple[datetime, datetime]],
    codes: Iterable[Hashable],
) -> dict[Hashable, AlphaResult]:
    """Code -> Krippendorff's alpha (nominal) of the code's presence across observers, with the
    windows as units; None with a reason when it is undefined."""
    grid = _Grid(placed, windows, coverage)
    units = [window for window in grid.windows if len(grid.covering[window.index]) >= 2]
    results = {}
    for code in codes:
        if not units:
            results[code] = AlphaResult(None, 0, NOBODY_TO_COMPARE)
            continue
        rows = grid.values(code, units)
        values = {value for row in rows.values() for value in row if value is not None}
        if values == {1}:
            results[code] = AlphaResult(None, len(units), PRESENT_EVERYWHERE)
        elif values == {0}:
            results[code] = AlphaResult(None, len(units), ABSENT_EVERYWHERE)
        else:
            alpha = krippendorff_alpha(list(rows.values()), "nominal")
            results[code] = AlphaResult(alpha, len(units))
    return results
