from fieldnotes.text import is_normalised, normalise_text, paragraphs, word_count


def test_normalise_strips_bom_and_unifies_line_ends():
    assert normalise_text("\ufeffone\r\ntwo\rthree\n") == "one\ntwo\nthree\n"


def test_normalise_composes_accents():
    decomposed = "Zoe\u0308 and cafe\u0301"
    assert normalise_text(decomposed) == "Zoë and café"
    assert len(normalise_text(decomposed)) == len(decomposed) - 2


def test_normalise_is_idempotent():
    text = "\ufeffa\r\nb\u0301 🙂"
    assert normalise_text(normalise_text(text)) == normalise_text(text)
    assert is_normalised(normalise_text(text))
    assert not is_normalised(text)


def test_paragraphs_keep_offsets_into_the_text():
    text = "Title\n\n09:30 First para\nsecond line\n\n\n10:00 Next"
    found = paragraphs(text)
    assert found == [(0, "Title"), (7, "09:30 First para\nsecond line"), (38, "10:00 Next")]
    for start, paragraph in found:
        assert text[start : start + len(paragraph)] == paragraph


def test_word_count():
    assert word_count("one two\nthree  four\n\nfive") == 5
    assert word_count("") == 0
