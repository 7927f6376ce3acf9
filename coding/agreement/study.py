"""Every measure over a whole study at once: per text and code, per code over all texts, and
over everything. The report layer hands in plain texts and spans and stores what comes back.

Pooling follows each measure's own logic. Character counts add up over texts (every character of
every text is a unit). Unitizing alpha treats the texts as one continuum laid end to end, as
Krippendorff's coefficient is defined for a single continuum. Segment matching counts the
segments matched out of all segments.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .characters import CharacterResult, character_agreement, pool
from .segments import SegmentResult, segment_agreement
from .unitizing import unitizing_alpha


@dataclass(frozen=True)
class Text:
    key: object
    length: int
    spans: list  # (coder, code, start, end)


@dataclass(frozen=True)
class Figures:
    """One code (or all codes) in one text (or all texts)."""

    characters: CharacterResult
    unitizing: float | None = None
    segments_matched: int = 0
    segments_total: int = 0

    @property
    def segment_share(self) -> float | None:
        if self.segments_total == 0:
            return None
        return self.segments_matched / self.segments_total


@dataclass(frozen=True)
class StudyResult:
    coders: tuple
    codes: tuple
    by_text: dict  # text key -> code -> Figures
    by_code: dict  # code -> Figures over all texts
    overall: Figures  # all codes over all texts
    segments: dict  # text key -> SegmentResult (the matched and unmatched segments)


def compare_study(
    texts: Iterable[Text],
    *,
    coders,
    codes=None,
    exclude_uncoded: bool = False,
    threshold: float = 0.9,
    unitizing: bool = True,
    segments: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> StudyResult:
    """`coders` are the coders compared (one who coded nothing in a text counts as having coded
    nothing there); `codes` defaults to every code used. `progress(done, total)` is called after
    each text."""
    texts = list(texts)
    coders = tuple(coders)
    if codes is None:
        codes = list(dict.fromkeys(span[1] for text in texts for span in text.spans))
    codes = tuple(codes)
    wanted, compared = set(codes), set(coders)
    by_text, found_segments = {}, {}
    laid_out, offset = [], 0
    for done, text in enumerate(texts, start=1):
        spans = [span for span in text.spans if span[1] in wanted and span[0] in compared]
        characters = character_agreement(
            spans, length=text.length, exclude_uncoded=exclude_uncoded, coders=coders, codes=codes
        )
        units = (
            unitizing_alpha(
                [(s, e - s, coder, code) for coder, code, s, e in spans],
                begin=0,
                length=text.length,
                coders=coders,
            )
            if unitizing and text.length > 0
            else None
        )
        matched = segment_agreement(spans, threshold=threshold) if segments else None
        figures = {}
        for code in codes:
            count = matched.counts.get(code, (0, 0)) if matched else (0, 0)
            figures[code] = Figures(
                characters[code],
                units.by_code.get(code) if units else None,
                *count,
            )
        by_text[text.key] = figures
        if matched is not None:
            found_segments[text.key] = matched
        laid_out += [(s + offset, e - s, coder, code) for coder, code, s, e in spans]
        offset += text.length
        if progress is not None:
            progress(done, len(texts))

    whole = (
        unitizing_alpha(laid_out, begin=0, length=offset, coders=coders)
        if unitizing and offset
        else None
    )
    by_code = {}
    for code in codes:
        per_text = [by_text[text.key][code] for text in texts]
        by_code[code] = Figures(
            pool(f.characters for f in per_text) if per_text else _empty(coders),
            whole.by_code.get(code) if whole else None,
            sum(f.segments_matched for f in per_text),
            sum(f.segments_total for f in per_text),
        )
    overall = Figures(
        pool(f.characters for f in by_code.values()) if by_code else _empty(coders),
        whole.overall if whole else None,
        sum(f.segments_matched for f in by_code.values()),
        sum(f.segments_total for f in by_code.values()),
    )
    return StudyResult(coders, codes, by_text, by_code, overall, found_segments)


def _empty(coders) -> CharacterResult:
    return CharacterResult(coders, 0, dict.fromkeys(coders, 0), (0,) * (len(coders) + 1))


__all__ = ["Figures", "SegmentResult", "StudyResult", "Text", "compare_study"]
