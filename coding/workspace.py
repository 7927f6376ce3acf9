"""What the coding page shows: which excerpts, as runs of text and as entries in the list.

Both are built from plain rows (two queries, no model instances) and written as HTML in Python:
a long fieldnote has thousands of excerpts, and the template engine would take seconds.
"""

from dataclasses import dataclass
from html import escape

from django.db.models import Max, Min, Q

from .models import Code, ExcerptCode
from .runs import Span, render_runs, segment


@dataclass
class View:
    """Whose coding the page shows, and which code it is filtered to."""

    coders: list[int] | None  # None: everyone visible
    code: int | None = None

    @classmethod
    def from_request(cls, data, *, user, role):
        """Coders see their own coding; a PI sees everyone's, or the coders ticked."""
        code = data.get("code", "")
        code = int(code) if code.isdecimal() else None
        if role != "pi":
            return cls(coders=[user.pk], code=code)
        chosen = [int(value) for value in data.getlist("coder") if value.isdecimal()]
        return cls(coders=chosen or None, code=code)

    def query(self) -> str:
        parts = [] if self.coders is None else [f"coder={pk}" for pk in self.coders]
        if self.code:
            parts.append(f"code={self.code}")
        return "&".join(parts)


@dataclass
class Row:
    id: int
    start: int
    end: int
    coder: int
    unsure: bool
    has_memo: bool
    needs_review: bool
    review_reason: str
    revision: int
    codes: list[int]


@dataclass(frozen=True)
class CodeLook:
    name: str
    colour: str
    position: tuple


def code_looks(project, tree=None) -> dict[int, CodeLook]:
    """Name, colour and sort position of every code in the project. From the code tree when the
    caller has read it already; otherwise from five columns, without building model instances
    (the apply-a-code answer has 30 ms in all)."""
    if tree is not None:
        return {
            code.pk: CodeLook(code.name, code.colour, (code.depth, code.position, code.pk))
            for code in tree
        }
    rows = Code.objects.filter(codebook__project=project).values_list(
        "pk", "parent_id", "name", "colour", "position"
    )
    parents = {}
    found = {}
    for pk, parent_id, name, colour, position in rows:
        parents[pk] = parent_id
        found[pk] = (name, colour, position)

    def depth(pk):
        steps = 0
        while parents.get(pk) is not None and steps < len(parents):
            pk, steps = parents[pk], steps + 1
        return steps

    return {
        pk: CodeLook(name, colour, (depth(pk), position, pk))
        for pk, (name, colour, position) in found.items()
    }


def _visible(*, fieldnote, user, project, view: View):
    from .models import Excerpt

    if view.coders == [user.pk]:
        # One's own excerpts are always visible: no need for the blind-round rule.
        excerpts = Excerpt.objects.filter(fieldnote=fieldnote, coder=user)
        if view.code:
            excerpts = excerpts.filter(excerpt_codes__code_id=view.code)
        return excerpts
    excerpts = Excerpt.objects.visible_on(fieldnote, user, project)
    if view.coders is not None:
        excerpts = excerpts.filter(coder_id__in=view.coders)
    if view.code:
        excerpts = excerpts.filter(excerpt_codes__code_id=view.code)
    return excerpts


def changed_window(*, fieldnote, user, project, view: View, changed_id, lo: int, hi: int):
    """The stretch around [lo, hi) that one excerpt's change touched: its ends are run boundaries
    whether or not the changed excerpt is there (`runs.window`), found by the database in one
    aggregate rather than by reading every excerpt."""
    others = _visible(fieldnote=fieldnote, user=user, project=project, view=view).exclude(
        pk=changed_id
    )
    found = others.aggregate(
        start_below=Max("start", filter=Q(start__lte=lo)),
        end_below=Max("end", filter=Q(end__lte=lo)),
        start_above=Min("start", filter=Q(start__gte=hi)),
        end_above=Min("end", filter=Q(end__gte=hi)),
    )
    left = max(v for v in (found["start_below"], found["end_below"], 0) if v is not None)
    right = min(
        v for v in (found["start_above"], found["end_above"], len(fieldnote.text)) if v is not None
    )
    return left, right


def visible_rows(*, fieldnote, user, project, view: View, looks, within=None) -> list[Row]:
    """The excerpts shown (only those overlapping `within`, when given), as plain rows."""
    excerpts = _visible(fieldnote=fieldnote, user=user, project=project, view=view)
    if within is not None:
        excerpts = excerpts.filter(start__lt=within[1], end__gt=within[0])
    rows = {
        pk: Row(pk, start, end, coder, unsure, memo != "", review, reason, revision, [])
        for pk, start, end, coder, unsure, memo, review, reason, revision in excerpts.order_by(
            "start", "pk"
        ).values_list(
            "pk",
            "start",
            "end",
            "coder_id",
            "unsure",
            "memo",
            "needs_review",
            "review_reason",
            "revision",
        )
    }
    # All the fieldnote's links in one indexed join; those of excerpts not shown are skipped here
    # (cheaper than sending thousands of ids back to the database).
    links = ExcerptCode.objects.filter(excerpt__fieldnote=fieldnote)
    if within is not None:
        links = links.filter(excerpt__start__lt=within[1], excerpt__end__gt=within[0])
    for excerpt_id, code_id in links.values_list("excerpt_id", "code_id"):
        if excerpt_id in rows:
            rows[excerpt_id].codes.append(code_id)
    for row in rows.values():
        row.codes.sort(key=lambda pk: looks[pk].position if pk in looks else (9, 9, pk))
    return list(rows.values())


def spans_of(rows: list[Row]) -> list[Span]:
    return [Span(row.id, row.start, row.end, tuple(row.codes)) for row in rows]


def text_html(text: str, spans: list[Span]) -> str:
    return render_runs(text, segment(0, len(text), spans), {span.id: span for span in spans})


def window_html(text: str, rows: list[Row], left: int, right: int) -> str:
    spans = spans_of(rows)
    return render_runs(text, segment(left, right, spans), {span.id: span for span in spans})


def entry_html(row: Row, *, project_id: int, looks: dict[int, CodeLook], coder_names) -> str:
    """One excerpt in the list beside the text. Chips take their colour from the per-project
    stylesheet (class c<code id>), which keeps the HTML short."""
    chips = "".join(
        f'<span class="chip c{pk}">{escape(looks[pk].name)}</span>'
        for pk in row.codes
        if pk in looks
    )
    notes = [escape(coder_names.get(row.coder, "?")), f"{row.start}–{row.end}"]
    if row.unsure:
        notes.append("unsure")
    if row.has_memo:
        notes.append("memo")
    if row.needs_review:
        notes.append(f"<strong>check: {escape(row.review_reason)}</strong>")
    review = " class=review" if row.needs_review else ""
    return (
        f"<li id=excerpt-{row.id}{review} data-s={row.start}>"
        f"<button type=button class=link>{chips}</button> "
        f"<small>{' · '.join(notes)}</small></li>"
    )


def entries_html(rows, **kwargs) -> str:
    return "".join(entry_html(row, **kwargs) for row in rows)
