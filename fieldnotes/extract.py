"""Reading an uploaded file as fieldnote text. Plain Python, no Django.

`extract_text` turns the bytes of a .txt, .md, .docx, .odt, .html, .rtf or .pdf file into text in
the stored form (`fieldnotes.text.normalise_text`), or raises `ExtractionError` with one sentence
the uploader can act on. Plain text and Markdown are kept as written. The structured formats share
one layout: paragraphs and headings separated by a blank line, list items as "- " lines and table
rows as tab-separated lines, each list or table kept together.

Uploads are untrusted: the size is checked before parsing, .docx and .odt files are checked for zip
bombs, HTML is only tokenised (nothing is fetched or run), and a failure inside any parser becomes
an `ExtractionError`, never a traceback.
"""

import codecs
import collections
import contextlib
import io
import math
import re
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser

import pypdf
from lxml import etree
from odf import opendocument
from odf.element import Node
from odf.namespaces import DRAWNS, OFFICENS, TABLENS, TEXTNS
from pypdf.errors import DependencyError
from striprtf.striprtf import rtf_to_text

from fieldnotes.text import normalise_text

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_UNPACKED_BYTES",
    "SUPPORTED_EXTENSIONS",
    "Extracted",
    "ExtractionError",
    "decode_plain_text",
    "extract_pasted",
    "extract_text",
]

SUPPORTED_EXTENSIONS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".docx": "docx",
    ".odt": "odt",
    ".html": "html",
    ".htm": "html",
    ".rtf": "rtf",
    ".pdf": "pdf",
}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_UNPACKED_BYTES = 100 * 1024 * 1024

# Documents pack far less tightly than 200 to 1; a zip bomb packs about 1,000 to 1, deflate's
# limit. Small members (styles, settings) may pack tightly without being a threat.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECKED_ABOVE_BYTES = 1024 * 1024

KB = 1024
MB = 1024 * 1024


class ExtractionError(Exception):
    """A user-facing reason the file cannot be read; the caller prefixes the file name."""


@dataclass(frozen=True)
class Extracted:
    text: str
    format: str
    encoding: str | None
    warnings: tuple[str, ...] = ()


def extract_text(
    data: bytes,
    filename: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
) -> Extracted:
    extension = _extension(filename)
    file_format = SUPPORTED_EXTENSIONS.get(extension)
    if file_format is None:
        supported = list(SUPPORTED_EXTENSIONS)
        choices = f"{', '.join(supported[:-1])} or {supported[-1]}"
        if extension:
            raise ExtractionError(f"Files ending in {extension} cannot be read; use {choices}.")
        raise ExtractionError(f"The file name has no extension; use {choices}.")
    if len(data) > max_bytes:
        raise ExtractionError(
            f"The file is {_size(len(data), round_up=True)}; the limit is {_size(max_bytes)}."
        )
    if not data:
        raise ExtractionError("The file is empty.")
    try:
        text, encoding, warnings = _READERS[file_format](data, extension, max_unpacked_bytes)
    except (ExtractionError, MemoryError):
        raise
    except Exception as error:
        raise _damaged(extension) from error
    if not text.strip():
        raise ExtractionError("The file contains no text.")
    return Extracted(text=text, format=file_format, encoding=encoding, warnings=tuple(warnings))


def extract_pasted(text: str) -> Extracted:
    text = _stored(text)
    if not text.strip():
        raise ExtractionError("The pasted text is empty.")
    return Extracted(text=text, format="txt", encoding=None)


def decode_plain_text(data: bytes) -> tuple[str, str]:
    """Decode by byte-order mark, else as UTF-8, else as Windows-1252; refuse binary data."""
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _decode_marked(data[len(codecs.BOM_UTF8) :], "utf-8", "UTF-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # The utf-16 codec reads the mark to choose the byte order and drops it.
        text, encoding = _decode_marked(data, "utf-16", "UTF-16")
    elif b"\x00" in data:
        raise _BinaryData()
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                if _mostly_controls(data.decode("latin-1")):
                    raise _BinaryData() from None
                raise ExtractionError(
                    "The text encoding could not be recognised; save the file as UTF-8 and "
                    "upload it again."
                ) from None
    if _mostly_controls(text):
        raise _BinaryData()
    return text, encoding


class _BinaryData(ExtractionError):
    def __init__(self):
        super().__init__("This is not a text file: it contains binary data.")


# Control characters other than tab, line feed, form feed and carriage return, and the C1 range,
# which real text never uses.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _mostly_controls(text: str) -> bool:
    return len(_CONTROLS.findall(text)) > len(text) / 100


def _decode_marked(data: bytes, codec: str, label: str) -> tuple[str, str]:
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError:
        raise ExtractionError(
            f"The file is marked as {label} but is not valid {label}; save it again and "
            "upload it again."
        ) from None


# Shared helpers -----------------------------------------------------------------------------


def _extension(filename: str) -> str:
    name = re.split(r"[\\/]", filename)[-1]
    _, dot, ending = name.rpartition(".")
    return f".{ending.lower()}" if dot else ""


def _size(n: int, *, round_up: bool = False) -> str:
    """1,000 bytes, 2.5 KB, 12.3 MB; a size over a limit rounds up so it never reads as equal."""
    if n < KB:
        return f"{n:,} bytes"
    unit, name = (MB, "MB") if n >= MB else (KB, "KB")
    tenths = math.ceil(n * 10 / unit) if round_up else round(n * 10 / unit)
    return f"{tenths / 10:.1f}".removesuffix(".0") + f" {name}"


def _stored(text: str) -> str:
    # NUL cannot be stored in a PostgreSQL text column, and no fieldnote needs it. It goes
    # before normalising, as it may sit between a letter and the accent composed onto it.
    return normalise_text(text.replace("\x00", ""))


_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[^\S\n]*\n)+")


def _tidy(text: str) -> str:
    """A structured document's stored form: at most one blank line in a row, none at the ends."""
    text = _BLANK_LINES.sub("\n\n", _stored(text))
    return _LEADING_BLANK_LINES.sub("", text).rstrip()


class _Blocks:
    """Paragraphs separated by a blank line; consecutive list items or rows of one table by a
    line break."""

    LIST = "list"

    def __init__(self):
        self._parts = []

    def paragraph(self, text: str):
        if text.strip():
            self._parts.append((text, None))

    def item(self, text: str, level: int = 0):
        text = text.strip()
        if text:
            self._parts.append(("  " * level + "- " + text, self.LIST))

    def row(self, cells: list[str], table: object):
        cells = [cell.strip() for cell in cells]
        if any(cells):
            self._parts.append(("\t".join(cells), table))

    def text(self) -> str:
        pieces = []
        previous = None
        for text, group in self._parts:
            if pieces:
                pieces.append("\n" if group is not None and group is previous else "\n\n")
            pieces.append(text)
            previous = group
        return "".join(pieces)


def _plural(count: int, one: str, many: str) -> str:
    return f"1 {one} was" if count == 1 else f"{count:,} {many} were"


def _images_warning(count: int) -> list[str]:
    return [f"{_plural(count, 'image', 'images')} left out."] if count else []


# Recognising what a file really is -----------------------------------------------------------

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODF_MIMETYPE_PREFIX = b"application/vnd.oasis.opendocument."
_ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
_ODF_KINDS = {
    "text": "an OpenDocument text",
    "spreadsheet": "an OpenDocument spreadsheet",
    "presentation": "an OpenDocument presentation",
}


def _signature(data: bytes) -> str | None:
    """What the file is by its first bytes, if it is one of the binary formats people mix up."""
    if data.startswith(b"%PDF-"):
        return "a PDF"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    if data.startswith(_OLE_SIGNATURE):
        return "an older Microsoft Office file"
    if data[:64].lstrip().startswith(b"{\\rtf"):
        return "an RTF document"
    return None


def _zip_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "a Word document"
            if "xl/workbook.xml" in names:
                return "an Excel spreadsheet"
            if "ppt/presentation.xml" in names:
                return "a PowerPoint presentation"
            mimetype = _odf_mimetype(archive)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError):
        return None  # a damaged zip, whatever it was meant to be
    if mimetype.startswith(_ODF_MIMETYPE_PREFIX):
        kind = mimetype[len(_ODF_MIMETYPE_PREFIX) :].decode("ascii", "replace")
        return _ODF_KINDS.get(kind, "an OpenDocument file")
    return "a ZIP archive"


def _odf_mimetype(archive: zipfile.ZipFile) -> bytes:
    try:
        info = archive.getinfo("mimetype")
    except KeyError:
        return b""
    if info.file_size > 200:
        return b""
    return archive.read(info).strip()


def _describe(data: bytes) -> str | None:
    """What a file given as .docx, .odt, .pdf or .rtf looks like, if it is recognisably something
    else; None for binary data, which such a file is anyway (if damaged)."""
    kind = _signature(data)
    if kind:
        return kind
    try:
        text, _ = decode_plain_text(data[: 64 * KB])
    except ExtractionError:
        return None
    if re.match(r"\s*<(!doctype html|html)", text, re.IGNORECASE):
        return "an HTML page"
    return "plain text"


def _mismatch(extension: str, kind: str) -> ExtractionError:
    return ExtractionError(
        f"The content does not match the extension {extension}: it looks like {kind}."
    )


def _mismatch_or_damaged(data: bytes, extension: str) -> ExtractionError:
    kind = _describe(data)
    return _mismatch(extension, kind) if kind else _damaged(extension)


def _damaged(extension: str) -> ExtractionError:
    if extension == ".pdf":
        return ExtractionError("The PDF is damaged and cannot be read.")
    return ExtractionError(f"The file is damaged or not a real {extension} file.")


def _decode_text_file(data: bytes, extension: str) -> tuple[str, str]:
    kind = _signature(data)
    if kind:
        raise _mismatch(extension, kind)
    try:
        return decode_plain_text(data)
    except _BinaryData:
        raise _mismatch(extension, "binary data") from None


# Plain text, Markdown and RTF ---------------------------------------------------------------


def _read_plain(data: bytes, extension: str, max_unpacked_bytes: int):
    text, encoding = _decode_text_file(data, extension)
    return _stored(text), encoding, []


def _read_rtf(data: bytes, extension: str, max_unpacked_bytes: int):
    if not data[:64].lstrip().startswith(b"{\\rtf"):
        raise _mismatch_or_damaged(data, extension)
    try:
        text, encoding = decode_plain_text(data)
    except ExtractionError:
        raise _damaged(extension) from None
    return _tidy(rtf_to_text(text)), encoding, []


# HTML ---------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Browsers read Latin-1 and ASCII labels as Windows-1252 (WHATWG Encoding), and so do we.
_BROWSER_CODECS = {"latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}


def _decode_html(data: bytes, extension: str) -> tuple[str, str]:
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_text_file(data, extension)
    declared = _META_CHARSET.search(data[: 4 * KB])
    if declared and not _signature(data):
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            codec = None
        codec = _BROWSER_CODECS.get(codec, codec)
        # A document cannot declare UTF-16 in a way that is readable before knowing it is UTF-16.
        if codec and not codec.startswith("utf-16") and b"\x00" not in data:
            # A declared charset that does not fit the bytes is ignored; the text rules decide.
            with contextlib.suppress(UnicodeDecodeError):
                text = data.decode(codec)
                if _mostly_controls(text):
                    raise _mismatch(extension, "binary data")
                return text, codec
    return _decode_text_file(data, extension)


def _read_html(data: bytes, extension: str, max_unpacked_bytes: int):
    text, encoding = _decode_html(data, extension)
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    warnings = ["Scripts and styles were left out."] if parser.left_out_code else []
    return _tidy(parser.text()), encoding, warnings


_HTML_LEFT_OUT = {"script", "style", "template", "noscript", "title"}
_HTML_LISTS = {"ul", "ol", "menu", "dir"}
_HTML_CELLS = {"td", "th"}
_HTML_BLOCKS = {
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "main", "nav", "p",
    "section", "summary",
}  # fmt: skip
# Inside a table cell everything runs together on the cell's one line.
_HTML_BREAKS_IN_CELL = {*_HTML_BLOCKS, *_HTML_LISTS, *_HTML_CELLS, "br", "li", "pre", "tr"}
# HTML's own white space; a no-break space is content and stays.
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


class _HtmlText(HTMLParser):
    """Text of an HTML document in the shared block layout, from tags alone (no CSS)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.left_out_code = False
        self._blocks = _Blocks()
        self._pieces = []
        self._left_out_depth = 0
        self._pre_depth = 0
        self._list_depth = 0
        self._item_level = 0  # above 0 while the pending text belongs to a list item
        self._table_depth = 0
        self._table = None
        self._row = None  # cells of the open row of the outermost table
        self._cell = None  # pieces of its open cell; nested tables are flattened into it

    def text(self) -> str:
        self._end_row()
        self._flush()
        return self._blocks.text()

    def handle_starttag(self, tag, attrs):
        if tag in _HTML_LEFT_OUT:
            self._left_out_depth += 1
            self.left_out_code = self.left_out_code or tag in ("script", "style")
            return
        if self._left_out_depth:
            return
        if tag == "table":
            self._table_depth += 1
            if self._table_depth == 1:
                self._flush()
                self._table = object()
            else:
                self._add(" ")
        elif self._table_depth == 1 and tag == "tr":
            self._end_row()
            self._row = []
        elif self._table_depth == 1 and tag in _HTML_CELLS:
            self._end_cell()
            if self._row is None:
                self._row = []
            self._cell = []
        elif self._cell is not None:
            if tag in _HTML_BREAKS_IN_CELL:
                self._add(" ")
        elif tag == "br":
            self._add("\n")
        elif tag == "li":
            self._flush()
            self._item_level = max(self._list_depth, 1)
        elif tag in _HTML_LISTS:
            self._flush()
            self._list_depth += 1
        elif tag == "pre":
            self._flush()
            self._pre_depth += 1
        elif tag in _HTML_BLOCKS:
            self._block_boundary()

    def handle_endtag(self, tag):
        if tag in _HTML_LEFT_OUT:
            self._left_out_depth = max(self._left_out_depth - 1, 0)
            return
        if self._left_out_depth:
            return
        if tag == "table":
            if self._table_depth == 1:
                self._end_row()
                self._table = None
            elif self._table_depth > 1:
                self._add(" ")
            self._table_depth = max(self._table_depth - 1, 0)
        elif self._table_depth == 1 and tag == "tr":
            self._end_row()
        elif self._table_depth == 1 and tag in _HTML_CELLS:
            self._end_cell()
        elif self._cell is not None:
            if tag in _HTML_BREAKS_IN_CELL:
                self._add(" ")
        elif tag == "li":
            self._flush()
        elif tag in _HTML_LISTS:
            self._flush()
            self._list_depth = max(self._list_depth - 1, 0)
            self._item_level = self._list_depth
        elif tag == "pre":
            self._flush()
            self._pre_depth = max(self._pre_depth - 1, 0)
        elif tag in _HTML_BLOCKS:
            self._block_boundary()

    def handle_data(self, data):
        if self._left_out_depth:
            return
        if self._cell is None and self._pre_depth:
            self._pieces.append(data)
        else:
            self._add(_HTML_SPACE.sub(" ", data))

    def _add(self, text):
        (self._pieces if self._cell is None else self._cell).append(text)

    def _block_boundary(self):
        # A paragraph inside a list item continues the item rather than ending it.
        if self._item_level and self._list_depth:
            self._add(" ")
        else:
            self._flush()
            self._item_level = 0

    def _flush(self):
        text = "".join(self._pieces)
        self._pieces = []
        if self._pre_depth:
            # As in browsers, a line break straight after <pre> is not content.
            self._blocks.paragraph(_LEADING_BLANK_LINES.sub("", text.removeprefix("\n")).rstrip())
            return
        lines = (re.sub(" {2,}", " ", line).strip(" ") for line in text.split("\n"))
        text = "\n".join(lines).strip("\n")
        if self._item_level:
            self._blocks.item(text, self._item_level - 1)
        else:
            self._blocks.paragraph(text.strip())

    def _end_cell(self):
        if self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def _end_row(self):
        self._end_cell()
        if self._row is not None:
            self._blocks.row(self._row, self._table)
            self._row = None


# Zip-based formats: .docx and .odt ------------------------------------------------------------

_ZIP_CHUNK = 1024 * 1024


def _open_zip(data: bytes, extension: str, max_unpacked_bytes: int) -> zipfile.ZipFile:
    """The archive, once what its directory declares is within the limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _mismatch_or_damaged(data, extension) from None
    members = archive.infolist()
    if sum(member.file_size for member in members) > max_unpacked_bytes:
        raise _unpacks_too_big(max_unpacked_bytes)
    for member in members:
        if (
            member.file_size > RATIO_CHECKED_ABOVE_BYTES
            and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise ExtractionError(
                "The file is compressed unusually tightly, as zip bombs are, so it was not opened."
            )
    return archive


def _unpacks_too_big(max_unpacked_bytes: int) -> ExtractionError:
    return ExtractionError(
        f"The file unpacks to more than {_size(max_unpacked_bytes)}, too much to open safely."
    )


class _Unpacking:
    """Reads members of an archive counting what actually comes out, rather than trusting what
    its directory declares, and stops as soon as it is too much."""

    def __init__(self, archive: zipfile.ZipFile, max_unpacked_bytes: int):
        self._archive = archive
        self._limit = max_unpacked_bytes
        self._unpacked = 0

    def chunks(self, name: str):
        with self._archive.open(name) as stream:
            while chunk := stream.read(_ZIP_CHUNK):
                self._unpacked += len(chunk)
                if self._unpacked > self._limit:
                    raise _unpacks_too_big(self._limit)
                yield chunk

    def xml(self, name: str):
        """The member parsed as it unpacks, so its bytes are never held whole. Entities are
        left unexpanded and nothing is fetched, so it cannot pull in other files or expand
        itself; a single text over 10 MB (lxml's huge_tree) is refused as damaged. A parser of
        its own, as lxml parsers must not be shared between threads."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        for chunk in self.chunks(name):
            parser.feed(chunk)
        return parser.close()

    def check(self):
        """Reads every member to the end, which checks sizes and checksums along the way."""
        for name in self._archive.namelist():
            collections.deque(self.chunks(name), maxlen=0)


# .docx

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
W_BODY, W_P, W_TBL, W_TR, W_TC = (f"{_W}{n}" for n in ("body", "p", "tbl", "tr", "tc"))
W_T, W_TAB, W_PTAB, W_BR, W_CR = (f"{_W}{n}" for n in ("t", "tab", "ptab", "br", "cr"))
W_PPR, W_PSTYLE, W_NUMPR, W_NUMID, W_ILVL = (
    f"{_W}{n}" for n in ("pPr", "pStyle", "numPr", "numId", "ilvl")
)
W_VAL, W_STYLE, W_STYLEID, W_NAME, W_TYPE = (
    f"{_W}{n}" for n in ("val", "style", "styleId", "name", "type")
)
W_DEL, W_MOVEFROM, W_RT = f"{_W}del", f"{_W}moveFrom", f"{_W}rt"
W_NOBREAKHYPHEN, W_DRAWING, W_PICT, W_OBJECT = (
    f"{_W}{n}" for n in ("noBreakHyphen", "drawing", "pict", "object")
)
W_FOOTNOTEREF, W_ENDNOTEREF = f"{_W}footnoteReference", f"{_W}endnoteReference"
W_COMMENTREF = f"{_W}commentReference"
MC_FALLBACK = f"{_MC}Fallback"
_W_CHARACTERS = {W_TAB: "\t", W_PTAB: "\t", W_BR: "\n", W_CR: "\n", W_NOBREAKHYPHEN: "-"}
# Not part of the text: tab stops (w:tabs, whose w:tab elements are not tab characters), text
# that is not the document's own (tracked deletions, ruby guides, embedded objects) and the older
# copy of anything given in two forms (mc:Fallback).
_W_PRUNED = (f"{_W}tabs", W_DEL, W_MOVEFROM, W_RT, W_OBJECT, MC_FALLBACK)
# Pictures, shapes and charts; the text of any text box in them sits outside the text flow.
_W_DRAWINGS = (W_DRAWING, W_PICT)
_W_WALKED = (W_P, W_T, *_W_CHARACTERS, W_FOOTNOTEREF, W_ENDNOTEREF, W_COMMENTREF)


def _read_docx(data: bytes, extension: str, max_unpacked_bytes: int):
    archive = _open_zip(data, extension, max_unpacked_bytes)
    names = set(archive.namelist())
    if "word/document.xml" not in names:
        raise _mismatch_or_damaged(data, extension)
    unpacking = _Unpacking(archive, max_unpacked_bytes)
    styles = unpacking.xml("word/styles.xml") if "word/styles.xml" in names else None
    body = unpacking.xml("word/document.xml").find(W_BODY)
    if body is None:
        raise _damaged(extension)
    reader = _DocxText(styles)
    reader.read(body)
    del body  # the tree, several times the size of the text, is not needed for tidying it
    warnings = _images_warning(reader.images)
    if reader.footnotes:
        warnings.append("Footnotes and endnotes were left out.")
    if reader.comments:
        warnings.append("Comments were left out.")
    return _tidy(reader.blocks.text()), None, warnings


class _DocxText:
    """The body's text in document order, paragraphs and tables interleaved.

    python-docx's `paragraphs` and `tables` are separate lists, and a Python call per element
    is too slow for a 10 MB document. Instead, what is not text is cut out of the tree first,
    then lxml picks out the paragraphs and text elements in one pass, each paragraph placed by
    its ancestors: the document body, or a cell of a table."""

    def __init__(self, styles):
        self.blocks = _Blocks()
        self.images = 0
        self.footnotes = False
        self.comments = False
        # "List Bullet", "List Number 2", "List Paragraph": the trailing digit is the nesting.
        # "List Continue" is for a paragraph carrying on an item, not for an item.
        self._list_styles = {}
        for style in styles.iterchildren(W_STYLE) if styles is not None else ():
            name_element = style.find(W_NAME)
            name = (name_element.get(W_VAL, "") if name_element is not None else "").lower()
            if (
                style.get(W_TYPE) == "paragraph"
                and name.startswith("list")
                and not name.startswith("list continue")
            ):
                last = name.rsplit(" ", 1)[-1]
                level = int(last) - 1 if last.isdigit() and 1 < int(last) < 10 else 0
                self._list_styles[style.get(W_STYLEID)] = level
        # The open paragraph, and the row of a table it may be in.
        self._pieces = []
        self._level = None  # list level of a paragraph in the body; None if not a list item
        self._cell_parts = None  # where a paragraph in a table goes: its cell's texts
        self._cell = self._row = self._table = None
        self._row_cells = []
        self._table_key = None

    def read(self, body):
        for element in list(body.iter(*_W_PRUNED)):
            element.getparent().remove(element)
        for element in list(body.iter(*_W_DRAWINGS)):
            self.images += 1
            element.getparent().remove(element)
        for element in body.iter(*_W_WALKED):
            tag = element.tag
            if tag == W_T:
                if element.text:
                    self._pieces.append(element.text)
            elif tag == W_P:
                self._end_paragraph()
                self._start_paragraph(element, body)
            elif tag in _W_CHARACTERS:
                self._pieces.append(_W_CHARACTERS[tag])
            elif tag == W_COMMENTREF:
                self.comments = True
            else:
                self.footnotes = True
        self._end_paragraph()
        self._end_row()
        self._table = None  # let the tree go

    def _start_paragraph(self, paragraph, body):
        cell = None  # the outermost: nested tables are flattened into their cell
        ancestor = paragraph.getparent()
        while ancestor is not None and ancestor is not body:
            if ancestor.tag == W_TC:
                cell = ancestor
            ancestor = ancestor.getparent()
        if cell is None:
            self._end_row()
            self._level = self._list_level(paragraph)
            return
        if cell is not self._cell:
            row = _ancestor(cell, W_TR)
            if row is not self._row:
                self._end_row()
                self._row = row
                table = _ancestor(row, W_TBL)
                if table is not self._table:
                    self._table, self._table_key = table, object()
            self._cell = cell
            self._cell_parts = []
            self._row_cells.append(self._cell_parts)

    def _end_paragraph(self):
        text = "".join(self._pieces)
        self._pieces = []
        if self._cell is not None:
            self._cell_parts.append(text)
        elif self._level is None:
            self.blocks.paragraph(text.strip())
        else:
            self.blocks.item(text, self._level)

    def _end_row(self):
        if self._row is not None:
            cells = [" ".join(" ".join(parts).split()) for parts in self._row_cells]
            self.blocks.row(cells, self._table_key)
        self._row = self._cell = None
        self._row_cells = []

    def _list_level(self, paragraph) -> int | None:
        properties = paragraph[0] if len(paragraph) else None
        if properties is None or properties.tag != W_PPR:
            return None
        style = None
        for child in properties:
            if child.tag == W_NUMPR:
                values = {part.tag: part.get(W_VAL, "") for part in child}
                if values.get(W_NUMID) == "0":
                    return None  # numbering switched off for this paragraph
                level = values.get(W_ILVL, "")
                return min(int(level), 8) if level.isdigit() else 0
            if child.tag == W_PSTYLE:
                style = child.get(W_VAL)
        return self._list_styles.get(style)


def _ancestor(element, tag):
    while element is not None and element.tag != tag:
        element = element.getparent()
    return element


# .odt

_ODT_PARAGRAPHS = {(TEXTNS, "p"), (TEXTNS, "h")}
_ODT_LIST = (TEXTNS, "list")
_ODT_LIST_ITEMS = {(TEXTNS, "list-item"), (TEXTNS, "list-header")}
_ODT_TABLE = (TABLENS, "table")
_ODT_ROW = (TABLENS, "table-row")
_ODT_ROW_GROUPS = {(TABLENS, n) for n in ("table-header-rows", "table-rows", "table-row-group")}
_ODT_CELLS = {(TABLENS, "table-cell"), (TABLENS, "covered-table-cell")}
# Text that is not the body's: deleted text kept for tracked changes, forms, comments.
_ODT_LEFT_OUT_BLOCKS = {(TEXTNS, "tracked-changes"), (OFFICENS, "forms"), (OFFICENS, "annotation")}
_ODT_LEFT_OUT_INLINE = {
    (TEXTNS, "ruby-text"),
    (TEXTNS, "tracked-changes"),
    (OFFICENS, "annotation-end"),
}
_ODF_SPACE = re.compile(r"[ \t\n\r]+")
# <text:s text:c="..."/> repeats a space; capped so a tiny element cannot expand to gigabytes.
_ODT_MAX_SPACES = 100


def _read_odt(data: bytes, extension: str, max_unpacked_bytes: int):
    archive = _open_zip(data, extension, max_unpacked_bytes)
    if _odf_mimetype(archive) != _ODT_MIMETYPE or "content.xml" not in archive.namelist():
        raise _mismatch_or_damaged(data, extension)
    # odfpy reads every member; make sure they unpack to no more than the limit first.
    _Unpacking(archive, max_unpacked_bytes).check()
    document = opendocument.load(io.BytesIO(data))
    reader = _OdtText()
    reader.blocks_of(document.text)
    warnings = _images_warning(reader.images)
    if reader.notes:
        warnings.append("Footnotes and endnotes were left out.")
    if reader.comments:
        warnings.append("Comments were left out.")
    return _tidy(reader.blocks.text()), None, warnings


def _elements(node):
    return (child for child in node.childNodes if child.nodeType == Node.ELEMENT_NODE)


class _OdtText:
    def __init__(self):
        self.blocks = _Blocks()
        self.images = 0
        self.notes = False
        self.comments = False

    def blocks_of(self, container):
        for child in _elements(container):
            name = child.qname
            if name in _ODT_PARAGRAPHS:
                self.blocks.paragraph(self._text_of(child).strip())
            elif name == _ODT_LIST:
                self._list(child, 0)
            elif name == _ODT_TABLE:
                table = object()
                for row in self._rows(child):
                    cells = [
                        self._flat_text(cell) for cell in _elements(row) if cell.qname in _ODT_CELLS
                    ]
                    self.blocks.row(cells, table)
            elif name in _ODT_LEFT_OUT_BLOCKS:
                self.comments = self.comments or name == (OFFICENS, "annotation")
            elif name[0] == DRAWNS:
                self._drawing(child)
            else:
                self.blocks_of(child)  # sections, indexes and other containers

    def _list(self, node, level):
        for item in _elements(node):
            if item.qname not in _ODT_LIST_ITEMS:
                continue
            parts = []
            for child in _elements(item):
                if child.qname in _ODT_PARAGRAPHS:
                    parts.append(self._text_of(child))
                elif child.qname == _ODT_LIST:
                    self.blocks.item(" ".join(parts), level)
                    parts = []
                    self._list(child, level + 1)
            self.blocks.item(" ".join(parts), level)

    def _rows(self, table):
        for child in _elements(table):
            if child.qname == _ODT_ROW:
                yield child
            elif child.qname in _ODT_ROW_GROUPS:
                yield from self._rows(child)

    def _flat_text(self, container) -> str:
        parts = []
        for child in _elements(container):
            if child.qname in _ODT_PARAGRAPHS:
                parts.append(self._text_of(child))
            elif child.qname not in _ODT_LEFT_OUT_BLOCKS:
                parts.append(self._flat_text(child))
        return " ".join(" ".join(parts).split())

    def _drawing(self, node):
        if any(child.qname == (DRAWNS, "image") for child in _elements(node)):
            self.images += 1
        else:
            for child in _elements(node):
                if child.qname[0] == DRAWNS:
                    self._drawing(child)

    def _text_of(self, paragraph) -> str:
        pieces = []
        self._inline(paragraph, pieces)
        return "".join(pieces)

    def _inline(self, node, pieces):
        for child in node.childNodes:
            if child.nodeType == Node.TEXT_NODE:
                pieces.append(_ODF_SPACE.sub(" ", child.data))
                continue
            if child.nodeType != Node.ELEMENT_NODE:
                continue
            name = child.qname
            if name == (TEXTNS, "s"):
                count = str(child.getAttrNS(TEXTNS, "c") or "1")
                pieces.append(" " * min(int(count) if count.isdigit() else 1, _ODT_MAX_SPACES))
            elif name == (TEXTNS, "tab"):
                pieces.append("\t")
            elif name == (TEXTNS, "line-break"):
                pieces.append("\n")
            elif name == (TEXTNS, "note"):
                self.notes = True
            elif name == (OFFICENS, "annotation"):
                self.comments = True
            elif name[0] == DRAWNS:
                self._drawing(child)
            elif name not in _ODT_LEFT_OUT_INLINE:
                self._inline(child, pieces)  # spans, links, fields, bookmarks


# PDF ----------------------------------------------------------------------------------------


def _read_pdf(data: bytes, extension: str, max_unpacked_bytes: int):
    if not data.startswith(b"%PDF-"):
        raise _mismatch_or_damaged(data, extension)
    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many PDFs are encrypted only to restrict printing or copying, with an empty password.
        try:
            unlocked = reader.decrypt("")
        except DependencyError:
            raise ExtractionError(
                "This PDF is encrypted in a way that cannot be read here; save a copy without "
                "protection and upload it again."
            ) from None
        if unlocked == pypdf.PasswordType.NOT_DECRYPTED:
            raise ExtractionError(
                "This PDF is password-protected; remove the password and upload it again."
            )
    pages = [_pdf_page_text(page) for page in reader.pages]
    if not pages:
        raise _damaged(extension)
    empty = [number for number, text in enumerate(pages, start=1) if not text]
    if len(empty) == len(pages):
        raise ExtractionError(
            "This looks like a scanned PDF: no text found. Run it through text recognition (OCR) "
            "first."
        )
    warnings = [_empty_pages_warning(empty, len(pages))] if empty else []
    return _tidy("\n\n".join(text for text in pages if text)), None, warnings


def _pdf_page_text(page) -> str:
    text = _stored(page.extract_text() or "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _empty_pages_warning(empty: list[int], total: int) -> str:
    if len(empty) == 1:
        return f"Page {empty[0]} has no text."
    if len(empty) > 10:
        return f"{len(empty)} of the {total} pages have no text."
    listed = ", ".join(str(number) for number in empty[:-1])
    return f"Pages {listed} and {empty[-1]} have no text."


_READERS = {
    "txt": _read_plain,
    "md": _read_plain,
    "html": _read_html,
    "rtf": _read_rtf,
    "docx": _read_docx,
    "odt": _read_odt,
    "pdf": _read_pdf,
}
