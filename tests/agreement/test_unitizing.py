"""Krippendorff's unitizing alpha against the worked examples Krippendorff published (as encoded in
DKPro Statistics' tests) and against a brute-force transcription of the textbook formulas."""

import itertools
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coding.agreement import unitizing_alpha

# --- An independent brute-force implementation, straight from the textbook ----------------------
#
# Krippendorff (2004), Content Analysis, 2nd ed.: every coder's units of a code and the gaps
# between them are sections (b, l, w) partitioning the continuum; D_o sums δ² over all pairs of
# sections of all ordered pairs of coders, D_e follows his formula term by term. Exact fractions,
# O(n²) loops, and overlapping units of one coder merged by the most naive means.


def delta(g, h):
    """δ² between section g of one coder and section h of another, by the textbook's four cases."""
    bg, lg, wg = g
    bh, lh, wh = h
    if wg and wh and -lg < bg - bh < lh:
        return (bg - bh) ** 2 + (bg + lg - bh - lh) ** 2
    if wg and not wh and lh - lg >= bg - bh >= 0:
        return lg**2
    if not wg and wh and lh - lg <= bg - bh <= 0:
        return lh**2
    return 0


def merge_naively(spans):
    spans = set(spans)
    while True:
        for a, b in itertools.combinations(sorted(spans), 2):
            if a[0] < b[1] and b[0] < a[1]:
                spans -= {a, b}
                spans.add((min(a[0], b[0]), max(a[1], b[1])))
                break
        else:
            return sorted(spans)


def sections_of(spans, begin, length):
    sections, position = [], begin
    for start, stop in spans:
        if start > position:
            sections.append((position, start - position, 0))
        sections.append((start, stop - start, 1))
        position = stop
    if position < begin + length:
        sections.append((position, begin + length - position, 0))
    return sections


def brute_force(units, begin, length, coders=None):
    """(overall, {code: alpha}, {code: D_o}, {code: D_e}) with exact fractions."""
    coders = list(dict.fromkeys(coders if coders is not None else (u[2] for u in units)))
    codes = list(dict.fromkeys(u[3] for u in units))
    m, L = len(coders), length
    alphas, observed, expected = {}, {}, {}
    for code in codes:
        if m < 2:
            alphas[code] = observed[code] = expected[code] = None
            continue
        sections = {
            coder: sections_of(
                merge_naively((s, s + n) for s, n, c, k in units if c == coder and k == code),
                begin,
                length,
            )
            for coder in coders
        }
        d_o = sum(
            delta(g, h)
            for i in coders
            for j in coders
            if i != j
            for g in sections[i]
            for h in sections[j]
        )
        observed[code] = Fraction(d_o, m * (m - 1) * L * L)

        every = [section for coder in coders for section in sections[coder]]
        n_c = sum(w for _, _, w in every)
        numerator = Fraction(0)
        for _, lg, wg in every:
            if not wg:
                continue
            inside = sum((1 - wh) * (lh - lg + 1) for _, lh, wh in every if lh >= lg)
            numerator += Fraction((n_c - 1) * (2 * lg**3 - 3 * lg**2 + lg), 3) + lg**2 * inside
        denominator = m * L * (m * L - 1) - sum(w * lg * (lg - 1) for _, lg, w in every)
        expected[code] = Fraction(2, L) * numerator / denominator
        alphas[code] = 1 - observed[code] / expected[code] if expected[code] else None
    summed_e = sum(v for v in expected.values() if v is not None)
    summed_o = sum(v for v in observed.values() if v is not None)
    overall = 1 - summed_o / summed_e if summed_e else None
    return overall, alphas, observed, expected


def close(value, exact):
    if exact is None:
        return value is None
    return value == pytest.approx(float(exact), rel=1e-9, abs=1e-12)


def test_the_brute_force_distance_reproduces_krippendorffs_printed_distances():
    # Krippendorff (2004: pp. 252-254), as in DKPro's Krippendorff2004Test.testDistanceMetric1/2;
    # sections are (begin, length, is-a-unit).
    assert delta((2, 3, 0), (2, 2, 1)) + delta((5, 6, 1), (4, 7, 0)) == 40
    assert delta((5, 6, 1), (4, 2, 1)) == 26
    assert delta((5, 6, 1), (5, 2, 1)) == 16
    assert delta((5, 6, 1), (6, 2, 1)) == 10
    assert delta((5, 6, 1), (7, 2, 1)) == 8
    assert delta((5, 6, 1), (6, 4, 1)) == 2
    assert delta((5, 6, 1), (5, 6, 1)) == 0
    assert delta((225, 70, 1), (220, 80, 1)) == 50
    assert delta((370, 30, 1), (355, 20, 1)) == 850
    assert delta((400, 50, 0), (400, 20, 1)) == 400


# --- Published worked examples ------------------------------------------------------------------

# Krippendorff (2004: p. 254): two observers, continuum [150, 450), codes c and k. Values as
# asserted by DKPro Statistics, Krippendorff2004Test (4 decimals).
KRIPPENDORFF_2004 = [
    (225, 70, "i", "c"),
    (370, 30, "i", "c"),
    (220, 80, "j", "c"),
    (355, 20, "j", "c"),
    (400, 20, "j", "c"),
    (180, 60, "i", "k"),
    (300, 50, "i", "k"),
    (180, 60, "j", "k"),
    (300, 50, "j", "k"),
]


def test_krippendorff_2004_worked_example():
    result = unitizing_alpha(KRIPPENDORFF_2004, begin=150, length=300)
    assert result.observed["c"] == pytest.approx(0.0144, abs=1e-4)
    assert result.expected["c"] == pytest.approx(0.0532, abs=1e-4)
    assert result.by_code["c"] == pytest.approx(0.7286, abs=1e-4)
    assert result.observed["k"] == pytest.approx(0.0, abs=1e-4)
    assert result.expected["k"] == pytest.approx(0.0490, abs=1e-4)
    assert result.by_code["k"] == pytest.approx(1.0, abs=1e-4)
    # DKPro asserts 0.8591 ± 0.0005, i.e. 1 - 0.0144 / (0.0532 + 0.0490) from the rounded
    # figures; unrounded it is 0.8587.
    assert result.overall == pytest.approx(0.8591, abs=5e-4)
    assert result.overall == pytest.approx(0.8587, abs=1e-4)
    assert result.coders == ("i", "j")


# Krippendorff (1995), "On the reliability of unitizing contiguous data", Sociological
# Methodology 25: p. 57, four pairs of observers on a continuum of 24, encoded by DKPro's
# Krippendorff1995Test as codes A-D: code -> ((start, length) of observer 0, of observer 1).
KRIPPENDORFF_1995 = {
    "A": ([(2, 8), (14, 6)], [(4, 4), (15, 2)]),
    "B": ([(0, 18)], [(0, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 3), (9, 1)]),
    "C": ([(2, 6), (10, 2), (14, 4), (20, 2)], [(0, 2), (4, 4), (10, 4), (16, 2), (20, 2)]),
    "D": ([(0, 2), (2, 8), (10, 4), (14, 6), (20, 4)], [(0, 4), (4, 4), (8, 7), (15, 2), (17, 7)]),
}


def krippendorff_1995(stretch):
    units = [
        (start * stretch, size * stretch, observer, code)
        for code, observers in KRIPPENDORFF_1995.items()
        for observer, found in enumerate(observers)
        for start, size in found
    ]
    return unitizing_alpha(units, begin=0, length=24 * stretch)


def test_krippendorff_1995_observed_disagreement():
    # Printed to 5 decimals (DKPro, testAgreement); D_o does not change when stretched.
    printed = {"A": 0.03125, "B": 2.26736, "C": 0.02777, "D": 0.38715}
    for stretch in (1, 50_000):
        result = krippendorff_1995(stretch)
        for code, value in printed.items():
            assert result.observed[code] == pytest.approx(value, abs=1e-5)


def test_krippendorff_1995_expected_disagreement_and_alpha():
    # The 1995 paper's D_e treats the continuum as (nearly) continuous and its formula differs
    # slightly from the 2004 one (DKPro suspects a sign slip), so DKPro compares at a stretch of
    # 50,000 within 0.005 (D_e) and 0.02 (alpha); A and D agree to the printed 5 decimals.
    result = krippendorff_1995(50_000)
    printed_e = {"A": 0.06990, "B": 1.17731, "C": 0.08642, "D": 0.41445}
    printed_alpha = {"A": 0.553, "B": -0.926, "C": 0.679, "D": 0.066}
    for code in printed_e:
        assert result.expected[code] == pytest.approx(printed_e[code], abs=0.005)
        assert result.by_code[code] == pytest.approx(printed_alpha[code], abs=0.02)
    assert result.expected["A"] == pytest.approx(0.06990, abs=1e-5)
    assert result.expected["D"] == pytest.approx(0.41445, abs=1e-5)


def test_dkpro_example_of_one_long_unit_against_three_short_ones():
    # DKPro Statistics, UnitizingAgreementTest.testAgreement (4 decimals):
    #   r0: -11111111-
    #   r1: --1-1-1---
    units = [(1, 8, 0, "A"), (2, 1, 1, "A"), (4, 1, 1, "A"), (6, 1, 1, "A")]
    result = unitizing_alpha(units, begin=0, length=10)
    assert result.observed["A"] == pytest.approx(0.9100, abs=1e-4)
    assert result.expected["A"] == pytest.approx(0.5351, abs=1e-4)
    assert result.by_code["A"] == pytest.approx(-0.7003, abs=1e-4)


def test_one_unit_among_three_coders_is_exactly_chance():
    # DKPro Statistics, UnitizingAgreementTest.testSingleAnnotationUnit: alpha 0.0.
    result = unitizing_alpha([(0, 1, 0, "X")], begin=0, length=20, coders=[0, 1, 2])
    assert result.overall == pytest.approx(0.0, abs=1e-12)
    assert result.by_code["X"] == pytest.approx(0.0, abs=1e-12)


# --- Against the brute force on random studies --------------------------------------------------


@st.composite
def studies(draw):
    begin = draw(st.integers(-5, 5))
    length = draw(st.integers(1, 25))
    coders = draw(st.integers(1, 4))
    codes = draw(st.integers(1, 3))
    unit = st.tuples(
        st.integers(0, length - 1),
        st.integers(1, length),
        st.integers(0, coders - 1),
        st.sampled_from("xyz"[:codes]),
    ).map(lambda u: (begin + u[0], min(u[1], length - u[0]), u[2], u[3]))
    units = draw(st.lists(unit, max_size=12))
    # Now and then name the coders, including one who coded nothing.
    named = draw(st.none() | st.just(list(range(coders + 1))))
    return units, begin, length, named


@settings(max_examples=200, deadline=None)
@given(studies())
def test_matches_the_brute_force(study):
    units, begin, length, coders = study
    result = unitizing_alpha(units, begin=begin, length=length, coders=coders)
    overall, alphas, observed, expected = brute_force(units, begin, length, coders)
    assert close(result.overall, overall)
    assert result.by_code.keys() == alphas.keys()
    for code in alphas:
        assert close(result.by_code[code], alphas[code])
        assert close(result.observed[code], observed[code])
        assert close(result.expected[code], expected[code])


@settings(max_examples=100, deadline=None)
@given(studies(), st.randoms(use_true_random=False), st.integers(-1000, 1000))
def test_renaming_coders_reordering_units_and_shifting_change_nothing(study, rng, shift):
    units, begin, length, _ = study
    before = unitizing_alpha(units, begin=begin, length=length)
    names = list(range(4))
    rng.shuffle(names)
    moved = [
        (start + shift, size, f"coder-{names[coder]}", code) for start, size, coder, code in units
    ]
    rng.shuffle(moved)
    after = unitizing_alpha(moved, begin=begin + shift, length=length)
    assert close(after.overall, before.overall)
    assert after.by_code.keys() == before.by_code.keys()
    for code, value in before.by_code.items():
        assert close(after.by_code[code], value)


# --- Invariants and edge cases ------------------------------------------------------------------


def test_identical_coding_by_every_coder_is_perfect_agreement():
    coded = [(0, 10, "x"), (15, 5, "x"), (12, 30, "y"), (40, 1, "z")]
    units = [(s, n, coder, code) for coder in "abc" for s, n, code in coded]
    result = unitizing_alpha(units, begin=0, length=50)
    assert result.overall == 1.0
    assert result.by_code == {"x": 1.0, "y": 1.0, "z": 1.0}


def test_overlapping_units_of_one_coder_and_code_are_merged():
    other = [(0, 15, "b", "x"), (20, 5, "b", "x")]
    merged = unitizing_alpha([(0, 15, "a", "x"), *other], begin=0, length=30)
    overlapping = [(0, 10, "a", "x"), (5, 10, "a", "x"), (3, 2, "a", "x"), (0, 10, "a", "x")]
    result = unitizing_alpha(overlapping + other, begin=0, length=30)
    assert result == merged
    # Touching units stay two units: [0, 5) and [5, 15) is not [0, 15).
    touching = unitizing_alpha([(0, 5, "a", "x"), (5, 10, "a", "x"), *other], begin=0, length=30)
    assert touching.by_code["x"] != pytest.approx(merged.by_code["x"])


def test_a_coder_who_coded_nothing_of_a_code_still_counts_for_it():
    units = [(0, 10, "a", "x"), (0, 10, "b", "x"), (20, 5, "a", "y")]
    result = unitizing_alpha(units, begin=0, length=30)
    assert result.coders == ("a", "b")
    assert result.by_code["x"] == 1.0
    assert result.by_code["y"] is not None and result.by_code["y"] < 1.0
    # Naming a third coder who coded nothing at all counts them too.
    three = unitizing_alpha(units, begin=0, length=30, coders=["a", "b", "c"])
    assert three.coders == ("a", "b", "c")
    assert three.by_code["x"] < 1.0


def test_undefined_coefficients_are_none():
    nothing = unitizing_alpha([], begin=0, length=10)
    assert (nothing.overall, nothing.by_code) == (None, {})
    nothing = unitizing_alpha([], begin=0, length=10, coders=["a", "b"])
    assert (nothing.overall, nothing.by_code) == (None, {})

    alone = unitizing_alpha([(0, 3, "a", "x"), (5, 2, "a", "y")], begin=0, length=10)
    assert alone.overall is None
    assert alone.by_code == {"x": None, "y": None}
    assert alone.observed == {"x": None, "y": None}

    # A continuum of one position that both coders code entirely: no room for chance to
    # disagree, so no expected disagreement.
    full = unitizing_alpha([(0, 1, "a", "x"), (0, 1, "b", "x")], begin=0, length=1)
    assert full.expected == {"x": 0.0}
    assert full.by_code == {"x": None}
    assert full.overall is None


@pytest.mark.parametrize(
    ("units", "begin", "length", "message"),
    [
        ([], 0, 0, "positive length"),
        ([], 0, -5, "positive length"),
        ([(3, 0, "a", "x")], 0, 10, "zero-length"),
        ([(3, -2, "a", "x")], 0, 10, "zero-length"),
        ([(-1, 3, "a", "x")], 0, 10, "outside the continuum"),
        ([(8, 3, "a", "x")], 0, 10, r"outside the continuum \[0, 10\)"),
        ([(4, 3, "a", "x")], 5, 10, "outside the continuum"),
        ([(1.5, 3, "a", "x")], 0, 10, "unit start must be an integer"),
        ([(1, 3.0, "a", "x")], 0, 10, "unit length must be an integer"),
        ([(1, 3, "a")], 0, 10, r"\(start, length, coder, code\)"),
        ([], 0.5, 10, "begin of the continuum must be an integer"),
    ],
)
def test_bad_input_raises_value_error(units, begin, length, message):
    with pytest.raises(ValueError, match=message):
        unitizing_alpha(units, begin=begin, length=length)


def test_a_unit_by_a_coder_not_named_is_refused():
    with pytest.raises(ValueError, match="'z', who is not among the coders"):
        unitizing_alpha([(0, 3, "z", "x")], begin=0, length=10, coders=["a", "b"])


def test_cost_does_not_grow_with_the_continuum():
    # 5 coders x 3 codes x 100 units on a continuum of ten million positions: the work is in the
    # units, so this is quick; a per-position implementation would take far longer.
    rng = random.Random(7)
    units = []
    for coder, code in itertools.product("abcde", "xyz"):
        starts = sorted(rng.sample(range(0, 10_000_000, 50_000), 100))
        units += [
            (start + rng.randrange(1000), rng.randrange(1, 40_000), coder, code) for start in starts
        ]
    result = unitizing_alpha(units, begin=0, length=10_050_000)
    assert -1.0 < result.overall < 1.0
