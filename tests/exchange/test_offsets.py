import pytest

from exchange.offsets import (
    CODEPOINTS,
    CRLF1,
    UTF16_CRLF2,
    detect_scheme,
    scheme_for_origin,
    text_length,
    to_stored,
)

# H i CRLF C a f e ◌́ space 🙂 space o k CRLF E n d: CRLF line ends, a decomposed é and an emoji.
RAW = "Hi\r\nCafe\u0301 \U0001f642 ok\r\nEnd"
STORED = "Hi\nCafé 🙂 ok\nEnd"


def test_text_length_under_each_scheme():
    assert text_length(RAW, CODEPOINTS) == 19
    assert text_length(RAW, UTF16_CRLF2) == 20
    assert text_length(RAW, CRLF1) == 17
    assert text_length("\ufeffabc", CODEPOINTS) == 3


def test_to_stored_code_points():
    stored, spans = to_stored(RAW, [(4, 9), (12, 14), (16, 19), (10, 11), (0, 19)], CODEPOINTS)
    assert stored == STORED
    assert spans == [(3, 7), (10, 12), (13, 16), (8, 9), (0, 16)]
    assert [stored[a:b] for a, b in spans[:4]] == ["Café", "ok", "End", "🙂"]


def test_to_stored_nvivo_utf16_units_with_crlf_as_two():
    stored, spans = to_stored(RAW, [(4, 9), (13, 15), (17, 20), (10, 12), (0, 20)], UTF16_CRLF2)
    assert stored == STORED
    assert spans == [(3, 7), (10, 12), (13, 16), (8, 9), (0, 16)]


def test_to_stored_atlas_crlf_as_one():
    stored, spans = to_stored(RAW, [(3, 8), (11, 13), (14, 17), (9, 10), (0, 17)], CRLF1)
    assert stored == STORED
    assert spans == [(3, 7), (10, 12), (13, 16), (8, 9), (0, 17 - 1)]


def test_to_stored_positions_inside_a_character_keep_the_whole_character():
    # Between the halves of the emoji's surrogate pair, and between e and its accent.
    _, spans = to_stored(RAW, [(11, 12), (10, 11)], UTF16_CRLF2)
    assert spans == [(8, 9), (8, 9)]
    _, spans = to_stored(RAW, [(4, 8), (8, 9)], CODEPOINTS)
    assert spans == [(3, 7), (6, 7)]


def test_to_stored_between_cr_and_lf_is_before_the_line_end():
    _, spans = to_stored("ab\r\ncd", [(0, 3), (3, 6)], CODEPOINTS)
    assert spans == [(0, 2), (2, 5)]


def test_to_stored_drops_a_bom_and_reads_lone_cr():
    stored, spans = to_stored("\ufeffone\rtwo", [(4, 7)], CODEPOINTS)
    assert stored == "one\ntwo"
    assert spans == [(4, 7)]


def test_to_stored_nfc_that_shortens_several_stretches():
    raw = "e\u0301e\u0301 x A\u030a\r\ny"
    stored, spans = to_stored(raw, [(0, 4), (5, 6), (7, 9), (11, 12)], CODEPOINTS)
    assert stored == "éé x Å\ny"
    assert spans == [(0, 2), (3, 4), (5, 6), (7, 8)]


def test_to_stored_rejects_an_unknown_scheme():
    with pytest.raises(ValueError, match="Unknown offset scheme"):
        to_stored("abc", [], "bytes")


def test_scheme_for_origin():
    assert scheme_for_origin("NVivo 14") == UTF16_CRLF2
    assert scheme_for_origin("ATLAS.ti for Windows 23.2.3.27778") == CRLF1
    assert scheme_for_origin("qc 1.3.2") == CODEPOINTS
    assert scheme_for_origin("") == CODEPOINTS


def test_detect_confirms_nvivo_on_nvivo_counts():
    texts = {"s1": RAW}
    choice = detect_scheme("NVivo 14", texts, {"s1": [(4, 9), (13, 15), (17, 20)]})
    assert choice.scheme == UTF16_CRLF2
    assert choice.checks[UTF16_CRLF2].boundary_share == 1.0
    assert choice.reason == (
        "The file comes from NVivo 14, which counts UTF-16 code units with CRLF as two, as NVivo "
        "counts (utf16_crlf2): every selection fits its text and 100 % of their starts and ends "
        "fall on word boundaries."
    )


def test_detect_file_claiming_nvivo_but_counting_code_points():
    text = "\U0001f642 Alpha beta\r\n\U0001f642 gamma delta\r\n\U0001f642 epsilon zeta"
    words = ["Alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    spans = [(text.index(word), text.index(word) + len(word)) for word in words]
    choice = detect_scheme("NVivo 14", {"s1": text}, {"s1": spans})
    assert choice.scheme == CODEPOINTS
    assert choice.checks[CODEPOINTS].boundary_share == 1.0
    assert choice.checks[UTF16_CRLF2].boundary_share == pytest.approx(4 / 12)
    assert choice.reason == (
        "The file comes from NVivo 14, which counts UTF-16 code units with CRLF as two, as NVivo "
        "counts (utf16_crlf2), but only 33 % of selection starts and ends fall on word boundaries "
        "under that count against 100 % under codepoints; positions were read as Unicode code "
        "points, as the standard says (codepoints)."
    )
    stored, converted = to_stored(text, spans, choice.scheme)
    assert [stored[a:b] for a, b in converted] == words


def test_detect_file_claiming_atlas_whose_last_selection_needs_crlf_as_two():
    text = "One\r\ntwo\r\nthree"
    choice = detect_scheme("ATLAS.ti 23", {"s1": text}, {"s1": [(10, 15)]})
    assert choice.scheme == CODEPOINTS
    assert choice.checks[CRLF1].outside == 1
    assert choice.reason == (
        "The file comes from ATLAS.ti 23, which counts code points with CRLF as one, as ATLAS.ti "
        "counts (crlf1), but 1 selection would fall outside their text under that count, while "
        "under codepoints every selection fits and 100 % of their starts and ends fall on word "
        "boundaries; positions were read as Unicode code points, as the standard says "
        "(codepoints)."
    )


def test_detect_keeps_the_tool_when_every_scheme_counts_alike():
    choice = detect_scheme("qc 1.3.2", {"a": "plain text\nhere"}, {"a": [(0, 5), (6, 10)]})
    assert choice.scheme == CODEPOINTS
    assert choice.reason.endswith(
        "the texts have no CRLF line ends and no characters outside the Basic Multilingual "
        "Plane, so every way of counting gives the same positions."
    )


def test_detect_refuses_when_no_scheme_fits_naming_the_selection():
    choice = detect_scheme(
        "NVivo 12",
        {"g1": "short", "g2": "also short"},
        {"g1": [(0, 5)], "g2": [(0, 4), (3, 40)]},
        names={"g2": "Interview 2"},
    )
    assert choice.scheme is None
    assert choice.reason == (
        "Selection 2 of source “Interview 2” (3–40) falls outside its text, which is 10 "
        "characters long counting UTF-16 code units with CRLF as two, as NVivo counts; no way "
        "of counting positions fits every selection."
    )
    assert choice.as_dict()["checks"]["codepoints"] == {
        "selections": 3,
        "outside": 1,
        "boundary_share": 1.0,
    }
