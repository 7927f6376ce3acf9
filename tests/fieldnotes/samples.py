"""Real sample files, generated in memory, for the extraction tests and `bin/bench-ingest`.

The .docx and .odt samples carry the same fieldnote, so both must extract to DOCUMENT_TEXT.
Plain Python: no Django.
"""

import codecs
import functools
import io
import random
import struct
import zipfile
import zlib
from xml.sax.saxutils import escape

import docx
import pypdf
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from fpdf import FPDF
from odf import teletype
from odf.opendocument import OpenDocumentText
from odf.style import ListLevelProperties
from odf.table import Table, TableColumn, TableRow
from odf.table import TableCell as OdfTableCell
from odf.text import A, H, List, ListItem, ListLevelStyleBullet, ListStyle, P
from PIL import Image

TITLE = "Ward meeting, 12 March"
OPENING = "09:30 Sister Zoë opened the meeting in the café."
LINK_BEFORE, LINK_TEXT, LINK_AFTER = "Minutes are on the ", "trust intranet", "."
LINK_URL = "https://example.org/minutes"
PRESENT = "Present:\tsix nurses\nApologies:\tnone"
EMOJI = "Everyone laughed 🙂 and the tea arrived."
AGENDA = ["Staffing", "Bed management", "Any other business"]
# The last cell's accent is decomposed (e + combining acute): extraction must compose it.
TABLE = [
    ["Time", "Speaker", "Note"],
    ["09:35", "Consultant", "Raised the rota"],
    ["09:50", "Zoë", "Asked about cafe\u0301 hours"],
]
CLOSING = "Meeting closed at 10:15."

DOCUMENT_TEXT = (
    "Ward meeting, 12 March\n"
    "\n"
    "09:30 Sister Zoë opened the meeting in the café.\n"
    "\n"
    "Minutes are on the trust intranet.\n"
    "\n"
    "Present:\tsix nurses\n"
    "Apologies:\tnone\n"
    "\n"
    "Everyone laughed 🙂 and the tea arrived.\n"
    "\n"
    "- Staffing\n"
    "- Bed management\n"
    "- Any other business\n"
    "\n"
    "Time\tSpeaker\tNote\n"
    "09:35\tConsultant\tRaised the rota\n"
    "09:50\tZoë\tAsked about café hours\n"
    "\n"
    "Meeting closed at 10:15."
)


# .docx --------------------------------------------------------------------------------------


def docx_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "teal").save(buffer, format="PNG")
    return buffer.getvalue()


def fieldnote_docx(*, with_image: bool = False) -> bytes:
    document = docx.Document()
    document.add_heading(TITLE, level=1)
    document.add_paragraph(OPENING)
    document.add_paragraph("")
    document.add_paragraph("   ")
    paragraph = document.add_paragraph(LINK_BEFORE)
    _add_hyperlink(paragraph, LINK_TEXT, LINK_URL)
    paragraph.add_run(LINK_AFTER)
    present = document.add_paragraph()
    run = present.add_run("Present:")
    run.add_tab()
    run.add_text("six nurses")
    run.add_break()
    run.add_text("Apologies:")
    run.add_tab()
    run.add_text("none")
    document.add_paragraph(EMOJI)
    if with_image:
        document.add_picture(io.BytesIO(png_bytes()))
    for item in AGENDA:
        document.add_paragraph(item, style="List Bullet")
    table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    for row, values in zip(table.rows, TABLE, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph(CLOSING)
    return docx_bytes(document)


def _add_hyperlink(paragraph, text, url):
    relationship = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), relationship)
    run = OxmlElement("w:r")
    run_text = OxmlElement("w:t")
    run_text.text = text
    run.append(run_text)
    link.append(run)
    paragraph._p.append(link)


def docx_with_body(body_xml: str) -> bytes:
    """A real .docx (python-docx's template, with its styles) whose body is the given
    WordprocessingML, with the w: and mc: prefixes declared."""
    data = docx_bytes(docx.Document())
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{_W_NS}" xmlns:mc="{_MC_NS}" xmlns:r="{_R_NS}">'
        f"<w:body>{body_xml}<w:sectPr/></w:body></w:document>"
    )
    return replace_member(data, "word/document.xml", xml.encode())


_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def replace_member(data: bytes, name: str, content: bytes, *, level: int = 6) -> bytes:
    """The same zip with one member's content replaced."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target,
    ):
        for info in source.infolist():
            body = content if info.filename == name else source.read(info)
            target.writestr(info.filename, body)
    return out.getvalue()


# .odt ---------------------------------------------------------------------------------------


def fieldnote_odt() -> bytes:
    document = OpenDocumentText()
    bullets = ListStyle(name="Bullets")
    level = ListLevelStyleBullet(level=1, bulletchar="•")
    level.addElement(ListLevelProperties(minlabelwidth="0.25in"))
    bullets.addElement(level)
    document.automaticstyles.addElement(bullets)

    body = document.text
    body.addElement(H(outlinelevel=1, text=TITLE))
    body.addElement(P(text=OPENING))
    body.addElement(P(text=""))
    paragraph = P(text=LINK_BEFORE)
    paragraph.addElement(A(href=LINK_URL, type="simple", text=LINK_TEXT))
    paragraph.addText(LINK_AFTER)
    body.addElement(paragraph)
    present = P()
    teletype.addTextToElement(present, PRESENT)  # \t and \n become text:tab and text:line-break
    body.addElement(present)
    body.addElement(P(text=EMOJI))
    agenda = List(stylename=bullets)
    for item in AGENDA:
        list_item = ListItem()
        list_item.addElement(P(text=item))
        agenda.addElement(list_item)
    body.addElement(agenda)
    table = Table(name="Speakers")
    table.addElement(TableColumn(numbercolumnsrepeated=len(TABLE[0])))
    for values in TABLE:
        row = TableRow()
        for value in values:
            cell = OdfTableCell()
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    body.addElement(table)
    body.addElement(P(text=CLOSING))
    return odt_bytes(document)


def odt_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


# HTML, RTF and plain text -------------------------------------------------------------------

FIELDNOTE_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Not content</title>
  <style>p { color: red; }</style>
  <script>document.write("Not content either");</script>
</head>
<body>
  <h1>Ward meeting,
      12 March</h1>
  <!-- a comment is not content -->
  <p>09:30 Sister Zo&euml; opened the meeting in the caf&#233;.</p>
  <p>Minutes are on the <a href="https://example.org/minutes">trust intranet</a>.</p>
  <p>Present:&nbsp;six nurses<br>Apologies: none</p>
  <ul>
    <li>Staffing</li>
    <li>Bed <b>management</b>
      <ul><li>Discharges</li></ul>
    </li>
    <li><p>Any other</p><p>business</p></li>
  </ul>
  <table>
    <tr><th>Time</th><th>Speaker</th><th>Note</th></tr>
    <tr><td>09:35</td><td>Consultant</td><td>Raised<br>the rota</td></tr>
    <tr><td>09:50</td><td></td><td>Tea &amp; biscuits</td></tr>
  </table>
  <noscript>Please enable JavaScript.</noscript>
  <pre>
  Fish &lt;3 chips
      indented</pre>
  <div>Meeting closed at 10:15.</div>
</body>
</html>
"""

FIELDNOTE_HTML_TEXT = (
    "Ward meeting, 12 March\n"
    "\n"
    "09:30 Sister Zoë opened the meeting in the café.\n"
    "\n"
    "Minutes are on the trust intranet.\n"
    "\n"
    "Present:\xa0six nurses\n"
    "Apologies: none\n"
    "\n"
    "- Staffing\n"
    "- Bed management\n"
    "  - Discharges\n"
    "- Any other business\n"
    "\n"
    "Time\tSpeaker\tNote\n"
    "09:35\tConsultant\tRaised the rota\n"
    "09:50\t\tTea & biscuits\n"
    "\n"
    "  Fish <3 chips\n"
    "      indented\n"
    "\n"
    "Meeting closed at 10:15."
)

FIELDNOTE_RTF = (
    b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Helvetica;}}\n"
    b"\\f0\\fs24 Caf\\'e9 with Zo\\'eb.\\par\n"
    b"\\b Second\\b0  paragraph.\\par\n"
    b"}\n"
)

UTF16_LE_WITH_BOM = codecs.BOM_UTF16_LE + "Café with Zoë 🙂\nline two".encode("utf-16-le")
UTF16_BE_WITH_BOM = codecs.BOM_UTF16_BE + "Café with Zoë 🙂\nline two".encode("utf-16-be")


# PDF ----------------------------------------------------------------------------------------


def pdf_bytes(pdf: FPDF) -> bytes:
    return bytes(pdf.output())


def text_pdf(pages: list[str | None]) -> bytes:
    """One page per entry: text in a core font (Latin-1 only), or None for a page with a drawing."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text is None:
            pdf.rect(20, 20, 80, 40, style="F")
        else:
            pdf.multi_cell(0, 8, text)
    return pdf_bytes(pdf)


def scanned_pdf() -> bytes:
    """What a scanner produces: pages with pictures and no text layer."""
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(Image.new("RGB", (60, 30), "grey"), x=20, y=20, w=120)
        pdf.circle(x=100, y=150, radius=30)
    return pdf_bytes(pdf)


def encrypted_pdf(*, user_password: str, owner_password: str = "owner") -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(text_pdf(["Locked notes."]))))
    # RC4 needs no extra package; AES would need the cryptography package to write and read.
    writer.encrypt(user_password, owner_password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


CORRUPT_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n" + bytes(range(256)) * 4


# Zip bombs ----------------------------------------------------------------------------------


def _docx_like_zip(members: dict[str, int], *, level: int = 9) -> bytes:
    """A zip shaped like a .docx whose members are this many spaces each, written in 1 MB chunks
    so that building a zip bomb needs no memory."""
    chunk = b" " * (1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        for name, size in members.items():
            with archive.open(name, "w") as member:
                whole, rest = divmod(size, len(chunk))
                for _ in range(whole):
                    member.write(chunk)
                member.write(chunk[:rest])
    return buffer.getvalue()


@functools.cache
def zip_bomb_docx(unpacked_bytes: int = 120 * 1024 * 1024) -> bytes:
    return _docx_like_zip({"word/document.xml": unpacked_bytes}, level=1)


def tightly_packed_docx() -> bytes:
    """Under the total limit, but one member packs at about a thousand to one."""
    return _docx_like_zip({"word/document.xml": 3 * 1024 * 1024})


def understating_docx(*, actual_bytes: int, declared_bytes: int) -> bytes:
    """A zip whose directory claims word/document.xml is smaller than what it unpacks to."""
    data = _docx_like_zip({"word/document.xml": actual_bytes})
    return set_declared_size(data, "word/document.xml", declared_bytes)


def set_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size a zip's central directory gives for one member."""
    data = bytearray(data)
    encoded = name.encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, at + 28)
        if data[at + 46 : at + 46 + name_length] == encoded:
            struct.pack_into("<I", data, at + 24, size)
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 46 + name_length + extra_length + comment_length)
    raise KeyError(name)


# A long, realistic fieldnote for bin/bench-ingest -------------------------------------------

_COMMON = [
    "the", "a", "and", "of", "to", "in", "that", "was", "it", "he", "she", "they", "we", "on",
    "for", "with", "as", "at", "by", "but", "not", "this", "had", "were", "said", "from",
    "there", "her", "his", "their", "them", "then", "when", "what", "who", "which", "would",
    "could", "about", "into", "after", "before", "over", "again", "still", "just", "only",
    "very", "more", "some", "any", "all", "no", "one", "two", "three"
]  # fmt: skip
_FIELD = [
    "ward", "sister", "nurse", "doctor", "consultant", "registrar", "patient", "patients",
    "family", "visitor", "meeting", "agenda", "minutes", "handover", "shift", "rota",
    "staffing", "beds", "discharge", "admission", "theatre", "clinic", "policy", "audit",
    "governance", "tea", "coffee", "biscuits", "whiteboard", "corridor", "office", "desk",
    "phone", "laptop", "laughed", "nodded", "frowned", "paused", "interrupted", "agreed",
    "disagreed", "asked", "answered", "explained", "argued", "waited", "arrived", "left",
    "joined", "observed", "noted", "wrote", "listened", "whispered", "joked", "sighed",
    "smiled", "quiet", "busy", "tense", "relaxed", "late", "early", "tired", "cheerful",
    "anxious", "careful", "brief", "long", "formal", "casual", "morning", "afternoon",
    "evening", "weekend", "bank", "holiday", "night", "manager", "matron", "porter",
    "pharmacist", "therapist", "student", "chaplain", "volunteer", "relative", "daughter",
    "son", "wife", "husband", "mother", "father"
]  # fmt: skip
_NAMES = [
    "Zoë", "Amaka", "Bartosz", "Chidi", "Dafydd", "Élodie", "Farah", "Grzegorz", "Hamid",
    "Ines", "Jun", "Kateřina", "Leilani", "Mårten", "Nuala", "Oluwaseun", "Priya", "Quentin",
    "Rhiannon", "Siobhán", "Tomasz", "Uzma", "Vikram", "Wiremu", "Xiadani", "Yusuf", "Zsófia"
]  # fmt: skip


def _invented_words(rng: random.Random, count: int) -> list[str]:
    """Surnames, places and jargon: the long tail that keeps real prose from packing small."""
    onsets = [
        "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
        "br", "cr", "dr", "fl", "gr", "pl", "pr", "sh", "st", "th", "tr", "ch"
    ]  # fmt: skip
    vowels = [
        "a", "e", "i", "o", "u", "ai", "ea", "ie", "oo", "ou", "y", "é"
    ]  # fmt: skip
    codas = ["", "", "n", "r", "s", "l", "m", "nd", "st", "rk", "ck", "ll", "ng", "x", "th"]
    words = []
    for _ in range(count):
        syllables = rng.choice((1, 2, 2, 3, 3, 4))
        words.append(
            "".join(
                rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                for _ in range(syllables)
            )
        )
    return words


def fieldnote_sentences(rng: random.Random):
    """Endless varied sentences in the manner of an observer's notes."""
    invented = _invented_words(rng, 20_000)
    pools = [(_COMMON, 40), (_FIELD, 30), (invented, 25), (_NAMES, 5)]
    words = [pool for pool, _ in pools]
    weights = [weight for _, weight in pools]
    while True:
        length = rng.randint(6, 24)
        chosen = [rng.choice(pool) for pool in rng.choices(words, weights, k=length)]
        if rng.random() < 0.2:
            chosen.insert(0, f"{rng.randint(7, 19):02d}:{rng.choice((0, 15, 30, 45)):02d}")
        if rng.random() < 0.05:
            chosen.append(rng.choice(("🙂", "(sic)", "[inaudible]", "— café", "“quote”")))
        sentence = " ".join(chosen)
        yield sentence[0].upper() + sentence[1:] + rng.choice(".....?!")


def long_fieldnote_docx(target_bytes: int, *, seed: int = 2024) -> tuple[bytes, int]:
    """A .docx of about target_bytes with headings, paragraphs, lists and tables in Word's
    markup (run properties, revision ids), and the number of blocks in it."""
    rng = random.Random(seed)
    sentences = fieldnote_sentences(rng)
    template = docx_bytes(docx.Document())
    # Compress as we go, as the zip will, to know when the file has reached its size.
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    budget = target_bytes - len(template)
    parts, blocks, packed = [], 0, 0
    while packed < budget:
        roll = rng.random()
        if blocks % 40 == 0:
            xml = _docx_paragraph(rng, next(sentences).rstrip(".?!"), style="Heading2")
        elif roll < 0.08:
            xml = "".join(
                _docx_paragraph(rng, next(sentences), style="ListBullet", numbered=True)
                for _ in range(rng.randint(2, 5))
            )
        elif roll < 0.1:
            xml = _docx_table(rng, sentences)
        else:
            text = " ".join(next(sentences) for _ in range(rng.randint(2, 8)))
            xml = _docx_paragraph(rng, text)
        parts.append(xml)
        packed += len(packer.compress(xml.encode()))
        blocks += 1
    body = "".join(parts)
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{_W_NS}" xmlns:r="{_R_NS}"><w:body>{body}'
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>'
    )
    return replace_member(template, "word/document.xml", document.encode()), blocks


def _rsid(rng: random.Random) -> str:
    return f"00{rng.randrange(16**6):06X}"


def _docx_paragraph(rng, text, *, style=None, numbered=False) -> str:
    properties = ""
    if style or numbered:
        numbering = '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>' if numbered else ""
        style_xml = f'<w:pStyle w:val="{style}"/>' if style else ""
        properties = f"<w:pPr>{style_xml}{numbering}</w:pPr>"
    runs = []
    words = text.split(" ")
    while words:
        take = rng.randint(3, 30)
        chunk, words = " ".join(words[:take]), words[take:]
        if words:
            chunk += " "
        look = rng.choice(("", "", "", "<w:b/>", "<w:i/>"))
        runs.append(
            f'<w:r w:rsidRPr="{_rsid(rng)}"><w:rPr>{look}<w:lang w:val="en-GB"/></w:rPr>'
            f'<w:t xml:space="preserve">{escape(chunk)}</w:t></w:r>'
        )
    revisions = f'w:rsidR="{_rsid(rng)}" w:rsidRDefault="{_rsid(rng)}"'
    return f"<w:p {revisions}>{properties}{''.join(runs)}</w:p>"


def _docx_table(rng, sentences) -> str:
    rows = []
    for _ in range(rng.randint(2, 6)):
        cells = "".join(
            f"<w:tc><w:tcPr/>{_docx_paragraph(rng, next(sentences))}</w:tc>" for _ in range(3)
        )
        rows.append(f"<w:tr>{cells}</w:tr>")
    return f"<w:tbl><w:tblPr/>{''.join(rows)}</w:tbl>"


def long_fieldnote_txt(words: int, *, seed: int = 2024) -> bytes:
    rng = random.Random(seed)
    sentences = fieldnote_sentences(rng)
    paragraphs, count = [], 0
    while count < words:
        paragraph = " ".join(next(sentences) for _ in range(rng.randint(2, 8))).split(" ")
        paragraph = paragraph[: words - count]
        paragraphs.append(" ".join(paragraph))
        count += len(paragraph)
    return "\n\n".join(paragraphs).encode()
