"""Agreement over the characters of one text, computed from span boundaries.

Each character is a unit and each coder says, for each code, "coded" or "not coded". Instead of
expanding the text into per-character arrays, the spans' boundaries are sorted and a running sum
of coder bits gives, for each stretch between two boundaries, the set of coders covering it; the
stretches' lengths are added up per set (`patterns`). Percent agreement, Cohen's kappa (for any
two of the coders) and Krippendorff's alpha all follow from those few numbers, so the cost grows
with the number of spans (a sort), not with the length of the text, and results for several texts
or codes pool by adding their counts (`pool`).

For m coders, a stretch of length w that k of them coded contributes to the coincidence matrix
w k(k-1)/(m-1) pairs (coded, coded), w (m-k)(m-k-1)/(m-1) pairs (not, not) and w k(m-k)/(m-1)
mixed pairs in each direction, which gives nominal alpha = 1 - (n - 1) o_01 / (n_0 n_1).
"""

import contextlib
from dataclasses import dataclass, field

import numpy as np

# Sets of coders are bit masks in 64-bit integers, next to the code's number.
MAX_CODERS = 40


@dataclass(frozen=True)
class CharacterResult:
    """One code's agreement over characters. `units` is the number of characters compared (the
    text's length, or the characters anyone coded when uncoded text is left out). `patterns`
    maps each set of coders (a bit mask over `coders`, bit i for coders[i]) to the characters
    coded by exactly that set; it gives the table of any two coders (`pair`)."""

    coders: tuple
    units: int
    coded: dict  # coder -> characters that coder coded with the code
    by_count: tuple  # by_count[k]: characters coded by exactly k of the coders
    patterns: dict = field(default_factory=dict)  # mask -> characters, masks other than 0

    @property
    def table(self) -> tuple | None:
        """Two coders: ((both, first only), (second only, neither))."""
        if len(self.coders) != 2:
            return None
        first, second, both = (self.patterns.get(mask, 0) for mask in (1, 2, 3))
        return ((both, first), (second, self.units - both - first - second))

    @property
    def percent(self) -> float | None:
        """The share of characters on which all coders agree (coded by all or by none); for two
        coders, the usual percent agreement."""
        if self.units == 0 or len(self.coders) < 2:
            return None
        return (self.by_count[0] + self.by_count[-1]) / self.units

    @property
    def cohen_kappa(self) -> float | None:
        if self.table is None or self.units == 0:
            return None
        (both, first), (second, neither) = self.table
        n = self.units
        observed = (both + neither) / n
        expected = ((both + first) * (both + second) + (neither + second) * (neither + first)) / (
            n * n
        )
        if expected >= 1:
            return None
        return (observed - expected) / (1 - expected)

    @property
    def alpha(self) -> float | None:
        m = len(self.coders)
        if m < 2 or self.units < 1:
            return None
        mixed = sum(w * k * (m - k) for k, w in enumerate(self.by_count)) / (m - 1)
        coded = sum(w * k for k, w in enumerate(self.by_count))
        uncoded = self.units * m - coded
        if coded == 0 or uncoded == 0:
            return None
        n = self.units * m
        return 1 - (n - 1) * mixed / (coded * uncoded)

    def pair(self, first, second) -> "CharacterResult":
        """The same characters compared between two of the coders only."""
        i, j = self.coders.index(first), self.coders.index(second)
        patterns = {}
        for mask, width in self.patterns.items():
            sub = (mask >> i & 1) | (mask >> j & 1) << 1
            if sub:
                patterns[sub] = patterns.get(sub, 0) + width
        by_count = [0, patterns.get(1, 0) + patterns.get(2, 0), patterns.get(3, 0)]
        by_count[0] = self.units - by_count[1] - by_count[2]
        coded = {first: self.coded[first], second: self.coded[second]}
        return CharacterResult((first, second), self.units, coded, tuple(by_count), patterns)


def pool(results) -> CharacterResult:
    """One result over several texts or codes (the same coders throughout): the counts add up."""
    results = list(results)
    if not results:
        raise ValueError("Nothing to pool.")
    coders = results[0].coders
    if any(result.coders != coders for result in results):
        raise ValueError("Results can be pooled only when they compare the same coders.")
    coded = {coder: sum(result.coded[coder] for result in results) for coder in coders}
    by_count = tuple(int(sum(c)) for c in zip(*(r.by_count for r in results), strict=True))
    patterns: dict = {}
    for result in results:
        for mask, width in result.patterns.items():
            patterns[mask] = patterns.get(mask, 0) + width
    return CharacterResult(coders, sum(r.units for r in results), coded, by_count, patterns)


def _check(starts, ends, length, spans):
    bad = (starts < 0) | (ends > length) | (starts >= ends)
    if bad.any():
        coder, code, start, end = spans[int(np.argmax(bad))]
        if start >= end:
            problem = "is empty (zero length)" if start == end else "ends before it starts"
        else:
            problem = f"lies outside the text of {length} characters"
        raise ValueError(f"The span {start}–{end} of coder {coder!r}, code {code!r} {problem}.")


def _merge(groups, starts, ends):
    """Per group, the union of its intervals, as (group, start, end) arrays. Groups are laid end
    to end on one number line so a single running maximum serves them all."""
    if len(starts) == 0:
        return groups, starts, ends
    order = np.lexsort((starts, groups))
    groups, starts, ends = groups[order], starts[order], ends[order]
    stride = int(ends.max()) + 1
    s_key = groups * stride + starts
    e_key = groups * stride + ends
    reach = np.maximum.accumulate(e_key)
    fresh = np.ones(len(starts), dtype=bool)
    fresh[1:] = s_key[1:] > reach[:-1]
    first = np.flatnonzero(fresh)
    last = np.append(first[1:], len(starts)) - 1
    return groups[first], starts[first], reach[last] - groups[first] * stride


def character_agreement(
    spans, *, length: int, exclude_uncoded: bool = False, coders=None, codes=None
) -> dict:
    """For one text of `length` characters and `spans` given as (coder, code, start, end), a
    dict code -> CharacterResult. Coders are those in `spans` unless `coders` names them (a coder
    who coded nothing still counts, as having coded nothing); `codes` adds codes nobody used
    here. A coder's overlapping spans of one code count each character once."""
    if length < 0:
        raise ValueError("A text cannot have a negative length.")
    spans = list(spans)
    if coders is None:
        coders = list(dict.fromkeys(span[0] for span in spans))
        with contextlib.suppress(TypeError):  # coders of mixed types keep their first-seen order
            coders.sort()
    coders = tuple(coders)
    coder_index = {coder: i for i, coder in enumerate(coders)}
    code_list = list(dict.fromkeys([*(codes or ()), *(span[1] for span in spans)]))
    code_index = {code: i for i, code in enumerate(code_list)}
    m, q = len(coders), len(code_list)
    if m > MAX_CODERS:
        raise ValueError(f"Character agreement compares at most {MAX_CODERS} coders; got {m}.")
    try:
        who = np.fromiter((coder_index[s[0]] for s in spans), dtype=np.int64, count=len(spans))
    except KeyError as missing:
        raise ValueError(f"The span's coder {missing.args[0]!r} is not among the coders.") from None
    what = np.fromiter((code_index[s[1]] for s in spans), dtype=np.int64, count=len(spans))
    starts = np.fromiter((s[2] for s in spans), dtype=np.int64, count=len(spans))
    ends = np.fromiter((s[3] for s in spans), dtype=np.int64, count=len(spans))
    _check(starts, ends, length, spans)

    if exclude_uncoded:
        _, all_starts, all_ends = _merge(np.zeros(len(starts), dtype=np.int64), starts, ends)
        units = int((all_ends - all_starts).sum())
    else:
        units = length

    # Each coder's coverage per code, overlaps merged: every character counts once per coder.
    pair, starts, ends = _merge(what * max(m, 1) + who, starts, ends)
    what, who = pair // max(m, 1), pair % max(m, 1)
    coded = np.bincount(pair, weights=ends - starts, minlength=q * m).reshape(q, m)

    # Boundaries sorted by code, then position. A coder's bit is added where one of their
    # stretches starts and taken away where it ends, so the running sum is the set of coders
    # covering the stretch that starts there; each code's sum returns to zero at its end.
    bits = np.left_shift(1, who)
    e_code = np.concatenate([what, what])
    e_pos = np.concatenate([starts, ends])
    e_bits = np.concatenate([bits, -bits])
    order = np.lexsort((e_pos, e_code))
    e_code, e_pos = e_code[order], e_pos[order]
    mask = np.cumsum(e_bits[order])
    # Only the last boundary at each (code, position) gives the state after it.
    last = np.ones(len(e_pos), dtype=bool)
    last[:-1] = (e_code[1:] != e_code[:-1]) | (e_pos[1:] != e_pos[:-1])
    run_code, run_pos, run_mask = e_code[last], e_pos[last], mask[last]
    widths = np.zeros(len(run_pos), dtype=np.int64)
    widths[:-1] = run_pos[1:] - run_pos[:-1]
    covered = run_mask != 0  # not a gap, nor the step from one code's end to the next code
    keys, where = np.unique(run_code[covered] * (1 << m) + run_mask[covered], return_inverse=True)
    totals = np.bincount(where, weights=widths[covered], minlength=len(keys))

    patterns: list[dict] = [{} for _ in code_list]
    for key, total in zip(keys.tolist(), totals.tolist(), strict=True):
        patterns[key >> m][key & ((1 << m) - 1)] = int(total)
    results = {}
    for code, i in code_index.items():
        counts = [0] * (m + 1)
        for each_mask, width in patterns[i].items():
            counts[each_mask.bit_count()] += width
        counts[0] = units - sum(counts[1:])
        results[code] = CharacterResult(
            coders,
            units,
            {coder: int(coded[i, j]) for coder, j in coder_index.items()},
            tuple(counts),
            patterns[i],
        )
    return results
