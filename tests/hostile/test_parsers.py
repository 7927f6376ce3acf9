"""Uploaded files as an attacker or a broken tool would make them.

`extract_text` has two allowed outcomes: an `Extracted` whose text is in the stored form (NFC,
`\\n` line ends, no NUL, something to read), or an `ExtractionError` with one sentence. Anything
else (an `IndexError` from deep inside a parser, a text with a carriage return) is a bug.
"""

import functools
import io
import unicodedata
import zipfile

from hypothesis import given
from hypothesis import strategies as st

from fieldnotes.extract import SUPPORTED_EXTENSIONS, Extracted, ExtractionError, extract_text
from tests.fieldnotes import samples

from .conftest import assert_sentence, hostile

EXTENSIONS = sorted(SUPPORTED_EXTENSIONS)


@functools.cache
def valid_files() -> dict[str, bytes]:
    """One real file of every supported kind, each of which extracts without complaint."""
    return {
        "notes.txt": "09:30 Zoë arrived at the café.\r\nShe sat down.\n".encode(),
        "notes.md": b"# Ward round\n\n- 09:30 handover\n- 09:45 tea\n",
        "notes.html": samples.FIELDNOTE_HTML.encode(),
        "notes.rtf": samples.FIELDNOTE_RTF,
        "notes.docx": samples.fieldnote_docx(),
        "notes.odt": samples.fieldnote_odt(),
        "notes.pdf": samples.text_pdf(["09:30 Sister opened the meeting.", None]),
    }


def check(data: bytes, filename: str) -> Extracted | None:
    """Extract, and fail unless the outcome is one of the two allowed."""
    try:
        result = extract_text(data, filename)
    except ExtractionError as error:
        assert_sentence(str(error), (filename, data[:200]))
        return None
    assert result.format == SUPPORTED_EXTENSIONS["." + filename.rsplit(".", 1)[1].lower()]
    assert result.text.strip(), filename
    assert "\r" not in result.text, filename
    assert "\x00" not in result.text, filename
    assert not result.text.startswith("\ufeff"), filename
    assert unicodedata.is_normalized("NFC", result.text), (filename, result.text[:200])
    for warning in result.warnings:
        assert_sentence(warning, filename)
    return result


def test_the_valid_files_extract():
    for filename, data in valid_files().items():
        assert check(data, filename) is not None, filename


@hostile(60)
@given(data=st.binary(max_size=4096), extension=st.sampled_from(EXTENSIONS))
def test_random_bytes_with_every_extension(data, extension):
    check(data, f"notes{extension}")


@hostile(40)
@given(
    text=st.text(max_size=400),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
    extension=st.sampled_from([".txt", ".md", ".html", ".rtf"]),
)
def test_random_text_in_any_encoding(text, encoding, extension):
    data = text.encode(encoding, errors="replace")
    check(data, f"notes{extension}")


@hostile(40)
@given(
    prefix=st.sampled_from(["", "\ufeff", "x" * 200]),
    pieces=st.lists(
        st.sampled_from(["e", "\u0301", "\x00", "\r", "\n", " ", "\ufeff", "e\x00\u0301"]),
        max_size=12,
    ),
)
def test_utf16_text_with_stray_nul_and_combining_marks_is_stored_normalised(prefix, pieces):
    # UTF-16 is the one way a NUL can reach the text; "e", NUL, combining acute must not come
    # out as a decomposed "é" once the NUL is dropped.
    check(("x" * 200 + prefix + "".join(pieces)).encode("utf-16"), "notes.txt")


def _mutate(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(data)
    for kind, position, payload in edits:
        at = position % (len(data) + 1)
        if kind == "flip" and data:
            data[at % len(data)] ^= payload[0] if payload else 0xFF
        elif kind == "insert":
            data[at:at] = payload
        elif kind == "delete":
            del data[at : at + max(len(payload), 1)]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


edit_lists = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "truncate"]),
        st.integers(min_value=0, max_value=1 << 20),
        st.binary(min_size=1, max_size=16),
    ),
    min_size=1,
    max_size=6,
)


@hostile(60)
@given(filename=st.sampled_from(sorted(valid_files())), edits=edit_lists)
def test_mutated_valid_files(filename, edits):
    check(_mutate(valid_files()[filename], edits), filename)


@hostile(40)
@given(
    filename=st.sampled_from(["notes.docx", "notes.odt"]),
    member=st.sampled_from(["word/document.xml", "word/styles.xml", "content.xml", "mimetype"]),
    edits=edit_lists,
)
def test_valid_zips_with_a_mutated_member(filename, member, edits):
    # Mutating the zip itself mostly stops at its checksums; this reaches the XML parsers.
    data = valid_files()[filename]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if member not in archive.namelist():
            return
        content = archive.read(member)
    check(samples.replace_member(data, member, _mutate(content, edits)), filename)


MEMBER_NAMES = [
    "word/document.xml",
    "word/styles.xml",
    "[Content_Types].xml",
    "content.xml",
    "styles.xml",
    "mimetype",
    "META-INF/manifest.xml",
    "../../etc/passwd",
    "/absolute.xml",
    "word/media/image1.png",
]
XML_FRAGMENTS = [
    b'<?xml version="1.0"?>',
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x SYSTEM "file:///etc/passwd">',
    b"&b;",
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">',
    b"<w:body>",
    b"<w:p>",
    b"<w:r><w:t>Zo\xc3\xab</w:t></w:r>",
    b"<w:tbl><w:tr><w:tc>",
    b"<w:numPr><w:ilvl w:val='99999999999999999999'/></w:numPr>",
    b"</w:p>",
    b"</w:body></w:document>",
    b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
    b' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">',
    b"<office:body><office:text><text:p>Hello</text:p>",
    b"<text:list><text:list-item>",
    b"application/vnd.oasis.opendocument.text",
    b"\x00\xff\xfe",
    b"<" * 50,
]


@hostile(60)
@given(
    extension=st.sampled_from([".docx", ".odt"]),
    members=st.lists(
        st.tuples(
            st.sampled_from(MEMBER_NAMES) | st.text(min_size=1, max_size=20),
            st.lists(st.sampled_from(XML_FRAGMENTS) | st.binary(max_size=64), max_size=12),
        ),
        max_size=5,
        unique_by=lambda member: member[0],
    ),
)
def test_zips_with_random_members(extension, members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, parts in members:
            try:
                archive.writestr(name, b"".join(parts))
            except (ValueError, IndexError):
                continue  # a name zipfile itself will not write, such as a lone NUL
    check(buffer.getvalue(), f"notes{extension}")


@hostile(30)
@given(
    filename=st.sampled_from(["notes.docx", "notes.odt"]),
    size=st.integers(min_value=0, max_value=0xFFFFFFFF),
    which=st.integers(min_value=0, max_value=50),
)
def test_zips_declaring_huge_or_false_sizes(filename, size, which):
    data = valid_files()[filename]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    check(samples.set_declared_size(data, names[which % len(names)], size), filename)


def test_a_zip_bomb_is_refused_with_a_sentence():
    try:
        extract_text(samples.zip_bomb_docx(), "notes.docx")
    except ExtractionError as error:
        assert str(error) == "The file unpacks to more than 100 MB, too much to open safely."
    else:
        raise AssertionError("a zip bomb was opened")
