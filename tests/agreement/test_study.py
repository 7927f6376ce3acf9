"""The whole-study comparison: per text, pooled per code and overall, consistent with the
single-text functions."""

import pytest

from coding.agreement import character_agreement, segment_agreement, unitizing_alpha
from coding.agreement.study import Text, compare_study
from tests.agreement.study import synthetic_study

FIRST = Text("one", 100, [("a", "x", 0, 40), ("b", "x", 5, 40), ("a", "y", 60, 80)])
SECOND = Text("two", 50, [("a", "x", 10, 20), ("b", "x", 30, 45), ("b", "y", 0, 5)])


def test_per_text_figures_are_the_single_text_functions():
    result = compare_study([FIRST, SECOND], coders=["a", "b"], codes=["x", "y"])
    for text in (FIRST, SECOND):
        direct = character_agreement(text.spans, length=text.length, coders=["a", "b"])
        units = unitizing_alpha(
            [(s, e - s, coder, code) for coder, code, s, e in text.spans],
            begin=0,
            length=text.length,
        )
        matched = segment_agreement(text.spans)
        for code in ("x", "y"):
            figures = result.by_text[text.key][code]
            assert figures.characters == direct[code]
            assert figures.unitizing == units.by_code.get(code)
            assert (figures.segments_matched, figures.segments_total) == matched.counts[code]


def test_pooled_figures_treat_the_texts_as_one_laid_end_to_end():
    result = compare_study([FIRST, SECOND], coders=["a", "b"])
    joined = FIRST.spans + [(c, k, s + 100, e + 100) for c, k, s, e in SECOND.spans]
    direct = character_agreement(joined, length=150, coders=["a", "b"])
    units = unitizing_alpha(
        [(s, e - s, coder, code) for coder, code, s, e in joined], begin=0, length=150
    )
    for code in ("x", "y"):
        assert result.by_code[code].characters == direct[code]
        assert result.by_code[code].unitizing == pytest.approx(units.by_code[code])
    assert result.overall.unitizing == pytest.approx(units.overall)
    assert result.overall.characters.units == 300  # 150 characters x 2 codes
    # x: a 0-40 / b 5-40 match at 0.875 < 0.9; nothing else overlaps.
    assert (result.by_code["x"].segments_matched, result.by_code["x"].segments_total) == (0, 4)
    assert result.overall.segment_share == 0.0


def test_leaves_out_other_coders_and_codes_and_reports_progress():
    seen = []
    text = Text("t", 20, [("a", "x", 0, 10), ("z", "x", 0, 10), ("a", "q", 0, 5)])
    result = compare_study(
        [text, SECOND], coders=["a", "b"], codes=["x"], progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1, 2), (2, 2)]
    assert result.codes == ("x",)
    assert result.by_text["t"]["x"].characters.coded == {"a": 10, "b": 0}


def test_a_study_with_nothing_coded_has_no_coefficients():
    result = compare_study([Text("empty", 10, [])], coders=["a", "b"], codes=["x"])
    figures = result.by_code["x"]
    assert figures.characters.alpha is None
    assert figures.unitizing is None
    assert figures.segment_share is None
    assert result.overall.characters.percent == 1.0


def test_the_benchmark_study_has_the_size_the_issue_names():
    study = synthetic_study(texts=20, excerpts=4_000)
    assert len(study) == 20
    assert {length for _, length, _ in study} == {30_000}
    assert 3_600 < sum(len(spans) for _, _, spans in study) < 4_400
    assert len({span[1] for _, _, spans in study for span in spans}) == 30
