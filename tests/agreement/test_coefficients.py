"""Contingency-table coefficients, Fleiss' kappa and Krippendorff's alpha against published worked
examples and against independent implementations (statsmodels, the `krippendorff` package)."""

import math

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from coding.agreement import (
    brennan_prediger,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)

# --- Published worked examples ------------------------------------------------------------------

# Wikipedia, "Cohen's kappa", worked example: 50 proposals read by two readers.
WIKIPEDIA_COHEN = [[20, 5], [10, 15]]

# Gwet's irrCAC package (README and overview vignette), dataset cont3x3abstractors: two
# abstractors classifying 100 pregnancies as ectopic, AIU or NIU.
ABSTRACTORS = [[13, 0, 0], [0, 20, 7], [0, 4, 56]]

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# irrCAC, dataset distrib.6raters: 15 psychiatric patients, 6 psychiatrists, 5 diagnoses
# (after Fleiss 1971).
SIX_RATERS = [
    [0, 0, 0, 6, 0],
    [0, 3, 0, 0, 3],
    [0, 1, 4, 0, 1],
    [0, 0, 0, 0, 6],
    [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0],
    [0, 0, 4, 0, 2],
    [2, 0, 3, 1, 0],
    [2, 0, 0, 4, 0],
    [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0],
    [1, 1, 0, 4, 0],
    [0, 3, 3, 0, 0],
    [1, 0, 0, 5, 0],
    [0, 2, 0, 3, 1],
]

_ = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers,
# twelve units, missing values (also irrCAC's cac.raw4raters).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]

# Krippendorff (2011), section A: two observers, ten units, binary data.
KRIPPENDORFF_2011_BINARY = [
    [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
    [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
]

# Wikipedia, "Krippendorff's alpha", worked example: three coders, fifteen units.
WIKIPEDIA_KRIPPENDORFF = [
    [_, _, _, _, _, 3, 4, 1, 2, 1, 1, 3, 3, _, 3],
    [1, _, 2, 1, 3, 3, 4, 3, _, _, _, _, _, _, _],
    [_, _, 2, 1, 3, 4, 4, _, 2, 1, 1, 3, 3, _, 4],
]


def test_cohen_kappa_wikipedia_example_is_0_4():
    assert cohen_kappa(WIKIPEDIA_COHEN) == pytest.approx(0.4, abs=1e-12)
    assert percent_agreement(WIKIPEDIA_COHEN) == pytest.approx(0.7, abs=1e-12)


def test_cohen_1960_table_1_gives_0_37():
    # Cohen (1960), Table 1: proportions of 200 cases in three diagnostic categories.
    table = np.array([[0.25, 0.13, 0.12], [0.02, 0.16, 0.12], [0.03, 0.01, 0.16]]) * 200
    assert cohen_kappa(table) == pytest.approx(0.25 / 0.68, abs=1e-12)
    assert round(cohen_kappa(table), 2) == 0.37


def test_irrcac_abstractors_example_for_all_two_coder_coefficients():
    assert percent_agreement(ABSTRACTORS) == pytest.approx(0.89, abs=1e-12)
    assert cohen_kappa(ABSTRACTORS) == pytest.approx(0.7964094, abs=5e-8)
    assert gwet_ac1(ABSTRACTORS) == pytest.approx(0.8493305, abs=5e-8)
    assert brennan_prediger(ABSTRACTORS) == pytest.approx(0.835, abs=1e-12)


def test_fleiss_kappa_wikipedia_example_is_0_210():
    assert round(fleiss_kappa(WIKIPEDIA_FLEISS), 3) == 0.210
    # From the intermediate figures printed there (P-bar = 0.378, P_e = 0.213), to their precision.
    assert fleiss_kappa(WIKIPEDIA_FLEISS) == pytest.approx((0.378 - 0.213) / (1 - 0.213), abs=2e-3)


def test_fleiss_kappa_irrcac_six_raters_example():
    assert fleiss_kappa(SIX_RATERS) == pytest.approx(0.4139265, abs=5e-8)


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_example_at_every_level(level, published):
    assert round(krippendorff_alpha(KRIPPENDORFF_2011, level), 3) == published


def test_krippendorff_2011_nominal_matches_irrcac_to_five_places():
    assert krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(0.74342, abs=5e-6)


def test_krippendorff_2011_binary_example_is_0_095():
    assert round(krippendorff_alpha(KRIPPENDORFF_2011_BINARY), 3) == 0.095


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.691), ("interval", 0.811)])
def test_krippendorff_wikipedia_example(level, published):
    assert round(krippendorff_alpha(WIKIPEDIA_KRIPPENDORFF, level), 3) == published


# --- Against independent implementations -------------------------------------------------------

square_tables = st.integers(min_value=2, max_value=5).flatmap(
    lambda q: st.lists(
        st.lists(st.integers(min_value=0, max_value=40), min_size=q, max_size=q),
        min_size=q,
        max_size=q,
    )
)


@settings(max_examples=150, deadline=None)
@given(square_tables)
def test_cohen_kappa_matches_statsmodels(table):
    ours = cohen_kappa(table)
    matrix = np.asarray(table, dtype=float)
    total = matrix.sum()
    chance = (matrix.sum(0) * matrix.sum(1)).sum() / total**2 if total else 1.0
    if ours is None:
        assert total == 0 or chance == pytest.approx(1.0)
    else:
        assert ours == pytest.approx(sm_cohens_kappa(matrix).kappa, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=2, max_value=7).flatmap(
        lambda raters: st.lists(
            st.lists(st.integers(0, 3), min_size=raters, max_size=raters), min_size=1, max_size=25
        )
    )
)
def test_fleiss_kappa_matches_statsmodels(ratings):
    # ratings[subject][rater] -> counts[subject][category]
    counts = [[row.count(category) for category in range(4)] for row in ratings]
    ours = fleiss_kappa(counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        theirs = sm_fleiss_kappa(np.asarray(counts), method="fleiss")
    if ours is None:
        assert math.isnan(theirs) or np.isinf(theirs)
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)


reliability = st.integers(min_value=2, max_value=5).flatmap(
    lambda coders: st.integers(min_value=1, max_value=20).flatmap(
        lambda units: st.lists(
            st.lists(
                st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
                min_size=units,
                max_size=units,
            ),
            min_size=coders,
            max_size=coders,
        )
    )
)


@settings(max_examples=200, deadline=None)
@given(reliability, st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_krippendorff_alpha_matches_the_krippendorff_package(data, level):
    ours = krippendorff_alpha(data, level)
    as_array = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    pairable = (~np.isnan(as_array)).sum(axis=0) >= 2
    values = set(as_array[:, pairable][~np.isnan(as_array[:, pairable])].tolist())
    if ours is None:
        # Nothing pairable, or no variation among the pairable values.
        assert not pairable.any() or len(values) <= 1
        return
    assert len(values) >= 2
    theirs = krippendorff.alpha(reliability_data=as_array, level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=1e-9)


@given(reliability)
@settings(max_examples=60, deadline=None)
def test_krippendorff_alpha_is_symmetric_in_coders(data):
    assert krippendorff_alpha(data) == pytest.approx(krippendorff_alpha(data[::-1]), nan_ok=True)


# --- Undefined and invalid ----------------------------------------------------------------------


def test_undefined_coefficients_are_none_never_nan():
    assert cohen_kappa([[0, 0], [0, 0]]) is None
    assert cohen_kappa([[7, 0], [0, 0]]) is None  # one category used throughout by both
    assert percent_agreement([[0, 0], [0, 0]]) is None
    assert gwet_ac1([[5]]) is None
    assert brennan_prediger([[5]]) is None
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([[3, 0], [3, 0]]) is None
    assert fleiss_kappa([[1, 0], [0, 1]]) is None  # one rater
    assert krippendorff_alpha([]) is None
    assert krippendorff_alpha([[1, 2, 3]]) is None  # one coder: nothing pairable
    assert krippendorff_alpha([[1, 1], [1, 1]]) is None  # no variation
    assert krippendorff_alpha([[None, 2], [1, None]]) is None


def test_perfect_agreement_is_one():
    assert cohen_kappa([[4, 0], [0, 6]]) == 1.0
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 3], [1, 2, None]], "interval") == 1.0
    assert fleiss_kappa([[3, 0], [0, 3]]) == 1.0


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="must be square"):
        cohen_kappa([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match="negative"):
        percent_agreement([[1, -1], [0, 2]])
    with pytest.raises(ValueError, match="same number of raters; rows sum to \\[2, 3\\]"):
        fleiss_kappa([[1, 1], [2, 1]])
    with pytest.raises(ValueError, match="Unknown level of measurement 'cardinal'"):
        krippendorff_alpha([[1], [1]], "cardinal")
    with pytest.raises(ValueError, match="Interval data must be numbers; got 'a'"):
        krippendorff_alpha([["a", 1], [1, 1]], "interval")
    with pytest.raises(ValueError, match="same units"):
        krippendorff_alpha([[1, 2], [1]])
    with pytest.raises(ValueError, match="Ratio data cannot be negative"):
        krippendorff_alpha([[-1, 2], [1, 2]], "ratio")


def test_nominal_values_may_be_labels():
    labels = [["yes", "no", "yes", None], ["yes", "no", "no", "no"]]
    numbers = [[1, 0, 1, None], [1, 0, 0, 0]]
    assert krippendorff_alpha(labels) == pytest.approx(krippendorff_alpha(numbers))
