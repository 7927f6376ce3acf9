"""What the coding page shows: which excerpts, as runs of text, for whom."""

from dataclasses import dataclass

from django.db.models import Prefetch

from .models import Code, Excerpt
from .runs import Span, render_runs, segment, window


@dataclass
class View:
    """Whose coding the page shows, and which code it is filtered to."""

    coders: list[int] | None  # None: everyone visible
    code: int | None = None

    @classmethod
    def from_request(cls, data, *, user, role):
        """Coders see their own coding; a PI sees everyone's, or the coders ticked."""
        code = data.get("code", "")
        code = int(code) if code.isdigit() else None
        if role != "pi":
            return cls(coders=[user.pk], code=code)
        chosen = [int(value) for value in data.getlist("coder") if value.isdigit()]
        return cls(coders=chosen or None, code=code)

    def query(self) -> str:
        parts = ["coders=all"] if self.coders is None else [f"coder={pk}" for pk in self.coders]
        if self.code:
            parts.append(f"code={self.code}")
        return "&".join(parts)


def visible_excerpts(*, fieldnote, user, project, view: View):
    excerpts = Excerpt.objects.visible_to(user, project).filter(fieldnote=fieldnote)
    if view.coders is not None:
        excerpts = excerpts.filter(coder_id__in=view.coders)
    if view.code:
        excerpts = excerpts.filter(excerpt_codes__code_id=view.code)
    return (
        excerpts.select_related("coder")
        .prefetch_related(
            Prefetch("codes", queryset=Code.objects.only("pk", "name", "colour", "position"))
        )
        .order_by("start", "pk")
        .distinct()
    )


def spans_of(excerpts) -> list[Span]:
    return [
        Span(
            e.pk,
            e.start,
            e.end,
            tuple(code.pk for code in sorted(e.codes.all(), key=lambda c: (c.position, c.pk))),
        )
        for e in excerpts
    ]


def text_html(text: str, spans: list[Span]) -> str:
    return render_runs(text, segment(0, len(text), spans), {span.id: span for span in spans})


def window_html(
    text: str, spans: list[Span], changed_id: int | None, lo: int, hi: int
) -> tuple[int, int, str]:
    """Re-render only the stretch around [lo, hi) that one excerpt's change touched."""
    others = [span for span in spans if span.id != changed_id]
    left, right = window(len(text), others, lo, hi)
    runs = segment(left, right, spans)
    return left, right, render_runs(text, runs, {span.id: span for span in spans})
