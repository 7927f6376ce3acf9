"""The maths of retrieval and co-occurrence, on plain values: no database."""

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from coding.analysis import (
    Context,
    Span,
    code_fieldnote_counts,
    code_paths,
    context,
    cooccurrence_counts,
    heat_cuts,
    heat_level,
    moment_at,
    overlapping_keys,
    overlapping_pairs,
    overlaps,
    share_text,
    subtree,
    union_length,
)

A, B, C = 1, 2, 3
LONDON = ZoneInfo("Europe/London")

# Fieldnote 10: e1 and e2 overlap, e2 and e3 overlap, e3 and e4 only touch at 20.
# Fieldnote 20: e5 and e6 cover the same characters.
EXAMPLE = [
    Span(1, 10, 0, 10, frozenset({A})),
    Span(2, 10, 5, 15, frozenset({B})),
    Span(3, 10, 12, 20, frozenset({A, C})),
    Span(4, 10, 20, 25, frozenset({B})),
    Span(5, 20, 0, 10, frozenset({A})),
    Span(6, 20, 0, 10, frozenset({B})),
]


def test_overlaps_is_half_open():
    assert overlaps(0, 10, 9, 12)
    assert not overlaps(0, 10, 10, 12)
    assert not overlaps(10, 12, 0, 10)
    assert overlaps(3, 4, 0, 10)


def test_overlapping_pairs_of_the_example():
    pairs = {(first.key, second.key) for first, second in overlapping_pairs(EXAMPLE)}
    assert pairs == {(1, 2), (2, 3), (5, 6)}


def test_cooccurrence_counts_of_the_example():
    per_code, pairs = cooccurrence_counts(EXAMPLE)
    assert per_code == Counter({A: 3, B: 3, C: 1})
    # A with B: (e1, e2), (e3, e2), (e5, e6). A with C: e3 carries both. B with C: (e2, e3).
    assert pairs == Counter({(A, B): 3, (B, A): 3, (A, C): 1, (C, A): 1, (B, C): 1, (C, B): 1})


def test_cooccurrence_counts_both_orders_of_two_excerpts_carrying_both_codes():
    spans = [Span(1, 1, 0, 10, frozenset({A, B})), Span(2, 1, 5, 8, frozenset({A, B}))]
    per_code, pairs = cooccurrence_counts(spans)
    # (1, 1), (2, 2), (1, 2) and (2, 1) are all pairs of an A excerpt and a B excerpt.
    assert per_code == Counter({A: 2, B: 2})
    assert pairs == Counter({(A, B): 4, (B, A): 4})


def test_cooccurrence_counts_of_nothing():
    assert cooccurrence_counts([]) == (Counter(), Counter())


def test_union_length_merges_overlapping_and_touching_spans():
    assert union_length([(0, 10), (5, 15), (15, 18), (30, 31)]) == 19
    assert union_length([(4, 6), (0, 10)]) == 10
    assert union_length([]) == 0


def test_share_text_has_one_decimal():
    assert share_text(1, 3) == "33.3%"
    assert share_text(2, 3) == "66.7%"
    assert share_text(76, 76) == "100.0%"
    assert share_text(0, 0) == "0.0%"


def test_code_fieldnote_counts_use_the_union_of_overlapping_spans():
    assert code_fieldnote_counts(EXAMPLE) == {
        (A, 10): (2, 18),
        (B, 10): (2, 15),
        (C, 10): (1, 8),
        (A, 20): (1, 10),
        (B, 20): (1, 10),
    }


def test_overlapping_keys_keeps_spans_touching_another_span():
    spans = [Span(1, 1, 0, 5), Span(2, 1, 10, 12), Span(3, 1, 20, 30), Span(4, 2, 0, 5)]
    assert overlapping_keys(spans, [Span(9, 1, 4, 11)]) == {1, 2}
    # A long span starting early reaches span 3 although a later, shorter one does not.
    assert overlapping_keys(spans, [Span(8, 1, 0, 50), Span(9, 1, 5, 6)]) == {1, 2, 3}
    assert overlapping_keys(spans, [Span(9, 1, 12, 20)]) == set()
    assert overlapping_keys(spans, []) == set()


def test_heat_levels_follow_quartiles_of_the_non_zero_counts():
    cuts = heat_cuts([0, 9, 1, 5, 1, 2])
    assert cuts == [1, 2, 5]
    assert [heat_level(value, cuts) for value in (0, 1, 2, 5, 9)] == [0, 1, 2, 3, 4]
    assert heat_cuts([0, 0]) == []
    assert heat_level(3, heat_cuts([3, 3, 3])) == 1


def test_context_keeps_about_200_characters_cut_at_words():
    text = "word " * 100
    assert context(text, 250, 254) == Context(
        before="word " * 40,
        text="word",
        after=" " + "word " * 39 + "word",
        cut_before=True,
        cut_after=True,
    )
    # Windows ending inside a word are trimmed back to the word before.
    assert context(text, 250, 254, width=198) == Context(
        before="word " * 39,
        text="word",
        after=" " + "word " * 38 + "word",
        cut_before=True,
        cut_after=True,
    )


def test_context_of_a_short_text_is_the_whole_text():
    assert context("Hello world", 6, 11) == Context("Hello ", "world", "", False, False)


def test_context_counts_code_points():
    text = "Café 😀 déjà vu"
    assert context(text, 5, 6, width=5) == Context("Café ", "😀", " déjà", False, True)


def test_context_of_a_text_without_spaces_is_not_trimmed_away():
    text = "x" * 500
    found = context(text, 250, 251)
    assert (len(found.before), len(found.after)) == (200, 200)


def test_moment_at_is_the_last_marker_at_or_before_the_offset():
    opened = datetime(2026, 3, 10, 9, 30, tzinfo=LONDON)
    grace = datetime(2026, 3, 10, 9, 45, tzinfo=LONDON)
    markers = [(0, opened), (27, grace)]
    assert [moment_at(markers, offset) for offset in (0, 26, 27, 70)] == [
        opened,
        opened,
        grace,
        grace,
    ]
    assert moment_at([(10, grace)], 5) is None
    assert moment_at([], 5) is None


def test_code_paths_and_subtree():
    codes = [(1, None, "Purpose"), (2, 1, "Sense-making"), (3, 2, "Deep"), (4, None, "Protest")]
    assert code_paths(codes) == {
        1: "Purpose",
        2: "Purpose/Sense-making",
        3: "Purpose/Sense-making/Deep",
        4: "Protest",
    }
    parents = {pk: parent for pk, parent, _name in codes}
    assert subtree(parents, 1) == {1, 2, 3}
    assert subtree(parents, 3) == {3}


def test_cooccurrence_of_10000_excerpts():
    # 100 identical fieldnotes of 100 excerpts, each overlapping the next, two codes each.
    def fieldnote(n):
        return [
            Span(n * 100 + i, n, i * 50, i * 50 + 80, frozenset({i % 5, (i + 1) % 5}))
            for i in range(100)
        ]

    per_code, pairs = cooccurrence_counts([span for n in range(100) for span in fieldnote(n)])
    one_per_code, one_pairs = _brute_force(fieldnote(0))
    assert per_code == Counter({code: 100 * count for code, count in one_per_code.items()})
    assert pairs == Counter({key: 100 * count for key, count in one_pairs.items()})
    assert pairs[0, 1] == 2000 + 100 * (20 + 19)


span_lists = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.integers(0, 40),
        st.integers(1, 15),
        st.frozensets(st.integers(0, 3), min_size=1, max_size=3),
    ).map(lambda t: (t[0], t[1], t[1] + t[2], t[3])),
    max_size=25,
).map(lambda rows: [Span(key, *row) for key, row in enumerate(rows)])


def _brute_force(spans):
    per_code, pairs = Counter(), Counter()
    for x in spans:
        per_code.update(x.codes)
        for y in spans:
            if x.fieldnote == y.fieldnote and overlaps(x.start, x.end, y.start, y.end):
                for a in x.codes:
                    for b in y.codes:
                        if a != b:
                            pairs[a, b] += 1
    return per_code, pairs


@given(span_lists)
def test_sweep_agrees_with_brute_force(spans):
    assert cooccurrence_counts(spans) == _brute_force(spans)


@given(span_lists, span_lists)
def test_overlapping_keys_agrees_with_brute_force(spans, others):
    assert overlapping_keys(spans, others) == {
        x.key
        for x in spans
        for y in others
        if x.fieldnote == y.fieldnote and overlaps(x.start, x.end, y.start, y.end)
    }


@given(span_lists)
def test_union_length_agrees_with_counting_characters(spans):
    for (code, fieldnote), (count, covered) in code_fieldnote_counts(spans).items():
        mine = [x for x in spans if x.fieldnote == fieldnote and code in x.codes]
        assert count == len(mine)
        assert covered == len({i for x in mine for i in range(x.start, x.end)})
