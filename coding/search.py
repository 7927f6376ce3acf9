"""Full-text search across a project: its fieldnotes (latest versions), excerpt memos and memos.

`search_project` is the one entry point; the backend follows the database. PostgreSQL ranks and
stems with its "english" text search configuration; SQLite, the embedded default, falls back to
case-insensitive substrings (every term must occur; more occurrences rank higher).

Both backends end in the same place: the spans of the hits in the stored text, in code points.
Snippets are cut around those spans in Python, so they look the same on either database and the
offsets are exact. PostgreSQL finds the spans through ts_headline with markers that are stripped
from the text first, so no marker can come from the text itself; its output is never rendered,
only used to locate the hits in the original text, which is escaped before <mark> is added.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, Q, Value
from django.db.models.functions import Replace, Substr
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from fieldnotes.models import Fieldnote

from .models import Excerpt, ProjectMemo

MAX_QUERY_LENGTH = 200
MAX_RESULTS = 50  # per group
SNIPPETS = 3  # per result
CONTEXT = 60  # characters of text either side of a hit
CONFIG = "english"
START, STOP = "\x02", "\x03"

Span = tuple[int, int]


class QueryTooLong(ValueError):
    """The search text is longer than the form allows; the message says by how much."""


@dataclass(frozen=True)
class FieldnoteHit:
    fieldnote_id: int
    title: str
    observer: str
    meeting: str
    snippets: list[SafeString]
    start: int  # the first hit, [start, end) in code points of the stored text
    end: int
    hits: int
    code_url: str  # the coding page with the first hit selected


@dataclass(frozen=True)
class ExcerptMemoHit:
    excerpt_id: int
    fieldnote_id: int
    fieldnote_title: str
    coder: str
    quote: str
    snippets: list[SafeString]
    code_url: str  # the coding page with the excerpt selected


@dataclass(frozen=True)
class ProjectMemoHit:
    memo_id: int
    title: SafeString
    author: str
    snippets: list[SafeString]


@dataclass
class SearchResults:
    query: str
    fieldnotes: list[FieldnoteHit] = field(default_factory=list)
    excerpt_memos: list[ExcerptMemoHit] = field(default_factory=list)
    project_memos: list[ProjectMemoHit] = field(default_factory=list)
    stemmed: bool = False  # True on PostgreSQL: "speaks" also finds "speaking"
    limit: int = MAX_RESULTS  # per group; the best ones are kept

    @property
    def count(self) -> int:
        return len(self.fieldnotes) + len(self.excerpt_memos) + len(self.project_memos)


def search_project(*, project, user, query: str) -> SearchResults:
    """Everything in `project` that `user` may read and that matches `query`.

    `project` carries the user's `role` (from `get_project_for`); blind coding rounds hide other
    coders' excerpt memos exactly as they hide their excerpts.
    """
    query = unicodedata.normalize("NFC", query.strip())
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryTooLong(
            f"Search for at most {MAX_QUERY_LENGTH} characters; "
            f"this search has {len(query)}. Shorten it and try again."
        )
    if not query:
        return SearchResults(query=query)
    if connection.vendor == "postgresql":
        return _search_postgresql(project, user, query)
    return _search_substrings(project, user, query)


def code_url(project_id: int, fieldnote_id: int, start: int, end: int) -> str:
    return f"/projects/{project_id}/fieldnotes/{fieldnote_id}/code/?select={start}-{end}"


def _latest_fieldnotes(project):
    return (
        Fieldnote.objects.in_project(project)
        .latest_versions()
        .select_related("observer", "meeting")
        .only("pk", "title", "text", "observer__name", "meeting__title")
    )


def _excerpts_with_memos(project, user):
    return (
        Excerpt.objects.visible_to(user, project)
        .filter(fieldnote__next_version__isnull=True)
        .exclude(memo="")
        .select_related("coder")
        .annotate(
            fieldnote_title=F("fieldnote__title"),
            quote=Substr("fieldnote__text", F("start") + 1, F("end") - F("start")),
        )
    )


def _project_memos(project):
    return ProjectMemo.objects.filter(project=project).select_related("author")


def _person(user) -> str:
    if user is None:
        return "A former member"
    return user.get_full_name() or user.username


def _fieldnote_hit(project, note, spans, hits) -> FieldnoteHit:
    start, end = spans[0]
    return FieldnoteHit(
        fieldnote_id=note.pk,
        title=note.title,
        observer=note.observer.name,
        meeting=note.meeting.title,
        snippets=build_snippets(note.text, spans),
        start=start,
        end=end,
        hits=hits,
        code_url=code_url(project.pk, note.pk, start, end),
    )


def _excerpt_hit(project, excerpt, spans) -> ExcerptMemoHit:
    return ExcerptMemoHit(
        excerpt_id=excerpt.pk,
        fieldnote_id=excerpt.fieldnote_id,
        fieldnote_title=excerpt.fieldnote_title,
        coder=_person(excerpt.coder),
        quote=excerpt.quote,
        snippets=build_snippets(excerpt.memo, spans),
        code_url=code_url(project.pk, excerpt.fieldnote_id, excerpt.start, excerpt.end),
    )


def _memo_hit(memo, title_spans, text_spans) -> ProjectMemoHit:
    return ProjectMemoHit(
        memo_id=memo.pk,
        title=highlight(memo.title, title_spans),
        author=_person(memo.author),
        snippets=build_snippets(memo.text, text_spans) if text_spans else [],
    )


# PostgreSQL: websearch syntax ("a phrase", -not, or), stemming, ts_rank.


def _search_postgresql(project, user, query) -> SearchResults:
    from django.contrib.postgres.search import (
        SearchHeadline,
        SearchQuery,
        SearchRank,
        SearchVector,
    )

    tsquery = SearchQuery(query, search_type="websearch", config=CONFIG)

    def marked(name):
        # Markers are removed from the text first, so every marker in the output is ours.
        text = Replace(Replace(F(name), Value(START), Value("")), Value(STOP), Value(""))
        return SearchHeadline(
            text, tsquery, config=CONFIG, start_sel=START, stop_sel=STOP, highlight_all=True
        )

    def matching(queryset, document, **headlines):
        return (
            queryset.alias(document=document)
            .filter(document=tsquery)
            .annotate(rank=SearchRank(document, tsquery), **headlines)
        )

    results = SearchResults(query=query, stemmed=True)
    notes = matching(
        _latest_fieldnotes(project),
        SearchVector("text", config=CONFIG),
        marked_text=marked("text"),
    )
    for note in notes.order_by("-rank", "title", "pk")[:MAX_RESULTS]:
        spans = spans_from_marked(note.marked_text, note.text)
        if spans:
            results.fieldnotes.append(_fieldnote_hit(project, note, spans, len(spans)))

    excerpts = matching(
        _excerpts_with_memos(project, user),
        SearchVector("memo", config=CONFIG),
        marked_memo=marked("memo"),
    )
    for excerpt in excerpts.order_by("-rank", "fieldnote_title", "start", "pk")[:MAX_RESULTS]:
        spans = spans_from_marked(excerpt.marked_memo, excerpt.memo)
        if spans:
            results.excerpt_memos.append(_excerpt_hit(project, excerpt, spans))

    memos = matching(
        _project_memos(project),
        # A word in the title counts for more than the same word in the text.
        SearchVector("title", config=CONFIG, weight="A")
        + SearchVector("text", config=CONFIG, weight="B"),
        marked_title=marked("title"),
        marked_text=marked("text"),
    )
    for memo in memos.order_by("-rank", "title", "pk")[:MAX_RESULTS]:
        title_spans = spans_from_marked(memo.marked_title, memo.title)
        text_spans = spans_from_marked(memo.marked_text, memo.text)
        if title_spans or text_spans:
            results.project_memos.append(_memo_hit(memo, title_spans, text_spans))
    return results


def spans_from_marked(marked: str, original: str) -> list[Span]:
    """The hits that ts_headline marked, as spans of `original`.

    The headline is normally the original text with markers around the hits, and the spans
    follow from the lengths of the pieces. ts_headline rebuilds its output from its parser's
    tokens, though, so where the two differ each piece is looked up in the original from where
    the previous one ended, a hit only as a whole word.
    """
    pieces = MARKERS.split(marked)
    if "".join(pieces) == original:
        spans, cursor = [], 0
        for index, piece in enumerate(pieces):
            if index % 2:  # between a START and its STOP
                spans.append((cursor, cursor + len(piece)))
            cursor += len(piece)
        return [(start, end) for start, end in spans if end > start]
    spans = []
    cursor = 0
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        if index % 2:
            match = re.compile(rf"(?<!\w){re.escape(piece)}(?!\w)").search(original, cursor)
            if match:
                spans.append(match.span())
                cursor = match.end()
        else:
            found = original.find(piece, cursor)
            if found >= 0:
                cursor = found + len(piece)
    return spans


MARKERS = re.compile(f"{START}|{STOP}")


# SQLite (and any other database): case-insensitive substrings, every term must occur.


def _search_substrings(project, user, query) -> SearchResults:
    terms = query_terms(query)
    results = SearchResults(query=query)
    if not terms:
        return results

    found = []
    for note in _narrow(_latest_fieldnotes(project), terms, "text"):
        spans, hits = find_terms(note.text, terms)
        if spans:
            found.append((-hits, note.title, note.pk, note, spans, hits))
    for *_, note, spans, hits in sorted(found, key=lambda row: row[:3])[:MAX_RESULTS]:
        results.fieldnotes.append(_fieldnote_hit(project, note, spans, hits))

    found = []
    for excerpt in _narrow(_excerpts_with_memos(project, user), terms, "memo"):
        spans, hits = find_terms(excerpt.memo, terms)
        if spans:
            key = (-hits, excerpt.fieldnote_title, excerpt.start, excerpt.pk)
            found.append((*key, excerpt, spans))
    for *_, excerpt, spans in sorted(found, key=lambda row: row[:4])[:MAX_RESULTS]:
        results.excerpt_memos.append(_excerpt_hit(project, excerpt, spans))

    found = []
    for memo in _narrow(_project_memos(project), terms, "title", "text"):
        # Every term must occur in the title or the text; each is highlighted where it occurs.
        both = _fold(f"{memo.title}\n{memo.text}")
        if all(_fold(term) in both for term in terms):
            title_spans, title_hits = find_terms(memo.title, terms, require_all=False)
            text_spans, text_hits = find_terms(memo.text, terms, require_all=False)
            hits = title_hits + text_hits
            found.append((-hits, memo.title, memo.pk, memo, title_spans, text_spans))
    for *_, memo, title_spans, text_spans in sorted(found, key=lambda row: row[:3])[:MAX_RESULTS]:
        results.project_memos.append(_memo_hit(memo, title_spans, text_spans))
    return results


def _narrow(queryset, terms, *fields):
    """Let the database drop rows that cannot match; Python decides for the rest.

    SQLite's LIKE ignores case for ASCII letters only, so only ASCII terms are sent to it.
    """
    for term in terms:
        if term.isascii():
            condition = Q()
            for name in fields:
                condition |= Q(**{f"{name}__icontains": term})
            queryset = queryset.filter(condition)
    return queryset


QUERY_TERM = re.compile(r'"([^"]+)"|(\S+)')


def query_terms(query: str) -> list[str]:
    """Words, and "quoted phrases" as one term; each once, in the order given."""
    terms: list[str] = []
    for match in QUERY_TERM.finditer(unicodedata.normalize("NFC", query)):
        term = " ".join((match.group(1) or match.group(2)).strip('"').split())
        if term and _fold(term) not in {_fold(known) for known in terms}:
            terms.append(term)
    return terms


def _fold(text: str) -> str:
    """Lower case, one character for one, so that positions in the result are positions in text.

    The few characters whose lower case is longer (the Turkish dotted İ) are left as they are.
    """
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def find_terms(text: str, terms: list[str], *, require_all: bool = True) -> tuple[list[Span], int]:
    """The spans where any term occurs, merged where they overlap, and the number of occurrences.

    With `require_all`, nothing is found unless every term occurs.
    """
    folded = _fold(text)
    spans: list[Span] = []
    hits = 0
    for term in terms:
        needle = _fold(term)
        position = folded.find(needle)
        if position < 0 and require_all:
            return [], 0
        while position >= 0:
            spans.append((position, position + len(needle)))
            hits += 1
            position = folded.find(needle, position + len(needle))
    return merge_spans(spans), hits


def merge_spans(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# Snippets: plain Python on the stored text, the same for every backend.

WHITESPACE = re.compile(r"\s+")


def highlight(text: str, spans: list[Span]) -> SafeString:
    """All of `text`, escaped, with each span in <mark>; whitespace runs shown as one space."""
    return mark_safe(_marked_html(text, 0, len(text), spans))


def build_snippets(text: str, spans: list[Span], *, limit: int = SNIPPETS) -> list[SafeString]:
    """Up to `limit` passages around the hits, cut at word boundaries, escaped, hits in <mark>.

    Hits close together share one passage; an ellipsis shows where the text goes on.
    """
    windows: list[tuple[int, int, list[Span]]] = []
    for start, end in spans:
        low = _word_start(text, max(0, start - CONTEXT), start)
        high = _word_end(text, min(len(text), end + CONTEXT), end)
        if windows and low <= windows[-1][1]:
            previous_low, previous_high, inside = windows[-1]
            windows[-1] = (previous_low, max(previous_high, high), [*inside, (start, end)])
        elif len(windows) < limit:
            windows.append((low, high, [(start, end)]))
        else:
            break
    snippets = []
    for low, high, inside in windows:
        html = _marked_html(text, low, high, inside)
        before = "…" if low > 0 else ""
        after = "…" if high < len(text) else ""
        snippets.append(mark_safe(f"{before}{html}{after}"))
    return snippets


def _word_start(text: str, low: int, hit_start: int) -> int:
    if low > 0 and not text[low - 1].isspace():
        gap = WHITESPACE.search(text, low, hit_start)
        if gap:
            low = gap.end()
    while low < hit_start and text[low].isspace():
        low += 1
    return low


def _word_end(text: str, high: int, hit_end: int) -> int:
    if high < len(text) and not text[high].isspace():
        gaps = list(WHITESPACE.finditer(text, hit_end, high))
        if gaps:
            high = gaps[-1].start()
    while high > hit_end and text[high - 1].isspace():
        high -= 1
    return high


def _marked_html(text: str, low: int, high: int, spans: list[Span]) -> str:
    parts = []
    cursor = low
    for start, end in spans:
        start, end = max(start, low), min(end, high)
        if start >= end:
            continue
        parts.append(_plain(text[cursor:start]))
        parts.append(f"<mark>{_plain(text[start:end])}</mark>")
        cursor = end
    parts.append(_plain(text[cursor:high]))
    return "".join(parts)


def _plain(text: str) -> str:
    return escape(WHITESPACE.sub(" ", text))
