"""Retrieval and co-occurrence: every excerpt of a code in its context, and how codes overlap.

The maths (overlapping spans, unions of spans, heat levels, context windows, the moment of an
offset) are plain functions of plain values, tested fast and alone. `find_excerpts`,
`add_context` and `cooccurrence` adapt them to the database with a fixed number of queries
whatever the number of excerpts, and every excerpt they read comes through
`Excerpt.objects.visible_to`, so a blind coding round hides the same work here as everywhere.
"""

import csv
import io
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone

from fieldnotes.models import Fieldnote, Observer, TimeMarker
from meetings.models import Meeting

from .models import Code, Excerpt, ExcerptCode

CONTEXT_CHARS = 200
# A context window is trimmed back to a word boundary only when one is this close to its edge.
WORD_SNAP_CHARS = 30
HEAT_LEVELS = 4


# --- pure functions --------------------------------------------------------------------------


class Span(NamedTuple):
    """One excerpt reduced to what the maths needs: [start, end) of a fieldnote, and its codes."""

    key: int
    fieldnote: int
    start: int
    end: int
    codes: frozenset[int] = frozenset()


def overlaps(s1: int, e1: int, s2: int, e2: int) -> bool:
    """Whether the half-open intervals [s1, e1) and [s2, e2) share a character."""
    return s1 < e2 and s2 < e1


def _by_fieldnote(spans: Iterable[Span]) -> dict[int, list[Span]]:
    groups: dict[int, list[Span]] = defaultdict(list)
    for span in spans:
        groups[span.fieldnote].append(span)
    for group in groups.values():
        group.sort(key=lambda span: (span.start, span.end, span.key))
    return groups


def overlapping_pairs(spans: Iterable[Span]) -> Iterator[tuple[Span, Span]]:
    """Every unordered pair of two different spans on one fieldnote that overlap.

    A sweep by start: only the spans still open when the next one starts can overlap it, so
    the work grows with the number of overlaps, not with the square of the number of spans.
    """
    for group in _by_fieldnote(spans).values():
        open_spans: list[Span] = []
        for span in group:
            open_spans = [other for other in open_spans if other.end > span.start]
            for other in open_spans:
                yield other, span
            open_spans.append(span)


def cooccurrence_counts(spans: Iterable[Span]) -> tuple[Counter, Counter]:
    """(excerpts per code, co-occurrences per ordered pair of different codes).

    The count for (A, B) is the number of pairs (excerpt carrying A, excerpt carrying B) on the
    same fieldnote whose spans overlap; one excerpt carrying both A and B is such a pair too.
    The counts are symmetric: (A, B) and (B, A) are the same number.
    """
    spans = list(spans)
    per_code: Counter = Counter()
    pairs: Counter = Counter()
    for span in spans:
        per_code.update(span.codes)
        for a in span.codes:
            for b in span.codes:
                if a != b:
                    pairs[a, b] += 1
    for first, second in overlapping_pairs(spans):
        for a in first.codes:
            for b in second.codes:
                if a != b:
                    pairs[a, b] += 1
                    pairs[b, a] += 1
    return per_code, pairs


def union_length(intervals: Iterable[tuple[int, int]]) -> int:
    """How many characters the union of half-open intervals covers."""
    covered = 0
    current_start = current_end = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                covered += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        covered += current_end - current_start
    return covered


def share_text(covered: int, length: int) -> str:
    """A share of a text as a percentage with one decimal: 12.5%."""
    return f"{100 * covered / length:.1f}%" if length else "0.0%"


def code_fieldnote_counts(spans: Iterable[Span]) -> dict[tuple[int, int], tuple[int, int]]:
    """(code, fieldnote) -> (excerpts, characters covered by the union of their spans)."""
    intervals: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for span in spans:
        for code in span.codes:
            intervals[code, span.fieldnote].append((span.start, span.end))
    return {key: (len(found), union_length(found)) for key, found in intervals.items()}


def overlapping_keys(spans: Iterable[Span], others: Iterable[Span]) -> set[int]:
    """The keys of `spans` that overlap at least one of `others` on the same fieldnote."""
    by_fieldnote: dict[int, tuple[list[int], list[int]]] = {}
    for fieldnote, group in _by_fieldnote(others).items():
        starts = [other.start for other in group]
        furthest, reach = [], 0
        for other in group:
            reach = max(reach, other.end)
            furthest.append(reach)
        by_fieldnote[fieldnote] = (starts, furthest)
    found = set()
    for span in spans:
        if span.fieldnote not in by_fieldnote:
            continue
        starts, furthest = by_fieldnote[span.fieldnote]
        # Of the others starting before this span ends, the one reaching furthest decides.
        before_end = bisect_left(starts, span.end)
        if before_end and furthest[before_end - 1] > span.start:
            found.add(span.key)
    return found


def heat_cuts(values: Iterable[int], levels: int = HEAT_LEVELS) -> list[int]:
    """The values at the quantiles that divide the non-zero `values` into `levels` bands."""
    ordered = sorted(value for value in values if value)
    if not ordered:
        return []
    return [ordered[len(ordered) * k // levels] for k in range(1, levels)]


def heat_level(value: int, cuts: Sequence[int]) -> int:
    """0 for nothing, else 1 to len(cuts) + 1: the band of `value` among the quantile cuts."""
    return 0 if not value else 1 + bisect_left(cuts, value)


class Context(NamedTuple):
    before: str
    text: str
    after: str
    cut_before: bool
    cut_after: bool


def context(text: str, start: int, end: int, width: int = CONTEXT_CHARS) -> Context:
    """The excerpt text[start:end] with about `width` characters either side, cut at words."""
    low, high = max(0, start - width), min(len(text), end + width)
    before, after = text[low:start], text[end:high]
    if low > 0 and not text[low - 1].isspace():
        space = re.search(r"\s", before[:WORD_SNAP_CHARS])
        if space:
            before = before[space.end() :]
    if high < len(text) and not text[high].isspace():
        spaces = list(re.finditer(r"\s", after[-WORD_SNAP_CHARS:]))
        if spaces:
            after = after[: len(after) - WORD_SNAP_CHARS + spaces[-1].start()]
    return Context(before, text[start:end], after, low > 0, high < len(text))


def moment_at(markers: Sequence[tuple[int, datetime]], offset: int) -> datetime | None:
    """The moment of the last marker at or before `offset`; markers sorted by offset."""
    index = bisect_right(markers, offset, key=lambda marker: marker[0])
    return markers[index - 1][1] if index else None


def code_paths(codes: Iterable[tuple[int, int | None, str]]) -> dict[int, str]:
    """id -> "Parent/Child" for (id, parent id, name) triples."""
    parents, names = {}, {}
    for pk, parent, name in codes:
        parents[pk], names[pk] = parent, name
    paths: dict[int, str] = {}

    def path(pk):
        if pk not in paths:
            parent = parents.get(pk)
            paths[pk] = f"{path(parent)}/{names[pk]}" if parent in names else names[pk]
        return paths[pk]

    for pk in names:
        path(pk)
    return paths


def subtree(parents: Mapping[int, int | None], root: int) -> set[int]:
    """`root` and every code below it, from a mapping of id -> parent id."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in parents.items():
        children[parent].append(pk)
    found, waiting = set(), [root]
    while waiting:
        pk = waiting.pop()
        if pk not in found:
            found.add(pk)
            waiting.extend(children[pk])
    return found


# --- the database side -----------------------------------------------------------------------


def coding_url(project_id: int, fieldnote_id: int, excerpt_id: int) -> str:
    """Where an excerpt is shown in its fieldnote's coding page."""
    from django.urls import reverse

    return reverse("coding:coding_page", args=[project_id, fieldnote_id]) + f"#excerpt-{excerpt_id}"


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Filters:
    """Which excerpts to keep: by meeting, observer, coder, fieldnote, overlap with a code."""

    meeting: int | None = None
    observer: int | None = None
    coder: int | None = None
    fieldnote: int | None = None
    with_code: int | None = None

    @classmethod
    def from_query(cls, query: Mapping) -> "Filters":
        """From GET parameters; a value that is not a number is ignored."""
        return cls(
            meeting=_int(query.get("meeting")),
            observer=_int(query.get("observer")),
            coder=_int(query.get("coder")),
            fieldnote=_int(query.get("fieldnote")),
            with_code=_int(query.get("with")),
        )

    def excerpts(self, excerpts: QuerySet) -> QuerySet:
        """`excerpts` narrowed by every filter except the overlap with another code."""
        if self.meeting is not None:
            excerpts = excerpts.filter(fieldnote__meeting_id=self.meeting)
        if self.observer is not None:
            excerpts = excerpts.filter(fieldnote__observer_id=self.observer)
        if self.coder is not None:
            excerpts = excerpts.filter(coder_id=self.coder)
        if self.fieldnote is not None:
            excerpts = excerpts.filter(fieldnote_id=self.fieldnote)
        return excerpts

    def fieldnotes(self, fieldnotes: QuerySet) -> QuerySet:
        if self.meeting is not None:
            fieldnotes = fieldnotes.filter(meeting_id=self.meeting)
        if self.observer is not None:
            fieldnotes = fieldnotes.filter(observer_id=self.observer)
        if self.fieldnote is not None:
            fieldnotes = fieldnotes.filter(pk=self.fieldnote)
        return fieldnotes

    def query(self) -> dict[str, int]:
        """The filters as GET parameters, for links that keep them."""
        names = {"meeting": self.meeting, "observer": self.observer, "coder": self.coder}
        names |= {"fieldnote": self.fieldnote, "with": self.with_code}
        return {name: value for name, value in names.items() if value is not None}


def _with_code(excerpts: QuerySet, code_ids: Iterable[int]) -> QuerySet:
    return excerpts.filter(
        pk__in=ExcerptCode.objects.filter(code_id__in=list(code_ids)).values("excerpt_id")
    )


def _coder_name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


@dataclass
class Hit:
    """One excerpt as retrieval lists it; `add_context` fills in its text and moment."""

    id: int
    fieldnote_id: int
    fieldnote_title: str
    meeting_id: int
    meeting_title: str
    observer: str
    coder: str
    coder_username: str
    start: int
    end: int
    memo: str
    unsure: bool
    needs_review: bool
    url: str
    codes: list[Code] = field(default_factory=list)
    context: Context | None = None
    moment: datetime | None = None

    @property
    def text(self) -> str:
        return self.context.text if self.context else ""


HIT_FIELDS = (
    "id",
    "fieldnote_id",
    "fieldnote__title",
    "fieldnote__meeting_id",
    "fieldnote__meeting__title",
    "fieldnote__observer__name",
    "coder__first_name",
    "coder__last_name",
    "coder__username",
    "start",
    "end",
    "memo",
    "unsure",
    "needs_review",
)


def find_excerpts(
    *, user, project, codes: Mapping[int, Code], code_ids: set[int], filters: Filters
) -> list[Hit]:
    """The visible excerpts carrying any of `code_ids`, filtered, in meeting and text order.

    `codes` is every code of the codebook by id, in the order an excerpt's codes are listed.
    Three queries (four with an overlap filter): the excerpts, their codes, and the excerpts of
    the other code. Fieldnote texts are left out; `add_context` reads each one once.
    """
    visible = Excerpt.objects.visible_to(user, project)
    selected = filters.excerpts(_with_code(visible, code_ids)).order_by(
        "fieldnote__meeting__starts_at",
        "fieldnote__meeting_id",
        "fieldnote__observer__name",
        "fieldnote_id",
        "start",
        "end",
        "pk",
    )
    hits = [
        Hit(
            id=row["id"],
            fieldnote_id=row["fieldnote_id"],
            fieldnote_title=row["fieldnote__title"],
            meeting_id=row["fieldnote__meeting_id"],
            meeting_title=row["fieldnote__meeting__title"],
            observer=row["fieldnote__observer__name"],
            coder=_coder_name(
                row["coder__first_name"], row["coder__last_name"], row["coder__username"]
            ),
            coder_username=row["coder__username"],
            start=row["start"],
            end=row["end"],
            memo=row["memo"],
            unsure=row["unsure"],
            needs_review=row["needs_review"],
            url=coding_url(project.pk, row["fieldnote_id"], row["id"]),
        )
        for row in selected.values(*HIT_FIELDS)
    ]
    if filters.with_code is not None:
        others = filters.excerpts(_with_code(visible, [filters.with_code]))
        keep = overlapping_keys(
            [Span(hit.id, hit.fieldnote_id, hit.start, hit.end) for hit in hits],
            [Span(*row) for row in others.values_list("id", "fieldnote_id", "start", "end")],
        )
        hits = [hit for hit in hits if hit.id in keep]
    by_id = {hit.id: hit for hit in hits}
    pairs = ExcerptCode.objects.filter(excerpt__in=selected.values("pk"))
    for excerpt_id, code_id in pairs.values_list("excerpt_id", "code_id"):
        if excerpt_id in by_id and code_id in codes:
            by_id[excerpt_id].codes.append(codes[code_id])
    order = {pk: index for index, pk in enumerate(codes)}
    for hit in hits:
        hit.codes.sort(key=lambda code: order[code.pk])
    return hits


def add_context(hits: Sequence[Hit], *, width: int = CONTEXT_CHARS) -> None:
    """Set each hit's text in context and its moment: two queries, one per kind of thing."""
    fieldnote_ids = {hit.fieldnote_id for hit in hits}
    if not fieldnote_ids:
        return
    texts = dict(
        Fieldnote.objects.filter(pk__in=fieldnote_ids).order_by().values_list("pk", "text")
    )
    markers: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    found = (
        TimeMarker.objects.filter(fieldnote_id__in=fieldnote_ids, moment__isnull=False)
        .order_by("fieldnote_id", "offset", "pk")
        .values_list("fieldnote_id", "offset", "moment")
    )
    for fieldnote_id, offset, moment in found:
        markers[fieldnote_id].append((offset, moment))
    for hit in hits:
        hit.context = context(texts[hit.fieldnote_id], hit.start, hit.end, width)
        hit.moment = moment_at(markers[hit.fieldnote_id], hit.start)


CSV_COLUMNS = [
    "code_path",
    "excerpt_id",
    "meeting",
    "fieldnote",
    "observer",
    "coder",
    "start",
    "end",
    "moment",
    "text",
    "memo",
    "unsure",
]


def excerpts_csv(hits: Iterable[Hit], *, paths: Mapping[int, str], code_ids: set[int]) -> str:
    """One row per excerpt; offsets in code points, the moment in ISO 8601 local time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for hit in hits:
        writer.writerow(
            [
                "; ".join(paths[code.pk] for code in hit.codes if code.pk in code_ids),
                hit.id,
                hit.meeting_title,
                hit.fieldnote_title,
                hit.observer,
                hit.coder_username,
                hit.start,
                hit.end,
                timezone.localtime(hit.moment).isoformat() if hit.moment else "",
                hit.text,
                hit.memo,
                "true" if hit.unsure else "false",
            ]
        )
    return buffer.getvalue()


@dataclass
class FilterChoices:
    meetings: list[tuple[int, str]]
    observers: list[tuple[int, str]]
    coders: list[tuple[int, str]]


def filter_choices(*, user, project) -> FilterChoices:
    """The meetings and observers of the project, and the people whose excerpts `user` sees."""
    visible = Excerpt.objects.visible_to(user, project)
    coders = (
        get_user_model()
        .objects.filter(pk__in=visible.values("coder_id"))
        .order_by("first_name", "last_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    )
    return FilterChoices(
        meetings=list(
            Meeting.objects.filter(project=project)
            .order_by("starts_at", "pk")
            .values_list("pk", "title")
        ),
        observers=list(
            Observer.objects.filter(project=project)
            .order_by("name", "pk")
            .values_list("pk", "name")
        ),
        coders=[(pk, _coder_name(first, last, username)) for pk, first, last, username in coders],
    )


@dataclass
class Cell:
    count: int
    url: str = ""
    level: int = 0
    share: str = ""
    diagonal: bool = False


@dataclass
class Row:
    code: Code
    cells: list[Cell]


@dataclass
class Cooccurrence:
    codes: list[Code]
    matrix: list[Row]
    fieldnotes: list[dict]
    by_fieldnote: list[Row]
    excerpts: int


def visible_spans(*, user, project, filters: Filters) -> list[Span]:
    """Every excerpt `user` may see, filtered, with its codes: one query."""
    visible = filters.excerpts(Excerpt.objects.visible_to(user, project))
    codes_of: dict[int, set[int]] = defaultdict(set)
    where: dict[int, tuple[int, int, int]] = {}
    rows = ExcerptCode.objects.filter(excerpt__in=visible.values("pk")).values_list(
        "excerpt_id", "code_id", "excerpt__fieldnote_id", "excerpt__start", "excerpt__end"
    )
    for excerpt_id, code_id, fieldnote_id, start, end in rows:
        codes_of[excerpt_id].add(code_id)
        where[excerpt_id] = (fieldnote_id, start, end)
    return [Span(pk, *where[pk], frozenset(found)) for pk, found in codes_of.items()]


def cooccurrence(*, user, project, filters: Filters) -> Cooccurrence:
    """The code-by-code matrix of overlapping excerpts and the code-by-fieldnote table.

    Four queries: the codebook, its codes, every visible excerpt with its codes, and the latest
    versions of the fieldnotes. Archived codes and folders appear only while they have excerpts.
    """
    codes = project.codebook.tree(include_archived=True)
    spans = visible_spans(user=user, project=project, filters=filters)
    per_code, pairs = cooccurrence_counts(spans)
    shown = [code for code in codes if per_code[code.pk] or (code.is_codable and not code.archived)]
    fieldnotes = list(
        filters.fieldnotes(Fieldnote.objects.in_project(project).latest_versions())
        .annotate(length=Length("text"))
        .order_by("meeting__starts_at", "meeting_id", "observer__name", "pk")
        .values("pk", "title", "length", "meeting__title", "observer__name")
    )
    base = {code.pk: reverse("analysis:retrieval", args=[project.pk, code.pk]) for code in shown}

    def link(code_id, **extra):
        query = urlencode(filters.query() | extra)
        return f"{base[code_id]}?{query}" if query else base[code_id]

    cuts = heat_cuts(pairs[a.pk, b.pk] for a in shown for b in shown if a.pk < b.pk)
    matrix = [Row(a, [_pair_cell(a, b, per_code, pairs, cuts, link) for b in shown]) for a in shown]
    table = code_fieldnote_counts(spans)
    by_fieldnote = [
        Row(code, [_fieldnote_cell(code, note, table, link) for note in fieldnotes])
        for code in shown
    ]
    return Cooccurrence(shown, matrix, fieldnotes, by_fieldnote, len(spans))


def _pair_cell(a, b, per_code, pairs, cuts, link) -> Cell:
    if a.pk == b.pk:
        count = per_code[a.pk]
        return Cell(count, link(a.pk) if count else "", diagonal=True)
    count = pairs[a.pk, b.pk]
    return Cell(count, link(a.pk, **{"with": b.pk}) if count else "", heat_level(count, cuts))


def _fieldnote_cell(code, note, table, link) -> Cell:
    count, covered = table.get((code.pk, note["pk"]), (0, 0))
    url = link(code.pk, fieldnote=note["pk"]) if count else ""
    return Cell(count, url, share=share_text(covered, note["length"]))
