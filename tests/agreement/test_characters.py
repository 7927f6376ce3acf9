"""Character-level agreement from span boundaries, checked against the same statistics computed on
the expanded per-character data, and segment matching."""

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coding.agreement import (
    character_agreement,
    cohen_kappa,
    percent_agreement,
    segment_agreement,
)
from coding.agreement.characters import pool


def _expanded(spans, length, coders, code, exclude_uncoded):
    """coders x characters, 1 where the coder coded the character with `code`."""
    grid = np.zeros((len(coders), length), dtype=int)
    anyone = np.zeros(length, dtype=bool)
    for coder, each_code, start, end in spans:
        anyone[start:end] = True
        if each_code == code:
            grid[coders.index(coder), start:end] = 1
    return grid[:, anyone] if exclude_uncoded else grid


def test_nvivo_documented_percentage_and_kappa_method():
    # NVivo's help ("How is the percentage agreement calculated?"): a source of 1000 characters,
    # 50 coded by both users, 150 by only one, 800 by neither: 85 %. Kappa by the help's own
    # steps with 100 of the 150 by user A: EF = 150 * 100 / 1000 + 850 * 900 / 1000 = 780 and
    # K = (850 - 780) / (1000 - 780).
    spans = [("A", "node", 0, 150), ("B", "node", 100, 200)]
    result = character_agreement(spans, length=1000)["node"]
    assert result.table == ((50, 100), (50, 800))
    assert result.percent == pytest.approx(0.85)
    assert result.cohen_kappa == pytest.approx(70 / 220)
    assert result.coded == {"A": 150, "B": 100}


def test_a_small_example_by_hand():
    # 100 characters; a codes 0-50, b codes 0-30 and 20-60 (its two spans overlap, counted once).
    spans = [("a", "x", 0, 50), ("b", "x", 0, 30), ("b", "x", 20, 60), ("a", "y", 10, 20)]
    results = character_agreement(spans, length=100)
    x = results["x"]
    assert x.coded == {"a": 50, "b": 60}
    assert x.by_count == (40, 10, 50)
    assert x.table == ((50, 0), (10, 40))
    assert x.percent == pytest.approx(0.9)
    # kappa: p_o 0.9, p_e 0.5 * 0.6 + 0.5 * 0.4 = 0.5
    assert x.cohen_kappa == pytest.approx(0.8)
    # alpha: n = 200, n_1 = 110, n_0 = 90, o_01 = 10 -> 1 - 199 * 10 / (110 * 90)
    assert x.alpha == pytest.approx(1 - 199 * 10 / (110 * 90))
    y = results["y"]
    assert y.coded == {"a": 10, "b": 0}
    assert y.cohen_kappa == pytest.approx(0.0)


def test_exclude_uncoded_leaves_out_text_nobody_coded():
    spans = [("a", "x", 0, 50), ("b", "x", 0, 30), ("b", "y", 70, 80)]
    kept = character_agreement(spans, length=1000, exclude_uncoded=True)
    assert kept["x"].units == 60  # 0-50 and 70-80: coded by someone with some code
    assert kept["x"].table == ((30, 20), (0, 10))
    assert kept["y"].by_count == (50, 10, 0)


def test_coders_and_codes_given_count_those_who_coded_nothing():
    results = character_agreement(
        [("a", "x", 0, 10)], length=20, coders=["a", "b", "c"], codes=["x", "unused"]
    )
    assert results["x"].coders == ("a", "b", "c")
    assert results["x"].by_count == (10, 10, 0, 0)
    assert results["x"].cohen_kappa is None  # three coders
    assert results["unused"].alpha is None  # nobody coded it: no variation
    assert results["unused"].percent == 1.0


def test_undefined_results_are_none():
    assert character_agreement([("a", "x", 0, 10)], length=10)["x"].alpha is None  # one coder
    everything = character_agreement([("a", "x", 0, 10), ("b", "x", 0, 10)], length=10)["x"]
    assert everything.alpha is None and everything.cohen_kappa is None
    assert everything.percent == 1.0
    assert character_agreement([], length=10) == {}


def test_bad_spans_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="span 5–5 of coder 'a', code 'x' is empty"):
        character_agreement([("a", "x", 5, 5)], length=10)
    with pytest.raises(ValueError, match=r"span 8–12 .* lies outside the text of 10 characters"):
        character_agreement([("a", "x", 0, 3), ("a", "x", 8, 12)], length=10)
    with pytest.raises(ValueError, match="ends before it starts"):
        character_agreement([("a", "x", 6, 2)], length=10)
    with pytest.raises(ValueError, match="at most 40 coders; got 41"):
        character_agreement([(i, "x", 0, 1) for i in range(41)], length=10)
    with pytest.raises(ValueError, match="coder 'z' is not among the coders"):
        character_agreement([("z", "x", 0, 2)], length=10, coders=["a", "b"])


def test_pooling_adds_the_counts_of_several_texts():
    first = character_agreement([("a", "x", 0, 5), ("b", "x", 0, 8)], length=10)["x"]
    second = character_agreement([("a", "x", 2, 4), ("b", "x", 6, 9)], length=10)["x"]
    both = pool([first, second])
    assert both.units == 20
    assert both.table == ((5, 2), (6, 7))  # both 5 + 0, a only 0 + 2, b only 3 + 3
    together = character_agreement(
        [("a", "x", 0, 5), ("b", "x", 0, 8), ("a", "x", 12, 14), ("b", "x", 16, 19)], length=20
    )["x"]
    assert both == together
    with pytest.raises(ValueError, match="same coders"):
        pool([first, character_agreement([("c", "x", 0, 1), ("b", "x", 0, 1)], length=3)["x"]])


@st.composite
def coded_texts(draw):
    length = draw(st.integers(min_value=1, max_value=120))
    coders = draw(st.sampled_from([["a", "b"], ["a", "b", "c"], ["a", "b", "c", "d"]]))
    spans = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        start = draw(st.integers(min_value=0, max_value=length - 1))
        end = draw(st.integers(min_value=start + 1, max_value=length))
        spans.append((draw(st.sampled_from(coders)), draw(st.sampled_from("xyz")), start, end))
    return length, coders, spans


@settings(max_examples=250, deadline=None)
@given(coded_texts(), st.booleans())
def test_matches_statistics_on_the_expanded_characters(case, exclude_uncoded):
    length, coders, spans = case
    results = character_agreement(
        spans, length=length, coders=coders, exclude_uncoded=exclude_uncoded
    )
    for code, result in results.items():
        grid = _expanded(spans, length, coders, code, exclude_uncoded)
        assert result.units == grid.shape[1]
        for i, coder in enumerate(coders):
            assert result.coded[coder] == int(grid[i].sum())
        if grid.shape[1] == 0:
            assert result.alpha is None and result.percent is None
            continue
        all_agree = (grid.min(axis=0) == grid.max(axis=0)).mean()
        assert result.percent == pytest.approx(all_agree)
        if len(coders) == 2:
            table = [
                [
                    int(((grid[0] == 1) & (grid[1] == 1)).sum()),
                    int(((grid[0] == 1) & (grid[1] == 0)).sum()),
                ],
                [
                    int(((grid[0] == 0) & (grid[1] == 1)).sum()),
                    int(((grid[0] == 0) & (grid[1] == 0)).sum()),
                ],
            ]
            assert result.percent == pytest.approx(percent_agreement(table))
            expected_kappa = cohen_kappa(table)
            if expected_kappa is None:
                assert result.cohen_kappa is None
            else:
                assert result.cohen_kappa == pytest.approx(expected_kappa, abs=1e-9)
        if len(np.unique(grid)) < 2:
            assert result.alpha is None
        else:
            theirs = krippendorff.alpha(reliability_data=grid, level_of_measurement="nominal")
            assert result.alpha == pytest.approx(theirs, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(coded_texts())
def test_invariants_symmetry_identity_and_splitting(case):
    length, coders, spans = case
    before = character_agreement(spans, length=length, coders=coders)
    # Symmetric in coders: the same figures with the coders listed the other way round.
    reverse = character_agreement(spans, length=length, coders=coders[::-1])
    for code, result in before.items():
        assert reverse[code].alpha == pytest.approx(result.alpha, nan_ok=True)
        assert reverse[code].percent == pytest.approx(result.percent)
        if result.cohen_kappa is not None:
            assert reverse[code].cohen_kappa == pytest.approx(result.cohen_kappa)
    # Any two coders' figures equal those of comparing only the two of them.
    if len(coders) > 2:
        only_two = [span for span in spans if span[0] in coders[:2]]
        alone = character_agreement(only_two, length=length, coders=coders[:2])
        for code, result in before.items():
            pair = result.pair(*coders[:2])
            expected = alone.get(code)
            if expected is None:  # neither of the two used the code here
                assert pair.by_count == (length, 0, 0)
            else:
                assert pair == expected
    # Splitting every span into two runs changes nothing.
    split = []
    for coder, code, start, end in spans:
        if end - start >= 2:
            middle = (start + end) // 2
            split += [(coder, code, start, middle), (coder, code, middle, end)]
        else:
            split.append((coder, code, start, end))
    assert character_agreement(split, length=length, coders=coders) == before
    # Identical coding by every coder: alpha 1.0 wherever it is defined.
    copied = [(coder, code, s, e) for _, code, s, e in spans for coder in coders]
    for result in character_agreement(copied, length=length, coders=coders).values():
        assert result.percent == 1.0
        assert result.alpha in (1.0, None)


# --- Segment matching ---------------------------------------------------------------------------


def test_segments_match_at_the_threshold_of_their_union():
    spans = [
        ("a", "x", 0, 100),
        ("b", "x", 10, 100),  # overlap 90 of union 100: matches at 0.9
        ("a", "x", 200, 300),
        ("b", "x", 211, 300),  # 89 of 100: does not
        ("b", "y", 500, 510),
    ]
    result = segment_agreement(spans, threshold=0.9)
    assert [(p.start, q.start) for p, q in result.pairs] == [(0, 10)]
    assert [s.start for s in result.unmatched["a"]] == [200]
    assert [s.start for s in result.unmatched["b"]] == [211, 500]
    assert result.by_code == {"x": 0.5, "y": 0.0}
    assert result.counts == {"x": (2, 4), "y": (0, 1)}
    assert [(p.start, q.start) for p, q in result.partial] == [(200, 211)]
    assert segment_agreement(spans, threshold=0.85).by_code["x"] == 1.0


def test_segments_of_one_coder_or_other_codes_never_match():
    spans = [("a", "x", 0, 10), ("a", "x", 0, 10), ("b", "y", 0, 10)]
    result = segment_agreement(spans)
    assert result.pairs == []
    assert result.by_code == {"x": 0.0, "y": 0.0}


def test_segment_input_errors():
    with pytest.raises(ValueError, match=r"threshold must be above 0 and at most 1; got 1\.5"):
        segment_agreement([], threshold=1.5)
    with pytest.raises(ValueError, match="span 4–4 of coder 'a', code 'x' is empty"):
        segment_agreement([("a", "x", 4, 4)])
