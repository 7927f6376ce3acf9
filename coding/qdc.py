"""Reading and writing REFI-QDA codebooks (.qdc). Plain Python, no Django.

REFI-QDA is the exchange standard of ATLAS.ti, MAXQDA, NVivo, QualCoder and others. A codebook is
a `<CodeBook>` root holding `<Codes>`, a tree of `<Code guid name isCodable color>` elements, each
with an optional `<Description>` (schema: Codebook.xsd, namespace `NAMESPACE`).

Writing is strict: `write_qdc` produces a file that validates against Codebook.xsd, or raises
`ValueError`. Reading is lenient and explicit: real exports differ from the schema (uppercase or
braced GUIDs, CSS colours, no namespace, empty `<Sets/>`), so `read_qdc` repairs what it can and
says what it changed in `QdcCodebook.warnings`, one plain English sentence each. A file it cannot
read at all raises `QdcError` with one sentence the uploader can act on.

Uploads are untrusted: the size is checked before parsing, and the parser neither loads DTDs nor
expands entities nor touches the network. A file that declares entities is refused outright, as
defusedxml does: no REFI-QDA tool writes them, and only attacks need them.

REFI-QDA has one Description per code where Triangulate has four fields (definition, inclusion
and exclusion criteria, example). `compose_description` and `split_description` convert between
the two with labelled paragraphs, so that a codebook survives a round trip through other tools.
"""

import re
import uuid
from dataclasses import dataclass, field
from os import PathLike

from lxml import etree

__all__ = [
    "MAX_BYTES",
    "NAMESPACE",
    "UNNAMED",
    "QdcCode",
    "QdcCodebook",
    "QdcError",
    "codes_from_element",
    "compose_description",
    "normalise_colour",
    "normalise_guid",
    "read_qdc",
    "safe_parser",
    "split_description",
    "validate",
    "write_qdc",
    "xml_text",
]

NAMESPACE = "urn:QDA-XML:codebook:1.0"
MAX_BYTES = 20 * 1024 * 1024
UNNAMED = "(unnamed)"

# Foreign values quoted in warnings are cut short: a warning names the problem, it does not need
# to repeat a 10,000-character attribute.
_QUOTE_LIMIT = 60


@dataclass
class QdcCode:
    guid: str
    name: str
    is_codable: bool = True
    colour: str | None = None
    definition: str = ""
    inclusion: str = ""
    exclusion: str = ""
    example: str = ""
    children: list["QdcCode"] = field(default_factory=list)


@dataclass
class QdcCodebook:
    codes: list[QdcCode]
    warnings: list[str] = field(default_factory=list)


class QdcError(Exception):
    """A user-facing reason the codebook cannot be read at all; one complete sentence."""


# Reading -------------------------------------------------------------------------------------


def read_qdc(data: bytes) -> QdcCodebook:
    """The codebook in `data`, repaired where needed, with a warning for every repair."""
    if len(data) > MAX_BYTES:
        raise QdcError("The codebook file is larger than 20 MB.")
    if not data.strip():
        raise QdcError("The file is empty.")
    root = _parse(data)
    name = etree.QName(root)
    if name.localname != "CodeBook":
        raise QdcError(
            f"This is not a REFI-QDA codebook: its root element is <{name.localname}>, "
            "expected <CodeBook>."
        )
    warnings: list[str] = []
    if name.namespace is None:
        warnings.append("The file has no REFI-QDA namespace; read it anyway.")
    elif name.namespace != NAMESPACE:
        warnings.append(
            f"The file uses the namespace {_quote(name.namespace)} instead of the REFI-QDA "
            "codebook namespace; read it anyway."
        )
    codes = codes_from_element(root, warnings)
    warnings.extend(_sets_warning(root))
    return QdcCodebook(codes=codes, warnings=warnings)


def codes_from_element(codes_element: etree._Element, warnings: list[str]) -> list[QdcCode]:
    """The code tree under a `<Codes>` element, appending a warning to `warnings` per repair.

    Also accepts the `<CodeBook>` around it, or a whole `<Project>` (project.qde, where the codes
    sit in the project namespace): elements are matched by local name in any namespace. GUIDs are
    unique within the result; a later duplicate gets a new GUID.
    """
    seen: dict[str, str] = {}
    codes = [
        _read_code(element, "", seen, warnings)
        for container in _code_containers(codes_element)
        for element in _children(container, "Code")
    ]
    if not codes:
        warnings.append("The file holds no codes.")
    return codes


def _parse(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as error:
        # libxml2 refuses entity bombs and external entities in attributes itself; say why.
        reason = error.msg or ""
        if "amplification" in reason or "external entity" in reason:
            raise QdcError(_ENTITIES_REFUSED) from error
        raise QdcError(_syntax_message(error)) from error
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and next(dtd.iterentities(), None) is not None:
        raise QdcError(_ENTITIES_REFUSED)
    return root


_ENTITIES_REFUSED = (
    "The file declares XML entities, which REFI-QDA codebooks never use; "
    "it was not read, to be safe."
)


def safe_parser() -> etree.XMLParser:
    """A parser that loads no DTD, expands no entity and fetches nothing; shared with the
    project reader (exchange.qdpx). A fresh one per call: lxml parsers must not be shared
    between threads."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
    )


def _syntax_message(error: etree.XMLSyntaxError) -> str:
    # libxml2's message already ends with "line N, column M".
    detail = (error.msg or "unreadable content").rstrip(".")
    return f"The file is not valid XML: {detail}."


def _code_containers(element: etree._Element) -> list[etree._Element]:
    match _local_name(element):
        case "Codes":
            return [element]
        case "CodeBook":
            return list(_children(element, "Codes"))
        case "Project":
            return [
                codes
                for codebook in _children(element, "CodeBook")
                for codes in _children(codebook, "Codes")
            ]
    raise ValueError(
        f"Expected a <Codes>, <CodeBook> or <Project> element, got <{_local_name(element)}>."
    )


def _read_code(
    element: etree._Element, parent_path: str, seen: dict[str, str], warnings: list[str]
) -> QdcCode:
    name = (element.get("name") or "").strip()
    if not name:
        inside = f" inside {_quote(parent_path)}" if parent_path else ""
        warnings.append(f"A code{inside} had no name; it was called {_quote(UNNAMED)}.")
        name = UNNAMED
    # The path, as Code.path shows it, tells apart the codes that share a name.
    path = f"{parent_path}/{name}" if parent_path else name
    label = f"Code {_quote(path)}"

    guid = _read_guid(element.get("guid"), label, seen, warnings)
    seen[guid] = path

    colour_text = element.get("color")
    try:
        colour = normalise_colour(colour_text)
    except ValueError:
        warnings.append(
            f"{label}: the colour {_quote(colour_text)} is not a colour we can read; "
            "it was left out."
        )
        colour = None

    # The schema allows one Description; should a tool write several, none is lost.
    descriptions = (_text_of(description) for description in _children(element, "Description"))
    fields = split_description("\n\n".join(text for text in descriptions if text))

    return QdcCode(
        guid=guid,
        name=name,
        is_codable=_read_codable(element.get("isCodable"), label, warnings),
        colour=colour,
        **fields,
        children=[_read_code(child, path, seen, warnings) for child in _children(element, "Code")],
    )


def _read_guid(text: str | None, label: str, seen: dict[str, str], warnings: list[str]) -> str:
    if text is None or not text.strip():
        warnings.append(f"{label} had no GUID; it was given a new one.")
        return str(uuid.uuid4())
    try:
        guid = normalise_guid(text)
    except ValueError:
        warnings.append(
            f"{label}: the GUID {_quote(text)} is not one we can read; it was given a new one."
        )
        return str(uuid.uuid4())
    if guid in seen:
        warnings.append(
            f"{label}: its GUID {guid} is already used by code {_quote(seen[guid])}; "
            "it was given a new one."
        )
        return str(uuid.uuid4())
    return guid


def _read_codable(text: str | None, label: str, warnings: list[str]) -> bool:
    # The schema requires isCodable, but a code without it is still a code one can apply.
    if text is None:
        return True
    value = text.strip().lower()
    # xsd:boolean's four spellings; case is forgiven.
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    warnings.append(
        f"{label}: isCodable is {_quote(text)}, neither true nor false; the code was kept codable."
    )
    return True


def _sets_warning(root: etree._Element) -> list[str]:
    names = [
        (codeset.get("name") or "").strip() or UNNAMED
        for sets in _children(root, "Sets")
        for codeset in _children(sets, "Set")
    ]
    if not names:
        return []
    listed = ", ".join(_quote(name) for name in names[:3]) + (", …" if len(names) > 3 else "")
    noun = "set" if len(names) == 1 else "sets"
    return [
        f"The file groups codes into {len(names)} {noun} ({listed}); Triangulate has no sets, "
        "so the grouping was not imported."
    ]


def _children(element: etree._Element, local_name: str):
    for child in element:
        if _local_name(child) == local_name:
            yield child


def _local_name(element: etree._Element) -> str | None:
    # Comments and processing instructions have a function, not a string, as their tag.
    if not isinstance(element.tag, str):
        return None
    return etree.QName(element).localname


def _text_of(element: etree._Element) -> str:
    # All text, should a tool nest markup in a Description; comments are not text.
    return "".join(element.itertext()).strip()


def _quote(text: str | None) -> str:
    text = text or ""
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1] + "…"
    return f'"{text}"'


# Writing -------------------------------------------------------------------------------------


def write_qdc(codes: list[QdcCode], *, origin: str = "Triangulate") -> bytes:
    """`codes` as a REFI-QDA codebook: UTF-8 XML that validates against Codebook.xsd.

    Raises `ValueError` when that is impossible: no codes (the schema needs one), a GUID or
    colour that cannot be read, or two codes with the same GUID.
    """
    if not codes:
        raise ValueError("A REFI-QDA codebook needs at least one code.")
    root = etree.Element(_qualified("CodeBook"), nsmap={None: NAMESPACE})
    if origin:
        root.set("origin", xml_text(origin))
    container = etree.SubElement(root, _qualified("Codes"))
    used: set[str] = set()
    for code in codes:
        _write_code(container, code, used)
    # Written by hand: lxml would write the declaration with single quotes.
    declaration = b'<?xml version="1.0" encoding="utf-8"?>\n'
    return declaration + etree.tostring(root, encoding="utf-8", pretty_print=True)


def _write_code(parent: etree._Element, code: QdcCode, used: set[str]) -> None:
    guid = normalise_guid(code.guid)
    if guid in used:
        raise ValueError(f"Two codes share the GUID {guid}; each code needs its own.")
    used.add(guid)
    attributes = {
        "guid": guid,
        "name": xml_text(code.name),
        "isCodable": "true" if code.is_codable else "false",
    }
    colour = normalise_colour(code.colour)
    if colour is not None:
        attributes["color"] = colour
    element = etree.SubElement(parent, _qualified("Code"), attributes)
    description = compose_description(code.definition, code.inclusion, code.exclusion, code.example)
    if description:
        etree.SubElement(element, _qualified("Description")).text = xml_text(description)
    for child in code.children:
        _write_code(element, child, used)


def _qualified(local_name: str) -> str:
    return f"{{{NAMESPACE}}}{local_name}"


# Characters XML 1.0 cannot carry at all, not even escaped (most C0 controls, lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` without the characters XML cannot carry. Pasted text can carry an invisible
    control character; dropping it beats refusing to export."""
    return _NOT_XML.sub("", text)


def validate(data: bytes, xsd_path: str | PathLike[str]) -> list[str]:
    """Schema errors of `data` against the XSD at `xsd_path`, one string each; [] when valid."""
    schema = etree.XMLSchema(etree.parse(str(xsd_path), safe_parser()))
    try:
        document = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as error:
        return [_syntax_message(error)]
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


# Values --------------------------------------------------------------------------------------

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def normalise_guid(text: str) -> str:
    """`text` as a lowercase GUID; uppercase, braces and surrounding whitespace are forgiven.

    Any 8-4-4-4-12 hex GUID is accepted, as the schema does, not only version 4 UUIDs:
    QualCoder, for one, writes GUIDs of no UUID version.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a GUID.")
    value = text.strip()
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1]
    if not _GUID.fullmatch(value):
        raise ValueError(f"{text!r} is not a GUID.")
    return value.lower()


_HEX_COLOUR = re.compile(r"#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
# [0-9], not \d: \d would accept digits of other scripts, which int() then reads.
_CHANNEL = r"\s*([0-9]{1,3})\s*"
_ALPHA = r"(?:,\s*(?:[0-9]*\.)?[0-9]+%?\s*)?"
_RGB_COLOUR = re.compile(
    rf"rgba?\({_CHANNEL},{_CHANNEL},{_CHANNEL}{_ALPHA}\)", re.IGNORECASE | re.ASCII
)


def normalise_colour(text: str | None) -> str | None:
    """`text` as "#rrggbb", None when there is no colour; ValueError when it is unreadable.

    Reads "#rrggbb", "#rgb", and the CSS forms tools write: "#rrggbbaa", "#rgba", "rgb(r, g, b)"
    and "rgba(r, g, b, a)". Transparency is dropped: a code colour is always opaque.
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    if match := _HEX_COLOUR.fullmatch(value):
        digits = match[1].lower()
        if len(digits) <= 4:
            digits = "".join(digit * 2 for digit in digits[:3])
        return f"#{digits[:6]}"
    if match := _RGB_COLOUR.fullmatch(value):
        channels = [int(channel) for channel in match.groups()]
        if all(channel <= 255 for channel in channels):
            return "#" + "".join(f"{channel:02x}" for channel in channels)
    raise ValueError(f"{text!r} is not a colour.")


# Descriptions --------------------------------------------------------------------------------

_FIELD_LABELS = {"inclusion": "Inclusion", "exclusion": "Exclusion", "example": "Example"}

# What a paragraph may start with to begin a field, including the spellings other tools and
# people use; the rest of that paragraph is the field's first text.
_LABEL = re.compile(
    r"\s*(?P<label>definition|inclusion[ \t]+criteria|inclusion|include"
    r"|exclusion[ \t]+criteria|exclusion|exclude|examples|example)[ \t]*:",
    # ASCII: in Unicode mode "ſ" would match "s" and "K" (Kelvin) "k", making labels of words.
    re.IGNORECASE | re.ASCII,
)
_FIELD_OF_LABEL = {
    "definition": "definition",
    "inclusion criteria": "inclusion",
    "inclusion": "inclusion",
    "include": "inclusion",
    "exclusion criteria": "exclusion",
    "exclusion": "exclusion",
    "exclude": "exclusion",
    "examples": "example",
    "example": "example",
}
# Paragraphs are separated by a blank line. The separator is captured so that the text between
# two labels is put back exactly as it was.
_PARAGRAPH_BREAK = re.compile(r"(\r?\n[ \t]*\r?\n)")


def compose_description(
    definition: str = "", inclusion: str = "", exclusion: str = "", example: str = ""
) -> str:
    """The four fields as one REFI-QDA Description: the definition as plain text (other tools
    show it as the code's description), then a labelled paragraph per other non-empty field."""
    paragraphs = [definition.strip()] if definition.strip() else []
    for key, value in (("inclusion", inclusion), ("exclusion", exclusion), ("example", example)):
        if value.strip():
            paragraphs.append(f"{_FIELD_LABELS[key]}: {value.strip()}")
    return "\n\n".join(paragraphs)


def split_description(text: str) -> dict[str, str]:
    """The four fields of a Description; the reverse of `compose_description`.

    A paragraph starting with a label ("Inclusion:", "Exclusion criteria:", "Examples:" …, any
    case) begins that field, and the paragraphs after it belong to it until the next label. Text
    without labels, as other tools write it, is the definition, unchanged.
    """
    fields = dict.fromkeys(("definition", "inclusion", "exclusion", "example"), "")
    started = {"definition"}
    current = "definition"
    parts = _PARAGRAPH_BREAK.split(text)
    for index in range(0, len(parts), 2):
        paragraph = parts[index]
        separator = parts[index - 1] if index else ""
        if match := _LABEL.match(paragraph):
            current = _FIELD_OF_LABEL[" ".join(match["label"].lower().split())]
            # compose_description writes "Label: text"; the space is the label's, not the text's.
            paragraph = paragraph[match.end() :].lstrip()
        if current in started:
            fields[current] += separator + paragraph
        else:
            fields[current] = paragraph
            started.add(current)
    return {key: value.strip() for key, value in fields.items()}
