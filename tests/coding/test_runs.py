from coding.runs import Run, Span, boundaries, render_runs, segment, window


def test_segment_splits_overlaps_into_runs():
    spans = [Span(1, 2, 8, (10,)), Span(2, 5, 12, (20,)), Span(3, 5, 6, (10, 30))]
    assert segment(0, 15, spans) == [
        Run(0, 2, ()),
        Run(2, 5, (1,)),
        Run(5, 6, (1, 2, 3)),
        Run(6, 8, (1, 2)),
        Run(8, 12, (2,)),
        Run(12, 15, ()),
    ]


def test_segment_of_a_window_clips_long_excerpts():
    spans = [Span(1, 0, 100, (10,)), Span(2, 40, 50, (20,))]
    assert segment(30, 60, spans) == [Run(30, 40, (1,)), Run(40, 50, (1, 2)), Run(50, 60, (1,))]


def test_window_aligns_on_boundaries_shared_before_and_after_a_change():
    others = [Span(1, 10, 20, (1,)), Span(2, 30, 40, (1,))]
    assert boundaries(50, others) == [0, 10, 20, 30, 40, 50]
    assert window(50, others, 22, 25) == (20, 30)
    assert window(50, others, 15, 35) == (10, 40)
    assert window(50, others, 10, 20) == (10, 20)


def test_render_escapes_and_nests_underlines_up_to_four():
    text = "a <b> & 🙂 done"
    spans = {1: Span(1, 2, 5, (7, 8, 9, 10, 11))}
    html = render_runs(text, segment(0, len(text), list(spans.values())), spans)
    assert html == (
        "<span data-s=0>a </span>"
        '<span class="x more" data-s=2 data-x="1"><u class=c7><u class=c8>'
        "<u class=c9><u class=c10>&lt;b&gt;</u></u></u></u></span>"
        "<span data-s=5> &amp; 🙂 done</span>"
    )


def test_whole_text_round_trips_through_the_runs():
    text = "Tea ☕ and 🙂 then café.\nNext line."
    spans = [Span(1, 4, 11, (1,)), Span(2, 9, 20, (2,))]
    runs = segment(0, len(text), spans)
    assert "".join(text[r.start : r.end] for r in runs) == text
    assert [r.start for r in runs] == [0, 4, 9, 11, 20]
