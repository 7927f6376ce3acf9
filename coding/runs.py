"""Overlapping excerpts as non-overlapping runs of text, and the HTML of the coding page's text.

Plain Python, no Django. Offsets are code points. A run is a stretch of text over which the set of
excerpts does not change; the page marks each run with its first offset (`data-s`) and its
excerpts (`data-x`), and underlines it once per code, nested, so four overlapping codes stay
readable.
"""

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

MAX_UNDERLINES = 4


@dataclass(frozen=True)
class Span:
    id: int
    start: int
    end: int
    codes: tuple[int, ...]  # code ids, in the order their underlines nest


@dataclass(frozen=True)
class Run:
    start: int
    end: int
    excerpts: tuple[int, ...]  # ids of the excerpts covering the run, by start then id


def boundaries(length: int, spans: Iterable[Span]) -> list[int]:
    points = {0, length}
    for span in spans:
        points.add(span.start)
        points.add(span.end)
    return sorted(point for point in points if 0 <= point <= length)


def segment(start: int, end: int, spans: Sequence[Span]) -> list[Run]:
    """The runs covering [start, end): one sweep over the span boundaries inside it."""
    inside = [s for s in spans if s.start < end and start < s.end]
    cuts = {start, end}
    for span in inside:
        if start < span.start < end:
            cuts.add(span.start)
        if start < span.end < end:
            cuts.add(span.end)
    points = sorted(cuts)
    # Events: a span opens at max(start, span.start) and closes at min(end, span.end).
    opening: dict[int, list[Span]] = {}
    closing: dict[int, list[Span]] = {}
    for span in inside:
        opening.setdefault(max(start, span.start), []).append(span)
        closing.setdefault(min(end, span.end), []).append(span)
    # Kept in (start, id) order as spans open and close, so no run needs sorting.
    active: list[tuple[int, int]] = []
    runs = []
    for left, right in pairwise(points):
        for span in closing.get(left, ()):
            active.remove((span.start, span.id))
        for span in opening.get(left, ()):
            insort(active, (span.start, span.id))
        runs.append(Run(left, right, tuple(excerpt_id for _, excerpt_id in active)))
    return runs


def window(length: int, others: Sequence[Span], lo: int, hi: int) -> tuple[int, int]:
    """The smallest stretch around [lo, hi) whose ends are run boundaries whether or not the
    changed excerpt is there: what the page must re-render after one excerpt changes."""
    points = boundaries(length, others)
    left = points[bisect_right(points, lo) - 1]
    right = points[bisect_left(points, hi)]
    return left, right


def render_runs(text: str, runs: Sequence[Run], spans_by_id: dict[int, Span]) -> str:
    """The HTML of the runs: escaped text, one span per run, one nested <u> per code.

    Attributes are unquoted where HTML allows it: a long fieldnote has thousands of runs.
    """
    parts = []
    append = parts.append
    for run in runs:
        chunk = escape(text[run.start : run.end], quote=False)
        if not run.excerpts:
            append(f"<span data-s={run.start}>{chunk}</span>")
            continue
        codes: list[int] = []
        for excerpt_id in run.excerpts:
            for code in spans_by_id[excerpt_id].codes:
                if code not in codes:
                    codes.append(code)
        shown = codes[:MAX_UNDERLINES]
        kind = "x more" if len(codes) > MAX_UNDERLINES else "x"
        opening = "".join(f"<u class=c{code}>" for code in shown)
        closing = "</u>" * len(shown)
        ids = " ".join(str(i) for i in run.excerpts)
        append(
            f'<span class="{kind}" data-s={run.start} data-x="{ids}">'
            f"{opening}{chunk}{closing}</span>"
        )
    return "".join(parts)
