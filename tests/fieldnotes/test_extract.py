import codecs
import dataclasses
import io
import struct
import zipfile

import pytest
from odf import dc
from odf.draw import Frame, Image
from odf.office import Annotation
from odf.opendocument import OpenDocumentText
from odf.text import Note, NoteBody, NoteCitation, P, S

from fieldnotes import extract
from fieldnotes.extract import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_EXTENSIONS,
    Extracted,
    ExtractionError,
    decode_plain_text,
    extract_pasted,
    extract_text,
)

from . import samples


def refusal(data: bytes, filename: str, **limits) -> str:
    with pytest.raises(ExtractionError) as caught:
        extract_text(data, filename, **limits)
    return str(caught.value)


# Word ---------------------------------------------------------------------------------------


def test_docx_keeps_headings_paragraphs_lists_and_tables_in_document_order():
    assert extract_text(samples.fieldnote_docx(), "Ward meeting.docx") == Extracted(
        text=samples.DOCUMENT_TEXT, format="docx", encoding=None, warnings=()
    )


def test_docx_leaves_images_out_with_a_warning():
    result = extract_text(samples.fieldnote_docx(with_image=True), "notes.docx")
    assert result.text == samples.DOCUMENT_TEXT
    assert result.warnings == ("1 image was left out.",)


def test_docx_reads_numbering_revisions_content_controls_and_nested_tables():
    def paragraph(text, properties=""):
        return f"<w:p><w:pPr>{properties}</w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>"

    def numbered(text, level, num_id=3):
        numbering = f'<w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'
        return paragraph(text, numbering)

    def table(*rows):
        cells = ("".join(f"<w:tc>{cell}</w:tc>" for cell in row) for row in rows)
        return "<w:tbl>" + "".join(f"<w:tr>{row}</w:tr>" for row in cells) + "</w:tbl>"

    body = (
        paragraph("Tab stops are not tabs", '<w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs>')
        + numbered("First point", 0)
        + numbered("Sub-point", 1)
        + numbered("Numbering switched off", 0, num_id=0)
        + paragraph("Styled sub-item", '<w:pStyle w:val="ListBullet2"/>')
        + paragraph("A continuation is not an item", '<w:pStyle w:val="ListContinue"/>')
        + '<w:p><w:r><w:t xml:space="preserve">Kept </w:t></w:r>'
        "<w:del><w:r><w:delText>deleted </w:delText><w:tab/></w:r></w:del>"
        "<w:ins><w:r><w:t>inserted</w:t></w:r></w:ins>"
        '<w:r><w:footnoteReference w:id="1"/></w:r></w:p>'
        "<w:p><w:r><w:t>Picture:</w:t></w:r><w:r><mc:AlternateContent>"
        '<mc:Choice Requires="wps"><w:drawing/></mc:Choice>'
        "<mc:Fallback><w:pict/><w:t>old copy</w:t></mc:Fallback>"
        '</mc:AlternateContent></w:r><w:r><w:commentReference w:id="0"/></w:r></w:p>'
        + table(
            [
                paragraph("Line one") + paragraph("line two"),
                table([paragraph("inner a"), paragraph("inner b")]),
            ],
            [paragraph("plain"), paragraph("")],
            [paragraph(""), paragraph(" ")],
        )
        + table([paragraph("second"), paragraph("table")])
        + "<w:sdt><w:sdtPr/><w:sdtContent>"
        + paragraph("In a content control")
        + "</w:sdtContent></w:sdt>"
        + "<w:p><w:r><w:t>Non</w:t><w:noBreakHyphen/><w:t>breaking and</w:t>"
        "<w:br/><w:br/><w:br/><w:t>after breaks</w:t><w:tab/><w:t>tabbed</w:t></w:r></w:p>"
        + paragraph("   ")
    )
    result = extract_text(samples.docx_with_body(body), "notes.docx")
    assert result.text == (
        "Tab stops are not tabs\n"
        "\n"
        "- First point\n"
        "  - Sub-point\n"
        "\n"
        "Numbering switched off\n"
        "\n"
        "  - Styled sub-item\n"
        "\n"
        "A continuation is not an item\n"
        "\n"
        "Kept inserted\n"
        "\n"
        "Picture:\n"
        "\n"
        "Line one line two\tinner a inner b\n"
        "plain\t\n"
        "\n"
        "second\ttable\n"
        "\n"
        "In a content control\n"
        "\n"
        "Non-breaking and\n"
        "\n"
        "after breaks\ttabbed"
    )
    assert result.warnings == (
        "1 image was left out.",
        "Footnotes and endnotes were left out.",
        "Comments were left out.",
    )


def test_docx_with_only_empty_paragraphs_contains_no_text():
    body = "<w:p/><w:p><w:r><w:t xml:space='preserve'>   </w:t></w:r></w:p>"
    assert refusal(samples.docx_with_body(body), "notes.docx") == "The file contains no text."


# OpenDocument -------------------------------------------------------------------------------


def test_odt_gives_the_same_text_as_the_same_docx():
    assert extract_text(samples.fieldnote_odt(), "Ward meeting.odt") == Extracted(
        text=samples.DOCUMENT_TEXT, format="odt", encoding=None, warnings=()
    )


def test_odt_repeats_spaces_and_leaves_notes_and_comments_out():
    document = OpenDocumentText()
    paragraph = P(text="Three")
    paragraph.addElement(S(c=3))
    paragraph.addText("spaces")
    note = Note(id="ftn1", noteclass="footnote")
    note.addElement(NoteCitation(text="1"))
    note_body = NoteBody()
    note_body.addElement(P(text="A footnote."))
    note.addElement(note_body)
    paragraph.addElement(note)
    comment = Annotation()
    comment.addElement(dc.Creator(text="Ann"))
    comment.addElement(P(text="A comment."))
    paragraph.addElement(comment)
    paragraph.addText(" and more")
    document.text.addElement(paragraph)
    result = extract_text(samples.odt_bytes(document), "notes.odt")
    assert result.text == "Three   spaces and more"
    assert result.warnings == (
        "Footnotes and endnotes were left out.",
        "Comments were left out.",
    )


def test_odt_leaves_images_out_with_a_warning():
    document = OpenDocumentText()
    href = document.addPicture("Pictures/dot.png", "image/png", samples.png_bytes())
    paragraph = P(text="Before the picture.")
    frame = Frame(width="1cm", height="1cm", anchortype="as-char")
    frame.addElement(Image(href=href))
    paragraph.addElement(frame)
    document.text.addElement(paragraph)
    result = extract_text(samples.odt_bytes(document), "notes.odt")
    assert (result.text, result.warnings) == ("Before the picture.", ("1 image was left out.",))


# HTML ---------------------------------------------------------------------------------------


def test_html_keeps_structure_and_leaves_scripts_styles_and_comments_out():
    assert extract_text(samples.FIELDNOTE_HTML.encode(), "notes.html") == Extracted(
        text=samples.FIELDNOTE_HTML_TEXT,
        format="html",
        encoding="utf-8",
        warnings=("Scripts and styles were left out.",),
    )


def test_html_without_scripts_or_styles_has_no_warning():
    result = extract_text(b"<p>One</p><p>Two &amp; three</p>", "notes.htm")
    assert result == Extracted(text="One\n\nTwo & three", format="html", encoding="utf-8")


def test_html_collapses_blank_lines_and_strips_the_ends():
    html = b"<br><br><p>One<br><br><br><br>Two</p><div></div><br><p>Three</p><br><br>"
    assert extract_text(html, "notes.html").text == "One\n\nTwo\n\nThree"


def test_html_flattens_nested_tables_into_their_cell_and_separates_tables():
    html = (
        b"<table><tr><td>a<table><tr><td>x</td><td>y</td></tr></table></td><td>b</td></tr>"
        b"<tr><td>c<td>d</table><table><tr><td>second</td></tr></table><li>stray item"
    )
    assert extract_text(html, "notes.html").text == "a x y\tb\nc\td\n\nsecond\n\n- stray item"


def test_html_reads_the_declared_charset():
    html = '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>Привет, café</p>'
    data = html.replace("café", "cafe").encode("koi8-r")
    result = extract_text(data, "notes.html")
    assert (result.text, result.encoding) == ("Привет, cafe", "koi8-r")


def test_html_reads_a_latin_1_label_as_windows_1252():
    data = b'<meta charset="ISO-8859-1"><p>caf\xe9 \x93quoted\x94</p>'
    result = extract_text(data, "notes.html")
    assert (result.text, result.encoding) == ("café “quoted”", "cp1252")


def test_html_byte_order_mark_wins_over_the_declared_charset():
    data = codecs.BOM_UTF16_LE + '<meta charset="koi8-r"><p>Zoë</p>'.encode("utf-16-le")
    result = extract_text(data, "notes.html")
    assert (result.text, result.encoding) == ("Zoë", "utf-16")


def test_html_with_only_a_script_contains_no_text():
    data = b"<html><script>alert('hi')</script></html>"
    assert refusal(data, "notes.html") == "The file contains no text."


# RTF ----------------------------------------------------------------------------------------


def test_rtf_decodes_escaped_accents():
    assert extract_text(samples.FIELDNOTE_RTF, "notes.rtf") == Extracted(
        text="Café with Zoë.\nSecond paragraph.", format="rtf", encoding="utf-8"
    )


def test_rtf_that_is_really_plain_text_is_refused():
    assert refusal(b"Just some notes.", "notes.rtf") == (
        "The content does not match the extension .rtf: it looks like plain text."
    )


# Plain text and Markdown --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        ("Café with Zoë 🙂\nline two\n".encode(), "Café with Zoë 🙂\nline two\n", "utf-8"),
        (codecs.BOM_UTF8 + "Café\n".encode(), "Café\n", "utf-8"),
        (samples.UTF16_LE_WITH_BOM, "Café with Zoë 🙂\nline two", "utf-16"),
        (samples.UTF16_BE_WITH_BOM, "Café with Zoë 🙂\nline two", "utf-16"),
        (b"caf\xe9 \x93quoted\x94", "café “quoted”", "cp1252"),
        (b"one\r\ntwo\rthree\r\n", "one\ntwo\nthree\n", "utf-8"),
        ("Zoe\u0308 at the cafe\u0301".encode(), "Zoë at the café", "utf-8"),
        (b"  indented\n\n\n\nafter three blank lines  \n", None, "utf-8"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "cp1252", "crlf", "nfc", "as-written"],
)
def test_txt_is_decoded_and_normalised(data, text, encoding):
    expected = data.decode() if text is None else text
    assert extract_text(data, "notes.txt") == Extracted(
        text=expected, format="txt", encoding=encoding
    )


def test_markdown_is_kept_as_written():
    data = b"# Ward meeting\n\n* Staffing\n* _Beds_ and [minutes](https://example.org)\n"
    assert extract_text(data, "notes.markdown") == Extracted(
        text=data.decode(), format="md", encoding="utf-8"
    )


def test_txt_of_only_white_space_contains_no_text():
    assert refusal(b" \n\t\r\n ", "notes.txt") == "The file contains no text."
    assert refusal(codecs.BOM_UTF8, "notes.txt") == "The file contains no text."


def test_txt_drops_nul_characters_from_utf16():
    data = codecs.BOM_UTF16_LE + ("a" * 200 + "\x00b").encode("utf-16-le")
    assert extract_text(data, "notes.txt").text == "a" * 200 + "b"


# PDF ----------------------------------------------------------------------------------------


def test_pdf_joins_pages_with_a_blank_line_and_warns_of_a_page_without_text():
    data = samples.text_pdf(
        [
            "Ward meeting, 12 March\nSister Zoë opened the meeting in the café.",
            None,
            "Meeting closed at 10:15.",
        ]
    )
    assert extract_text(data, "notes.pdf") == Extracted(
        text=(
            "Ward meeting, 12 March\n"
            "Sister Zoë opened the meeting in the café.\n"
            "\n"
            "Meeting closed at 10:15."
        ),
        format="pdf",
        encoding=None,
        warnings=("Page 2 has no text.",),
    )


def test_pdf_names_up_to_ten_pages_without_text():
    data = samples.text_pdf([None, "Notes.", None, None])
    assert extract_text(data, "notes.pdf").warnings == ("Pages 1, 3 and 4 have no text.",)
    data = samples.text_pdf(["Notes.", *[None] * 11])
    assert extract_text(data, "notes.pdf").warnings == ("11 of the 12 pages have no text.",)


def test_pdf_encrypted_with_an_empty_password_is_read():
    data = samples.encrypted_pdf(user_password="")
    assert extract_text(data, "notes.pdf").text == "Locked notes."


def test_pdf_with_a_password_is_refused():
    assert refusal(samples.encrypted_pdf(user_password="secret"), "notes.pdf") == (
        "This PDF is password-protected; remove the password and upload it again."
    )


def test_pdf_without_a_text_layer_is_refused_as_scanned():
    assert refusal(samples.scanned_pdf(), "scan.pdf") == (
        "This looks like a scanned PDF: no text found. Run it through text recognition (OCR) first."
    )


def test_pdf_damaged_is_refused():
    assert refusal(samples.CORRUPT_PDF, "notes.pdf") == "The PDF is damaged and cannot be read."
    truncated = samples.text_pdf(["Notes."])[:300]
    assert refusal(truncated, "notes.pdf") == "The PDF is damaged and cannot be read."


# Names, sizes and content that does not match -----------------------------------------------


def test_extract_refuses_an_unsupported_extension():
    assert refusal(b"notes", "notes.doc") == (
        "Files ending in .doc cannot be read; use .txt, .text, .md, .markdown, .docx, .odt, "
        ".html, .htm, .rtf or .pdf."
    )
    assert refusal(b"notes", "README") == (
        "The file name has no extension; use .txt, .text, .md, .markdown, .docx, .odt, .html, "
        ".htm, .rtf or .pdf."
    )


def test_extract_reads_the_extension_of_any_case_after_any_path():
    assert extract_text(b"notes", "NOTES.TXT").format == "txt"
    assert extract_text(samples.fieldnote_docx(), r"C:\Users\zoe\Ward.v2.Docx").format == "docx"
    assert set(SUPPORTED_EXTENSIONS.values()) == {"txt", "md", "docx", "odt", "html", "rtf", "pdf"}


@pytest.mark.parametrize("extension", list(SUPPORTED_EXTENSIONS))
def test_extract_refuses_an_empty_file(extension):
    assert refusal(b"", f"notes{extension}") == "The file is empty."


def test_extract_refuses_a_file_over_the_limit_before_reading_it(monkeypatch):
    monkeypatch.setitem(extract._READERS, "pdf", None)  # would fail if it were called
    assert refusal(b"x" * 2500, "notes.pdf", max_bytes=1000) == (
        "The file is 2.5 KB; the limit is 1,000 bytes."
    )
    assert refusal(bytes(int(12.3 * 1024 * 1024)), "notes.pdf") == (
        "The file is 12.3 MB; the limit is 10 MB."
    )
    assert refusal(bytes(DEFAULT_MAX_BYTES + 1), "notes.pdf") == (
        "The file is 10.1 MB; the limit is 10 MB."
    )


@pytest.mark.parametrize(
    ("make", "filename", "looks_like"),
    [
        (lambda: samples.text_pdf(["Notes."]), "notes.txt", "a PDF"),
        (samples.fieldnote_docx, "notes.txt", "a Word document"),
        (samples.fieldnote_odt, "notes.md", "an OpenDocument text"),
        (lambda: samples.FIELDNOTE_RTF, "notes.txt", "an RTF document"),
        (lambda: bytes(range(256)) * 8, "notes.txt", "binary data"),
        (
            lambda: samples.replace_member(samples.fieldnote_odt(), "mimetype", b"x"),
            "a.html",
            "a ZIP archive",
        ),
        (lambda: b"Just notes, saved with the wrong name.", "notes.docx", "plain text"),
        (lambda: b"<!DOCTYPE html><p>Notes</p>", "notes.odt", "an HTML page"),
        (samples.fieldnote_odt, "notes.docx", "an OpenDocument text"),
        (samples.fieldnote_docx, "notes.odt", "a Word document"),
        (samples.fieldnote_docx, "notes.pdf", "a Word document"),
        (lambda: samples.text_pdf(["Notes."]), "notes.rtf", "a PDF"),
        (
            lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "notes.docx",
            "an older Microsoft Office file",
        ),
    ],
)
def test_extract_refuses_content_that_does_not_match_the_extension(make, filename, looks_like):
    extension = filename[filename.rindex(".") :]
    assert refusal(make(), filename) == (
        f"The content does not match the extension {extension}: it looks like {looks_like}."
    )


def test_docx_that_is_neither_a_zip_nor_recognisable_is_damaged():
    assert refusal(bytes(range(256)) * 8, "notes.docx") == (
        "The file is damaged or not a real .docx file."
    )


def test_docx_cut_short_is_damaged():
    data = samples.fieldnote_docx()
    assert refusal(data[: len(data) // 2], "notes.docx") == (
        "The file is damaged or not a real .docx file."
    )


def test_docx_with_a_corrupted_member_is_damaged():
    data = bytearray(samples.fieldnote_docx())
    member = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml")
    name_length, extra_length = struct.unpack_from("<HH", data, member.header_offset + 26)
    payload = member.header_offset + 30 + name_length + extra_length
    data[payload + 40 : payload + 60] = bytes(20)
    assert refusal(bytes(data), "notes.docx") == "The file is damaged or not a real .docx file."


# Zip bombs ----------------------------------------------------------------------------------


@pytest.fixture
def unpacked(monkeypatch):
    """Records the members unpacked from a zip, as parsing a .docx or .odt begins with that."""
    names = []
    original = extract._Unpacking.chunks

    def recording(self, name):
        names.append(name)
        return original(self, name)

    monkeypatch.setattr(extract._Unpacking, "chunks", recording)
    return names


def test_docx_unpacking_to_more_than_the_limit_is_refused_before_reading(unpacked):
    data = samples.zip_bomb_docx()
    assert len(data) < 1024 * 1024
    assert refusal(data, "bomb.docx") == (
        "The file unpacks to more than 100 MB, too much to open safely."
    )
    assert unpacked == []


def test_docx_packed_too_tightly_is_refused_before_reading(unpacked):
    assert refusal(samples.tightly_packed_docx(), "bomb.docx") == (
        "The file is compressed unusually tightly, as zip bombs are, so it was not opened."
    )
    assert unpacked == []


def test_docx_that_understates_its_unpacked_size_is_refused():
    data = samples.understating_docx(actual_bytes=3 * 1024 * 1024, declared_bytes=1000)
    assert refusal(data, "bomb.docx", max_unpacked_bytes=2 * 1024 * 1024) == (
        "The file is damaged or not a real .docx file."
    )


def test_odt_is_held_to_the_unpacked_limit(unpacked):
    assert refusal(samples.fieldnote_odt(), "notes.odt", max_unpacked_bytes=1000) == (
        "The file unpacks to more than 1,000 bytes, too much to open safely."
    )
    assert unpacked == []


# Parser failures ----------------------------------------------------------------------------


def test_extract_turns_any_parser_failure_into_an_extraction_error(monkeypatch):
    def broken(stream):
        raise AttributeError("'NoneType' object has no attribute 'firstChild'")

    monkeypatch.setattr(extract.opendocument, "load", broken)
    assert refusal(samples.fieldnote_odt(), "notes.odt") == (
        "The file is damaged or not a real .odt file."
    )


def test_extract_lets_memory_errors_through(monkeypatch):
    def exhausted(stream):
        raise MemoryError

    monkeypatch.setattr(extract.opendocument, "load", exhausted)
    with pytest.raises(MemoryError):
        extract_text(samples.fieldnote_odt(), "notes.odt")


# decode_plain_text and extract_pasted -------------------------------------------------------


def test_decode_plain_text_strips_the_byte_order_mark():
    assert decode_plain_text(codecs.BOM_UTF8 + b"notes") == ("notes", "utf-8")
    assert decode_plain_text(codecs.BOM_UTF16_BE + "notes".encode("utf-16-be")) == (
        "notes",
        "utf-16",
    )


def test_decode_plain_text_refuses_binary_data():
    message = "This is not a text file: it contains binary data."
    for data in (b"notes\x00more notes", b"\x01\x02\x03 notes", bytes(range(1, 32)) * 10):
        with pytest.raises(ExtractionError, match=f"^{message}$"):
            decode_plain_text(data)


def test_decode_plain_text_allows_a_few_control_characters():
    data = b"x" * 200 + b"\x1a"  # an old DOS end-of-file mark
    assert decode_plain_text(data) == ("x" * 200 + "\x1a", "utf-8")


def test_decode_plain_text_refuses_bytes_no_encoding_explains():
    # Neither UTF-8 nor Windows-1252, which leaves 0x81 undefined.
    with pytest.raises(ExtractionError) as caught:
        decode_plain_text(b"caf\xe9 \x81 " + b"notes " * 50)
    assert str(caught.value) == (
        "The text encoding could not be recognised; save the file as UTF-8 and upload it again."
    )


def test_decode_plain_text_refuses_a_broken_utf16_file():
    with pytest.raises(ExtractionError) as caught:
        decode_plain_text(codecs.BOM_UTF16_LE + b"a\x00b")
    assert str(caught.value) == (
        "The file is marked as UTF-16 but is not valid UTF-16; save it again and upload it again."
    )


def test_extract_pasted_normalises():
    assert extract_pasted("\ufeffZoe\u0308 said\r\nhello\x00\r\n") == Extracted(
        text="Zoë said\nhello\n", format="txt", encoding=None
    )


def test_extract_pasted_refuses_empty_text():
    for text in ("", " \n\t ", "\ufeff"):
        with pytest.raises(ExtractionError) as caught:
            extract_pasted(text)
        assert str(caught.value) == "The pasted text is empty."


def test_extracted_is_immutable():
    result = extract_pasted("notes")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "other"
