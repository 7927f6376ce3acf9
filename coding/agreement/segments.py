"""Segment matching as MAXQDA users know it ("segment overlap of at least x %").

A coder's segment agrees when another coder gave the same code to a segment overlapping it by at
least `threshold` of their union (the overlap divided by the stretch from the earlier start to the
later end). Each segment is judged on its own, so per code the percent agreement is the share of
all coders' segments that found such a partner.
"""

from dataclasses import dataclass, field
from typing import NamedTuple


class Segment(NamedTuple):
    coder: object
    code: object
    start: int
    end: int


@dataclass(frozen=True)
class SegmentResult:
    pairs: list  # (Segment, Segment) from two different coders that match
    unmatched: dict  # coder -> [Segment] that no other coder matched
    by_code: dict  # code -> share of segments matched, None when the code has no segments
    counts: dict = field(default_factory=dict)  # code -> (segments matched, segments in all)
    # (Segment, Segment) of two coders that overlap, but by less than the threshold
    partial: list = field(default_factory=list)


def segment_agreement(spans, *, threshold: float = 0.9) -> SegmentResult:
    """`spans` as (coder, code, start, end)."""
    if not 0 < threshold <= 1:
        raise ValueError(f"The overlap threshold must be above 0 and at most 1; got {threshold!r}.")
    by_code: dict = {}
    coders = []
    for coder, code, start, end in spans:
        if start < 0 or start >= end:
            problem = "is empty (zero length)" if start == end else "has no valid extent"
            raise ValueError(f"The span {start}–{end} of coder {coder!r}, code {code!r} {problem}.")
        by_code.setdefault(code, []).append(Segment(coder, code, start, end))
        coders.append(coder)
    pairs, partial = [], []
    unmatched = {coder: [] for coder in dict.fromkeys(coders)}
    shares, counts = {}, {}
    for code, segments in by_code.items():
        segments.sort(key=lambda s: (s.start, s.end))
        matched = [False] * len(segments)
        for i, first in enumerate(segments):
            for j in range(i + 1, len(segments)):
                second = segments[j]
                if second.start >= first.end:
                    break
                if second.coder == first.coder:
                    continue
                overlap = min(first.end, second.end) - second.start
                union = max(first.end, second.end) - first.start
                if overlap >= threshold * union - 1e-9:  # 0.9 * 100 is 90.00000000000001
                    pairs.append((first, second))
                    matched[i] = matched[j] = True
                elif overlap > 0:
                    partial.append((first, second))
        for segment, found in zip(segments, matched, strict=True):
            if not found:
                unmatched[segment.coder].append(segment)
        counts[code] = (sum(matched), len(segments))
        shares[code] = sum(matched) / len(segments)
    return SegmentResult(pairs, unmatched, shares, counts, partial)
