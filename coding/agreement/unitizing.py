"""Krippendorff's unitizing alpha (alpha-U) over one continuum.

Coders mark units on a continuum (a text, as character offsets) and give each unit a code.
Alpha-U compares where the units begin and end, code by code, and corrects for the agreement
expected by chance given the units' lengths. Definitions follow

- Krippendorff, K. (2004), *Content Analysis: An Introduction to Its Methodology*, 2nd ed.,
  its coefficient for unitizing (the worked example on p. 254), and
- DKPro Statistics, `org.dkpro.statistics.agreement.unitizing.KrippendorffAlphaUnitizingAgreement`,
  whose results this module reproduces (see tests/agreement/test_unitizing.py).

For one code c, each coder's units of c and the gaps between them ("sections": beginning b,
length l, w = 1 for a unit and 0 for a gap) partition the continuum of length L. Between a
section g of coder i and a section h of coder j:

    δ² = (b_g - b_h)² + (b_g + l_g - b_h - l_h)²    both units and they overlap
       = l_g²                                       unit g lies within gap h
       = l_h²                                       unit h lies within gap g
       = 0                                          otherwise

    D_o(c) = Σ_i Σ_{j≠i} Σ_g Σ_h δ² / (m (m - 1) L²)                   m = number of coders

    D_e(c) = 2/L · Σ_units u [ (N_c - 1) (2l_u³ - 3l_u² + l_u) / 3
                               + l_u² Σ_gaps h with l_h ≥ l_u (l_h - l_u + 1) ]
             / ( mL (mL - 1) - Σ_units u l_u (l_u - 1) )

with N_c the number of units of c over all coders and both sums running over every coder's
units and gaps. alpha_c = 1 - D_o(c) / D_e(c), and over all codes
alpha = 1 - Σ_c D_o(c) / Σ_c D_e(c) (DKPro averages both over the codes, which is the same).

Positions are integers (character offsets); sums are exact integers until the final division.
"""

import operator
from bisect import bisect_left
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import accumulate


@dataclass(frozen=True)
class UnitizingResult:
    overall: float | None  # 1 - Σ_c D_o(c) / Σ_c D_e(c); None when Σ_c D_e(c) is 0
    by_code: dict  # code -> alpha for that code, or None when undefined
    observed: dict  # code -> D_o(c), or None with fewer than two coders
    expected: dict  # code -> D_e(c), or None with fewer than two coders
    coders: tuple  # the coders compared (m = len(coders))


def unitizing_alpha(
    units: Iterable[tuple], *, begin: int, length: int, coders: Iterable[Hashable] | None = None
) -> UnitizingResult:
    """Krippendorff's alpha-U for `units`, an iterable of (start, length, coder, code) on the
    continuum [begin, begin + length). Positions are integers; coders and codes any hashables.

    The coders compared are those given in `coders` or, by default, every coder who appears in
    `units` (for any code). As in DKPro, where the study states its raters, a coder who marked no
    unit of some code still counts for that code, as having left the whole continuum a gap; a
    coder who appears nowhere in `units` is unknown unless passed in `coders`. Codes are those
    that appear in `units`, in order of first appearance.

    Overlapping units of one coder and one code are merged into their union first: Krippendorff's
    definition needs each coder's units of a code not to overlap (the units and gaps partition
    the continuum), and DKPro leaves the result of overlapping units undefined. Units that only
    touch (one ends where the next begins) stay two units, as in Krippendorff's 1995 examples.

    Undefined coefficients are None: with fewer than two coders, for a code with no expected
    disagreement, and `overall` when the summed expected disagreement is 0 (so also when nothing
    is coded). Bad input raises ValueError: a continuum length <= 0, a unit whose length is <= 0
    or which lies outside the continuum, a unit by a coder not among `coders`.

    Cost is O(n log n + n·m) for n units and m coders, independent of the continuum's length.
    """
    begin = _integer(begin, "begin of the continuum")
    total = _integer(length, "length of the continuum")
    if total <= 0:
        raise ValueError(f"the continuum must have a positive length, got length={total}")
    end = begin + total
    known = None if coders is None else tuple(dict.fromkeys(coders))
    allowed = None if known is None else set(known)

    # code -> coder -> [(start, end), ...]
    spans: dict = {}
    seen: dict = {}
    for unit in units:
        try:
            start, size, coder, code = unit
        except (TypeError, ValueError):
            raise ValueError(
                f"each unit must be a (start, length, coder, code) tuple, got {unit!r}"
            ) from None
        start = _integer(start, "unit start")
        size = _integer(size, "unit length")
        if size <= 0:
            raise ValueError(f"zero-length unit (length {size} <= 0): {unit!r}")
        if start < begin or start + size > end:
            raise ValueError(
                f"unit {unit!r} covers [{start}, {start + size}), outside the continuum "
                f"[{begin}, {end})"
            )
        if allowed is not None and coder not in allowed:
            raise ValueError(f"unit {unit!r} is by coder {coder!r}, who is not among the coders")
        seen[coder] = None
        spans.setdefault(code, {}).setdefault(coder, []).append((start, start + size))

    raters = known if known is not None else tuple(seen)
    m = len(raters)
    by_code, observed, expected = {}, {}, {}
    for code, per_coder in spans.items():
        if m < 2:
            by_code[code] = observed[code] = expected[code] = None
            continue
        sections = [_merged(found) for found in per_coder.values()]
        observed[code] = _observed(sections, m, total)
        expected[code] = _expected(sections, m, begin, end)
        by_code[code] = 1.0 - observed[code] / expected[code] if expected[code] > 0 else None

    summed_expected = sum(value for value in expected.values() if value is not None)
    overall = None
    if summed_expected > 0:
        summed_observed = sum(value for value in observed.values() if value is not None)
        overall = 1.0 - summed_observed / summed_expected
    return UnitizingResult(overall, by_code, observed, expected, raters)


def _integer(value, what: str) -> int:
    # Krippendorff's expected disagreement counts positions (the "+ 1" and "- 1" terms), so
    # positions must be whole numbers; bool is refused because True as an offset is a mistake.
    if type(value) is int:  # the common case, checked first because it runs for every unit
        return value
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be an integer, got {value!r}") from None


def _merged(found: list) -> list:
    """One coder's units of one code, sorted, with overlapping units merged into one."""
    found.sort()
    merged = [found[0]]
    for start, stop in found[1:]:
        last_start, last_stop = merged[-1]
        if start < last_stop:  # strictly overlapping; touching units stay apart
            if stop > last_stop:
                merged[-1] = (last_start, stop)
        else:
            merged.append((start, stop))
    return merged


def _observed(sections: list, m: int, total: int) -> float:
    """D_o for one code. Only two kinds of pairs of sections contribute: two overlapping units
    of different coders, and a unit lying inside another coder's gap. A unit lies inside a gap of
    coder j exactly when it overlaps none of j's units (j's gaps are everything between j's
    units), so a sweep over the units finds every contributing pair without building the gaps.
    """
    units = sorted(
        (start, stop, who) for who, found in enumerate(sections) for start, stop in found
    )
    disagreement = 0
    partners = [0] * len(units)  # per unit, a bit per coder whose units it overlaps
    active: list = []  # units begun so far that may still overlap the next ones
    for index, (start, stop, who) in enumerate(units):
        # Each coder's own units do not overlap, so at most one per coder stays active.
        active = [other for other in active if other[1] > start]
        for other_start, other_stop, other_who, other_index in active:
            if other_who != who:
                disagreement += (start - other_start) ** 2 + (stop - other_stop) ** 2
                partners[index] |= 1 << other_who
                partners[other_index] |= 1 << who
        active.append((start, stop, who, index))
    # Σ_i Σ_{j≠i} counts every overlapping pair twice, once from each coder.
    disagreement *= 2
    for (start, stop, _who), overlapped in zip(units, partners, strict=True):
        # A unit inside coder j's gap counts twice too: as pair (i, j) and as pair (j, i).
        alone_against = m - 1 - overlapped.bit_count()
        disagreement += 2 * (stop - start) ** 2 * alone_against
    return disagreement / (m * (m - 1) * total * total)


def _expected(sections: list, m: int, begin: int, end: int) -> float:
    """D_e for one code: the disagreement expected if every coder's units were placed anywhere
    on the continuum, measured against the gaps all coders left."""
    total = end - begin
    lengths = [stop - start for found in sections for start, stop in found]
    gaps = []
    for found in sections:
        position = begin
        for start, stop in found:
            if start > position:
                gaps.append(start - position)
            position = stop
        if end > position:
            gaps.append(end - position)
    # Coders who marked no unit of this code left the whole continuum a gap.
    gaps += [total] * (m - len(sections))
    gaps.sort()
    # tail[k] = sum of gaps[k:], so Σ_{gaps >= l} (gap - l + 1) is a lookup per unit.
    tail = list(accumulate(reversed(gaps), initial=0))[::-1]

    count = len(lengths)
    numerator = 0
    for size in lengths:
        first = bisect_left(gaps, size)
        fitting = tail[first] - (len(gaps) - first) * (size - 1)
        # l(l-1)(2l-1) = 2l³ - 3l² + l is a multiple of 6, so the division by 3 is exact.
        numerator += (count - 1) * (size * (size - 1) * (2 * size - 1) // 3)
        numerator += size * size * fitting
    denominator = m * total * (m * total - 1) - sum(size * (size - 1) for size in lengths)
    return 2 * numerator / (total * denominator)
