"""Reading and writing REFI-QDA project archives (.qdpx). Plain Python, no Django.

A .qdpx is a zip holding `project.qde` (XML, schema Project.xsd, namespace `NAMESPACE`) and the
plain text of each text source under `sources/`. `project_xml` and `write_qdpx` turn a
`QdeProject` into a file that validates against the schema, byte for byte the same for the same
project, so that round trips can be compared. `read_qdpx` turns an archive from any tool back
into a `QdeProject`.

Writing is strict: a value the schema cannot carry raises `ValueError`. Reading is lenient and
explicit, like `coding.qdc`: real exports differ from the schema and from each other (uppercase
or braced GUIDs, a BOM, `Sources/` in capitals, bare file names as paths, Word documents without
a plain-text copy), so the reader repairs what it can and says what it changed in
`QdeProject.warnings`, one sentence each. An archive it cannot read at all raises `QdeError`
with one sentence the uploader can act on.

The reader changes no text and no position: selections keep the offsets the exporting tool
counted, and source texts keep their line ends (NVivo counts CRLF as two), only a BOM is removed.
The importer, which knows the tool from `QdeProject.origin`, converts them.

Uploads are untrusted. Entry names that could point outside a folder are refused, as are entries
compressed as tightly as zip bombs are; what is unpacked is counted as it comes out, against a
total limit. The XML parser loads no DTD, expands no entity and fetches nothing, and a file that
declares entities is refused. Picture, PDF, audio and video files are never unpacked: Triangulate
imports text sources only.
"""

import codecs
import functools
import io
import re
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import BinaryIO

from lxml import etree

from coding.qdc import UNNAMED, normalise_colour, normalise_guid, safe_parser, xml_text
from exchange.qde import (
    QdeCase,
    QdeCode,
    QdeCoding,
    QdeError,
    QdeNote,
    QdeProject,
    QdeSelection,
    QdeSource,
    QdeUser,
    QdeVariable,
    QdeVariableValue,
)

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_UNPACKED_BYTES",
    "NAMESPACE",
    "SCHEMA_LOCATION",
    "project_xml",
    "read_qdpx",
    "write_qdpx",
]

NAMESPACE = "urn:QDA-XML:project:1.0"
SCHEMA_LOCATION = f"{NAMESPACE} http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

MB = 1024 * 1024
MAX_UNPACKED_BYTES = 500 * MB
# Text packs about 3 to 1, XML about 20 to 1; a zip bomb packs about 1,000 to 1, deflate's limit.
# Small entries may pack tightly without being a threat.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECKED_ABOVE_BYTES = 1 * MB

VARIABLE_TYPES = ("Text", "Boolean", "Integer", "Float", "Date", "DateTime")
PROJECT_FILE = "project.qde"
SOURCES_FOLDER = "sources"

_QUOTE_LIMIT = 60
_CHUNK = 64 * 1024
# A fixed time for every zip entry, so that the same project gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# Writing -------------------------------------------------------------------------------------


def project_xml(project: QdeProject) -> bytes:
    """`project` as `project.qde`: UTF-8 XML that validates against Project.xsd.

    Each text source points to `internal://<guid>.txt`, the file `write_qdpx` writes beside it.
    Empty optional parts are left out. Raises `ValueError` for a colour or variable type the
    schema cannot carry.
    """
    root = etree.Element(_q("Project"), nsmap={None: NAMESPACE, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    root.set("name", xml_text(project.name))
    _set(root, "origin", project.origin)
    _set(root, "creatingUserGUID", project.creating_user)
    _set(root, "creationDateTime", _format_datetime(project.created))
    _set(root, "modifyingUserGUID", project.modifying_user)
    _set(root, "modifiedDateTime", _format_datetime(project.modified))

    if project.users:
        users = _sub(root, "Users")
        for user in project.users:
            _sub(users, "User", guid=user.guid, name=user.name)
    if project.codes:
        codes = _sub(_sub(root, "CodeBook"), "Codes")
        for code in project.codes:
            _write_code(codes, code)
    types = {variable.guid: variable.type for variable in project.variables}
    if project.variables:
        variables = _sub(root, "Variables")
        for variable in project.variables:
            _write_variable(variables, variable)
    if project.cases:
        cases = _sub(root, "Cases")
        for case in project.cases:
            _write_case(cases, case, types)
    if project.sources:
        sources = _sub(root, "Sources")
        for source in project.sources:
            _write_source(sources, source, types)
    if project.notes:
        notes = _sub(root, "Notes")
        for note in project.notes:
            _write_note(notes, note)
    _write_description(root, project.description)
    _write_refs(root, "NoteRef", project.note_refs)
    # Written by hand: lxml would write the declaration with single quotes.
    declaration = b'<?xml version="1.0" encoding="utf-8"?>\n'
    return declaration + etree.tostring(root, encoding="utf-8", pretty_print=True)


def write_qdpx(
    project: QdeProject, out: BinaryIO, progress: Callable[[float], None] | None = None
) -> None:
    """`project` as a .qdpx archive written to `out`: `project.qde`, `sources/<guid>.txt` per
    source (UTF-8 without BOM, `\\n` line ends) and `project.extra_files` as they are.

    `progress` is called with the fraction of sources written after each one (1.0 at the end,
    also when there are none), for a background job's progress bar.
    """
    document = project_xml(project)
    reserved = {PROJECT_FILE} | {_source_entry(source) for source in project.sources}
    for path in project.extra_files:
        if _unsafe_name(path) or path.lower() in reserved:
            raise ValueError(f"{_quote(path)} cannot be an extra file of the archive.")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add_entry(archive, PROJECT_FILE, document)
        for index, source in enumerate(project.sources, start=1):
            _add_entry(archive, _source_entry(source), _source_bytes(source.text))
            if progress is not None:
                progress(index / len(project.sources))
        for path, data in project.extra_files.items():
            _add_entry(archive, path, data)
    if progress is not None and not project.sources:
        progress(1.0)


def _source_entry(source: QdeSource) -> str:
    return f"{SOURCES_FOLDER}/{source.guid}.txt"


def _source_bytes(text: str) -> bytes:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text.encode("utf-8")


def _add_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _write_code(parent: etree._Element, code: QdeCode) -> None:
    try:
        colour = normalise_colour(code.colour)
    except ValueError:
        raise ValueError(
            f"The code {_quote(code.name)} has the colour {_quote(code.colour)}, "
            "which is not a colour."
        ) from None
    element = _sub(
        parent,
        "Code",
        guid=code.guid,
        name=code.name,
        isCodable="true" if code.is_codable else "false",
        color=colour,
    )
    _write_description(element, code.description)
    for child in code.children:
        _write_code(element, child)


def _write_variable(parent: etree._Element, variable: QdeVariable) -> None:
    if variable.type not in VARIABLE_TYPES:
        raise ValueError(
            f"The variable {_quote(variable.name)} has the type {_quote(variable.type)}; "
            f"REFI-QDA knows {', '.join(VARIABLE_TYPES)}."
        )
    element = _sub(parent, "Variable", guid=variable.guid, name=variable.name)
    element.set("typeOfVariable", variable.type)
    _write_description(element, variable.description)


def _write_case(parent: etree._Element, case: QdeCase, types: dict[str, str]) -> None:
    element = _sub(parent, "Case", guid=case.guid, name=case.name)
    _write_description(element, case.description)
    for value in case.variable_values:
        _write_value(element, value, types)
    _write_refs(element, "SourceRef", case.source_refs)


def _write_source(parent: etree._Element, source: QdeSource, types: dict[str, str]) -> None:
    element = _sub(
        parent,
        "TextSource",
        guid=source.guid,
        name=source.name,
        plainTextPath=f"internal://{source.guid}.txt",
        creatingUser=source.creating_user,
        creationDateTime=_format_datetime(source.created),
        modifyingUser=source.modifying_user,
        modifiedDateTime=_format_datetime(source.modified),
    )
    _write_description(element, source.description)
    for selection in source.selections:
        _write_selection(element, selection)
    _write_refs(element, "NoteRef", source.note_refs)
    for value in source.variable_values:
        _write_value(element, value, types)


def _write_selection(parent: etree._Element, selection: QdeSelection) -> None:
    element = _sub(
        parent,
        "PlainTextSelection",
        guid=selection.guid,
        name=selection.name,
        startPosition=str(selection.start),
        endPosition=str(selection.end),
        creatingUser=selection.creating_user,
        creationDateTime=_format_datetime(selection.created),
        modifyingUser=selection.modifying_user,
        modifiedDateTime=_format_datetime(selection.modified),
    )
    _write_description(element, selection.description)
    for coding in selection.codings:
        coding_element = _sub(
            element,
            "Coding",
            guid=coding.guid,
            creatingUser=coding.creating_user,
            creationDateTime=_format_datetime(coding.created),
        )
        _sub(coding_element, "CodeRef", targetGUID=coding.code_guid)
    _write_refs(element, "NoteRef", selection.note_refs)


def _write_note(parent: etree._Element, note: QdeNote) -> None:
    element = _sub(
        parent,
        "Note",
        guid=note.guid,
        name=note.name,
        creatingUser=note.creating_user,
        creationDateTime=_format_datetime(note.created),
        modifiedDateTime=_format_datetime(note.modified),
    )
    # The schema needs the text or a path; an empty note still has (empty) text.
    _sub(element, "PlainTextContent").text = xml_text(note.text)


def _write_value(parent: etree._Element, value: QdeVariableValue, types: dict[str, str]) -> None:
    element = _sub(parent, "VariableValue")
    _sub(element, "VariableRef", targetGUID=value.variable_guid)
    content = value.value
    if content is None:
        return
    if isinstance(content, bool):
        kind, text = "BooleanValue", "true" if content else "false"
    elif isinstance(content, int):
        kind, text = "IntegerValue", str(content)
    elif isinstance(content, float):
        kind, text = "FloatValue", _format_decimal(content)
    elif isinstance(content, datetime) and types.get(value.variable_guid) == "Date":
        kind, text = "DateValue", content.date().isoformat()
    elif isinstance(content, datetime):
        kind, text = "DateTimeValue", _format_datetime(content)
    else:
        kind, text = "TextValue", xml_text(str(content))
    _sub(element, kind).text = text


def _format_decimal(number: float) -> str:
    # xsd:decimal has no exponent, infinity or NaN.
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{number} cannot be written as a REFI-QDA number.")
    return format(Decimal(repr(number)), "f")


def _format_datetime(moment: datetime | None) -> str | None:
    """UTC with a Z, to the second, as the tools write it; a naive time is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_description(parent: etree._Element, text: str) -> None:
    if text:
        _sub(parent, "Description").text = xml_text(text)


def _write_refs(parent: etree._Element, tag: str, guids: list[str]) -> None:
    for guid in guids:
        _sub(parent, tag, targetGUID=guid)


def _sub(parent: etree._Element, tag: str, **attributes: str | None) -> etree._Element:
    """A child element with the attributes that have a value, in the order given."""
    element = etree.SubElement(parent, _q(tag))
    for name, value in attributes.items():
        _set(element, name, value)
    return element


def _set(element: etree._Element, name: str, value: str | None) -> None:
    if value:
        element.set(name, xml_text(value))


def _q(local_name: str) -> str:
    return f"{{{NAMESPACE}}}{local_name}"


# Reading: the archive ------------------------------------------------------------------------

NOT_A_ZIP = "This file is not a .qdpx archive (not a zip file)."


def read_qdpx(
    data: bytes | BinaryIO, *, max_unpacked_bytes: int = MAX_UNPACKED_BYTES
) -> QdeProject:
    """The project in the .qdpx archive `data`, repaired where needed, with a warning for every
    repair and every part left out. Raises `QdeError` when the archive cannot be read."""
    archive = _Archive.open(data, max_unpacked_bytes)
    with archive.zip:
        reader = _ProjectReader(archive)
        return reader.read()


class _Archive:
    """The entries of a .qdpx, looked up as tools write them, unpacked within limits."""

    def __init__(self, archive: zipfile.ZipFile, max_unpacked_bytes: int):
        self.zip = archive
        self.limit = max_unpacked_bytes
        self.unpacked = 0
        self.entries = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        self.prefix = ""
        self.used: set[str] = set()

    @classmethod
    def open(cls, data: bytes | BinaryIO, max_unpacked_bytes: int) -> "_Archive":
        stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise QdeError(NOT_A_ZIP) from None
        for info in archive.infolist():
            if _unsafe_name(info.filename):
                archive.close()
                raise QdeError(
                    f"The archive holds an entry with an unsafe name, {_quote(info.filename)}, "
                    "which points outside its folder; it was not read, to be safe."
                )
            if _too_tight(info.file_size, info.compress_size):
                archive.close()
                raise _bomb(info.filename)
        return cls(archive, max_unpacked_bytes)

    def find_project_file(self, warnings: list[str]) -> zipfile.ZipInfo:
        """`project.qde` at the top or inside a single top folder, in any case; else the only
        .qde file there."""
        top_folders = {info.filename.split("/")[0] for info in self.entries}
        nested = len(top_folders) == 1 and all("/" in info.filename for info in self.entries)
        prefix = f"{top_folders.pop()}/" if nested else ""
        level = [info for info in self.entries if "/" not in info.filename.removeprefix(prefix)]
        for info in level:
            if info.filename.removeprefix(prefix).lower() == PROJECT_FILE:
                self.prefix = prefix
                return info
        others = [info for info in level if info.filename.lower().endswith(".qde")]
        if len(others) == 1:
            self.prefix = prefix
            warnings.append(
                f"The archive has no project.qde; its project file "
                f"{_quote(others[0].filename)} was read instead."
            )
            return others[0]
        raise QdeError(
            "The archive has no project.qde file, so it is not a REFI-QDA project export."
        )

    def path_of(self, info: zipfile.ZipInfo) -> str:
        return info.filename.removeprefix(self.prefix)

    @functools.cached_property
    def _index(self) -> tuple[dict, dict, dict]:
        """Entries by path, by path in lowercase and by file name in lowercase; built on first
        lookup, once the project's folder is known. The first entry of a name wins."""
        exact: dict[str, zipfile.ZipInfo] = {}
        folded: dict[str, zipfile.ZipInfo] = {}
        by_file_name: dict[str, zipfile.ZipInfo] = {}
        for info in self.entries:
            path = self.path_of(info)
            exact.setdefault(path, info)
            folded.setdefault(path.lower(), info)
            by_file_name.setdefault(_file_name(path).lower(), info)
        return exact, folded, by_file_name

    def find(self, path: str) -> zipfile.ZipInfo | None:
        """The entry at `path` (inside the project's folder), the exact name first, else in
        any case."""
        exact, folded, _ = self._index
        return exact.get(path) or folded.get(path.lower())

    def find_file_name(self, file_name: str) -> zipfile.ZipInfo | None:
        """An entry called `file_name` in the sources folder, else anywhere, in any case."""
        by_file_name = self._index[2]
        return self.find(f"{SOURCES_FOLDER}/{file_name}") or by_file_name.get(file_name.lower())

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The entry's bytes, counted as they unpack: a header can lie about sizes."""
        name = info.filename
        if self.unpacked + info.file_size > self.limit:
            raise _too_big(self.limit, name)
        chunks = []
        size = 0
        try:
            with self.zip.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    self.unpacked += len(chunk)
                    if self.unpacked > self.limit:
                        raise _too_big(self.limit, name)
                    if size > info.file_size or _too_tight(size, info.compress_size):
                        raise _bomb(name)
                    chunks.append(chunk)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
            NotImplementedError,
            RuntimeError,  # an encrypted entry
            ValueError,  # an entry whose header lies before the start of the file
        ):
            raise QdeError(
                f"The archive entry {_quote(name)} is damaged or packed in a way we cannot "
                "unpack; the archive was not read."
            ) from None
        self.used.add(name)
        return b"".join(chunks)


def _unsafe_name(name: str) -> bool:
    parts = re.split(r"[\\/]", name)
    return (
        name.startswith(("/", "\\"))
        or re.match(r"[A-Za-z]:", name) is not None
        or ".." in parts
        or "\x00" in name
    )


def _too_tight(size: int, compressed: int) -> bool:
    return size > RATIO_CHECKED_ABOVE_BYTES and size > MAX_COMPRESSION_RATIO * max(compressed, 1)


def _bomb(name: str) -> QdeError:
    return QdeError(
        f"The archive entry {_quote(name)} is compressed more tightly than {MAX_COMPRESSION_RATIO} "
        "to 1, as zip bombs are; the archive was not opened."
    )


def _too_big(limit: int, name: str) -> QdeError:
    size = f"{limit // MB} MB" if limit >= MB else f"{limit:,} bytes"
    return QdeError(
        f"The archive unpacks to more than {size} (the limit was passed at the entry "
        f"{_quote(name)}), too much to open safely."
    )


# Reading: project.qde ------------------------------------------------------------------------

_MEDIA_SOURCES = {
    "PDFSource": "PDF",
    "PictureSource": "picture",
    "AudioSource": "audio",
    "VideoSource": "video",
}


@dataclass
class _Tallies:
    """Repairs that can happen on every element, said once each with a count and examples."""

    bad_dates: list[str] = field(default_factory=list)
    reshaped_guids: int = 0
    boms: list[str] = field(default_factory=list)
    unnamed_sources: list[str] = field(default_factory=list)
    unknown_codes: list[str] = field(default_factory=list)
    unknown_notes: list[str] = field(default_factory=list)

    def sentences(self) -> list[str]:
        sentences = []
        if self.reshaped_guids:
            sentences.append(
                f"{_count(self.reshaped_guids, 'GUID')} written in uppercase or in braces "
                "were read as lowercase GUIDs."
            )
        if self.boms:
            sentences.append(
                f"{_count(len(self.boms), 'text file')} began with a byte-order mark "
                f"({_examples(self.boms, quoted=True)}); it was removed."
            )
        if self.unnamed_sources:
            sentences.append(
                f"{_count(len(self.unnamed_sources), 'source')} had no name; each was named "
                f"after its file ({_examples(self.unnamed_sources)})."
            )
        if self.bad_dates:
            sentences.append(
                f"{_count(len(self.bad_dates), 'date')} could not be read "
                f"({_examples(self.bad_dates)}); they were left out."
            )
        if self.unknown_codes:
            sentences.append(
                f"{_count(len(self.unknown_codes), 'coding')} pointed to codes the codebook "
                f"does not have ({_examples(self.unknown_codes)}); they were left out."
            )
        if self.unknown_notes:
            sentences.append(
                f"{_count(len(self.unknown_notes), 'note reference')} pointed to notes the "
                f"project does not have ({_examples(self.unknown_notes)}); they were left out."
            )
        return sentences


class _ProjectReader:
    def __init__(self, archive: _Archive):
        self.archive = archive
        self.warnings: list[str] = []
        self.tallies = _Tallies()
        self.folder_warned = False
        self.code_guids: set[str] = set()
        self.note_guids: set[str] = set()
        self.variable_guids: set[str] = set()
        self.skipped_sources: set[str] = set()
        self.source_guids: set[str] = set()
        self.taken_guids: set[str] = set()
        # File names (lowercase) that sources point to, read or not; never extra files.
        self.referenced: set[str] = set()

    def read(self) -> QdeProject:
        project_file = self.archive.find_project_file(self.warnings)
        root = self.parse(self.archive.read(project_file))
        project = QdeProject(
            name=self.name(root, "The project"),
            origin=(root.get("origin") or "").strip(),
            creating_user=self.ref(root.get("creatingUserGUID"), "The project's creating user"),
            created=self.moment(root.get("creationDateTime")),
            modifying_user=self.ref(root.get("modifyingUserGUID"), "The project's modifying user"),
            modified=self.moment(root.get("modifiedDateTime")),
            description=_description(root),
        )
        project.users = self.users(root)
        project.codes = self.codes(root)
        project.variables = self.variables(root)
        project.notes = self.notes(root)
        project.sources = self.sources(root)
        project.cases = self.cases(root)
        project.note_refs = self.note_refs(root)
        project.extra_files = self.extra_files(project_file)
        project.warnings = self.warnings + self.tallies.sentences()
        return project

    # The document

    def parse(self, data: bytes) -> etree._Element:
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
            self.warnings.append("project.qde began with a byte-order mark; it was ignored.")
        if not data.strip():
            raise QdeError("project.qde is empty.")
        try:
            root = etree.fromstring(data, safe_parser())
        except etree.XMLSyntaxError as error:
            reason = error.msg or ""
            if "amplification" in reason or "external entity" in reason:
                raise QdeError(_ENTITIES_REFUSED) from error
            raise QdeError(_syntax_message(error)) from error
        dtd = root.getroottree().docinfo.internalDTD
        if dtd is not None and next(dtd.iterentities(), None) is not None:
            raise QdeError(_ENTITIES_REFUSED)
        name = etree.QName(root)
        if name.localname != "Project":
            raise QdeError(
                f"project.qde is not a REFI-QDA project: its root element is "
                f"<{name.localname}>, expected <Project>."
            )
        if name.namespace != NAMESPACE:
            self.warnings.append(
                "project.qde does not use the REFI-QDA project namespace; it was read anyway."
            )
        return root

    # Parts of the project, in the order later parts need them

    def users(self, root: etree._Element) -> list[QdeUser]:
        users = []
        for element in _grandchildren(root, "Users", "User"):
            guid = self.guid(element.get("guid"), "A user")
            if guid is None:
                continue
            name = (element.get("name") or element.get("id") or "").strip()
            if not name:
                self.warnings.append(
                    f"The user {guid} had no name; it was called {_quote(UNNAMED)}."
                )
            users.append(QdeUser(guid=guid, name=name or UNNAMED))
        return users

    def codes(self, root: etree._Element) -> list[QdeCode]:
        return [
            self.code(element, "")
            for codebook in _children(root, "CodeBook")
            for codes in _children(codebook, "Codes")
            for element in _children(codes, "Code")
        ]

    def code(self, element: etree._Element, parent_path: str) -> QdeCode:
        name = (element.get("name") or "").strip()
        if not name:
            inside = f" inside {_quote(parent_path)}" if parent_path else ""
            self.warnings.append(f"A code{inside} had no name; it was called {_quote(UNNAMED)}.")
            name = UNNAMED
        path = f"{parent_path}/{name}" if parent_path else name
        label = f"The code {_quote(path)}"
        # A code without a usable GUID is kept with a new one, as coding.qdc does: skipping it
        # would drop its subtree, and no coding can point to it anyway.
        guid = self.guid(element.get("guid"), label, skip=False)
        if guid is None or guid in self.code_guids:
            self.warnings.append(f"{label} was given a new GUID, as its own was missing or taken.")
            guid = _new_guid(self.code_guids)
        self.code_guids.add(guid)
        colour_text = element.get("color")
        try:
            colour = normalise_colour(colour_text)
        except ValueError:
            self.warnings.append(
                f"{label}: the colour {_quote(colour_text)} is not a colour we can read; "
                "it was left out."
            )
            colour = None
        return QdeCode(
            guid=guid,
            name=name,
            is_codable=self.codable(element.get("isCodable"), label),
            colour=colour,
            description=_description(element),
            children=[self.code(child, path) for child in _children(element, "Code")],
        )

    def codable(self, text: str | None, label: str) -> bool:
        # The schema requires isCodable, but a code without it is still a code one can apply.
        value = (text or "true").strip().lower()
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        self.warnings.append(
            f"{label}: isCodable is {_quote(text)}, neither true nor false; "
            "the code was kept codable."
        )
        return True

    def variables(self, root: etree._Element) -> list[QdeVariable]:
        variables = []
        for element in _grandchildren(root, "Variables", "Variable"):
            guid = self.guid(element.get("guid"), "A variable")
            if guid is None:
                continue
            name = self.name(element, "A variable")
            text = (element.get("typeOfVariable") or "").strip()
            kind = next((t for t in VARIABLE_TYPES if t.lower() == text.lower()), None)
            if kind is None:
                self.warnings.append(
                    f"The variable {_quote(name)} has the type {_quote(text)}, which REFI-QDA "
                    "does not know; it was read as text."
                )
                kind = "Text"
            self.variable_guids.add(guid)
            variables.append(
                QdeVariable(guid=guid, name=name, type=kind, description=_description(element))
            )
        return variables

    def notes(self, root: etree._Element) -> list[QdeNote]:
        notes = []
        for element in _grandchildren(root, "Notes", "Note"):
            guid = self.guid(element.get("guid"), "A note")
            if guid is None:
                continue
            name = (element.get("name") or "").strip()
            label = f"The note {_quote(name or guid)}"
            self.refer(element, "plainTextPath")
            text = self.note_text(element, label)
            self.note_guids.add(guid)
            notes.append(
                QdeNote(
                    guid=guid,
                    name=name,
                    text=text,
                    creating_user=self.ref(element.get("creatingUser"), f"{label}'s author"),
                    created=self.moment(element.get("creationDateTime")),
                    modified=self.moment(element.get("modifiedDateTime")),
                )
            )
        return notes

    def note_text(self, element: etree._Element, label: str) -> str:
        content = next(_children(element, "PlainTextContent"), None)
        if content is not None:
            return "".join(content.itertext())
        path = (element.get("plainTextPath") or "").strip()
        info = self.locate(path) if path else None
        if info is None:
            if path:
                self.warnings.append(
                    f"{label} points to {_quote(path)}, which is not in the archive; "
                    "it was read without text."
                )
            return ""
        return self.decode(self.archive.read(info), label)

    def sources(self, root: etree._Element) -> list[QdeSource]:
        sources = []
        for container in _children(root, "Sources"):
            for element in container:
                kind = _local_name(element)
                if kind == "TextSource":
                    source = self.text_source(element)
                    if source is not None:
                        self.source_guids.add(source.guid)
                        sources.append(source)
                elif kind in _MEDIA_SOURCES:
                    self.skip_media(element, _MEDIA_SOURCES[kind])
        return sources

    def skip_media(self, element: etree._Element, kind: str) -> None:
        name = (element.get("name") or element.get("path") or "").strip() or UNNAMED
        selections = sum(
            1 for child in element.iter() if (_local_name(child) or "").endswith("Selection")
        )
        if guid := _guid_or_none(element.get("guid")):
            self.skipped_sources.add(guid)
        self.refer(element, "path", "currentPath")
        self.warnings.append(
            f"The {kind} source {_quote(name)} was skipped with "
            f"{_count(selections, 'selection')}: Triangulate imports text sources only."
        )

    def refer(self, element: etree._Element, *attributes: str) -> None:
        for attribute in attributes:
            if path := (element.get(attribute) or "").strip():
                self.referenced.add(_file_name(path).lower())

    def text_source(self, element: etree._Element) -> QdeSource | None:
        named = (element.get("name") or "").strip()
        guid = self.guid(
            element.get("guid"), f"The source {_quote(named)}" if named else "A source"
        )
        if guid is None:
            return None
        self.refer(element, "plainTextPath", "richTextPath")
        path = (element.get("plainTextPath") or element.get("richTextPath") or "").strip()
        name = named or _file_stem(path)
        if not named:
            if name:
                self.tallies.unnamed_sources.append(name)
            else:
                self.warnings.append(
                    f"The source {guid} had no name; it was called {_quote(UNNAMED)}."
                )
                name = UNNAMED
        label = f"The source {_quote(name)}"
        selections = [
            selection
            for child in _children(element, "PlainTextSelection")
            if (selection := self.selection(child, f"source {_quote(name)}")) is not None
        ]
        found = self.source_text(element, label, len(selections))
        if found is None:
            self.skipped_sources.add(guid)
            return None
        text, text_path = found
        whole = sum(1 for _ in _children(element, "Coding"))
        if whole:
            self.warnings.append(
                f"{label} has {_count(whole, 'coding')} of the whole source; Triangulate codes "
                "passages only, so they were left out."
            )
        return QdeSource(
            guid=guid,
            name=name,
            text=text,
            plain_text_path=text_path,
            description=_description(element),
            creating_user=self.ref(element.get("creatingUser"), f"{label}'s author"),
            created=self.moment(element.get("creationDateTime")),
            modifying_user=self.ref(element.get("modifyingUser"), f"{label}'s last editor"),
            modified=self.moment(element.get("modifiedDateTime")),
            selections=selections,
            note_refs=self.known_notes(element),
            variable_values=self.values(element, label),
        )

    def source_text(
        self, element: etree._Element, label: str, selections: int
    ) -> tuple[str, str] | None:
        """The source's text and the path it came from ("" when inline); None, with a warning,
        when the source has no text we can use."""
        content = next(_children(element, "PlainTextContent"), None)
        if content is not None:
            return "".join(content.itertext()), ""
        plain_path = (element.get("plainTextPath") or "").strip()
        if plain_path:
            info = self.locate(plain_path)
            if info is None:
                return self.missing(plain_path, label, selections)
            return self.decode(self.archive.read(info), label), plain_path
        rich_path = (element.get("richTextPath") or "").strip()
        if rich_path:
            return self.rich_text(rich_path, label, selections)
        self.warnings.append(f"{label} has no text; it was skipped.")
        return None

    def rich_text(self, path: str, label: str, selections: int) -> tuple[str, str] | None:
        """A source given as a Word document: its plain-text twin when the archive has one
        (the positions were counted on that), else the text extracted from the document."""
        stem = _file_stem(path)
        twin = self.archive.find_file_name(f"{stem}.txt") if stem else None
        if twin is not None:
            twin_path = self.archive.path_of(twin)
            self.warnings.append(
                f"{label} was given as {_quote(_file_name(path))}; its plain-text copy "
                f"{_quote(twin_path)} was read instead."
            )
            return self.decode(self.archive.read(twin), label), twin_path
        info = self.locate(path)
        if info is None:
            return self.missing(path, label, selections)
        if not path.lower().endswith(".docx"):
            self.warnings.append(
                f"{label} is only given as {_quote(_file_name(path))}, a format Triangulate "
                f"cannot read; it was skipped with {_count(selections, 'selection')}."
            )
            return None
        # Imported here: fieldnotes.extract pulls in PDF and ODF readers the rest never needs.
        from fieldnotes.extract import ExtractionError, extract_text

        try:
            extracted = extract_text(
                self.archive.read(info), _file_name(path), max_unpacked_bytes=self.archive.limit
            )
        except ExtractionError as error:
            self.warnings.append(
                f"{label}: its Word document could not be read ({str(error).rstrip('.')}); "
                f"it was skipped with {_count(selections, 'selection')}."
            )
            return None
        self.warnings.append(
            f"{label} came only as a Word document; its text was extracted from it, so the "
            f"positions of its {_count(selections, 'selection')} may not match."
        )
        return extracted.text, path

    def missing(self, path: str, label: str, selections: int) -> None:
        if path.lower().startswith("internal://") and selections:
            raise QdeError(
                f"{label} has {_count(selections, 'selection')}, but its text "
                f"{_quote(_internal_entry(path))} is not in the archive."
            )
        self.warnings.append(
            f"{label} points to {_quote(path)}, which is not in the archive; it was skipped "
            f"with {_count(selections, 'selection')}."
        )
        return None

    def locate(self, path: str) -> zipfile.ZipInfo | None:
        """The archive entry a source path names. `internal://` is inside `sources/`; the
        others (`relative://`, `absolute://`, a bare path) point outside the archive, so the
        file of that name is looked for inside it."""
        if path.lower().startswith("internal://"):
            entry = _internal_entry(path)
            info = self.archive.find(entry)
            if info is not None:
                self.note_folder_case(info)
                return info
        return self.archive.find_file_name(_file_name(path))

    def note_folder_case(self, info: zipfile.ZipInfo) -> None:
        folder = self.archive.path_of(info).split("/")[0]
        if folder != SOURCES_FOLDER and not self.folder_warned:
            self.folder_warned = True
            self.warnings.append(
                f"The archive keeps its sources in {_quote(folder + '/')} rather than "
                f"{_quote(SOURCES_FOLDER + '/')}; they were read from there."
            )

    def decode(self, data: bytes, label: str) -> str:
        """UTF-8, else UTF-16 with a byte-order mark, else Windows-1252; line ends as they are.
        `label` is "The source "…"" or "The note "…""."""
        if data.startswith(codecs.BOM_UTF8):
            self.tallies.boms.append(label.removeprefix("The "))
            data = data[len(codecs.BOM_UTF8) :]
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError:
                pass
            else:
                self.warnings.append(f"{label}: its text was in UTF-16; it was read as such.")
                return text
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        self.warnings.append(
            f"{label}: its text is not UTF-8; it was read as Windows-1252 (Western European)."
        )
        return text

    def selection(self, element: etree._Element, where: str) -> QdeSelection | None:
        label = f"A selection in {where}"
        guid = self.guid(element.get("guid"), label)
        if guid is None:
            return None
        start = _integer(element.get("startPosition"))
        end = _integer(element.get("endPosition"))
        if start is None or end is None or start < 0 or end < start:
            self.warnings.append(
                f"{label} has the positions {_quote(element.get('startPosition'))} to "
                f"{_quote(element.get('endPosition'))}, which are not a stretch of text; "
                "it was skipped."
            )
            return None
        return QdeSelection(
            guid=guid,
            start=start,
            end=end,
            name=(element.get("name") or "").strip(),
            description=_description(element),
            creating_user=self.ref(element.get("creatingUser"), f"{label}: its author"),
            created=self.moment(element.get("creationDateTime")),
            modifying_user=self.ref(element.get("modifyingUser"), f"{label}: its last editor"),
            modified=self.moment(element.get("modifiedDateTime")),
            codings=[
                coding
                for child in _children(element, "Coding")
                if (coding := self.coding(child, where)) is not None
            ],
            note_refs=self.known_notes(element),
        )

    def coding(self, element: etree._Element, where: str) -> QdeCoding | None:
        label = f"A coding in {where}"
        guid = self.guid(element.get("guid"), label)
        code_ref = next(_children(element, "CodeRef"), None)
        target = code_ref.get("targetGUID") if code_ref is not None else None
        if not (target or "").strip():
            self.warnings.append(f"{label} names no code; it was left out.")
            return None
        code_guid = self.ref(target, f"{label}: its code")
        if guid is None or code_guid is None:
            return None
        if code_guid not in self.code_guids:
            self.tallies.unknown_codes.append(code_guid)
            return None
        return QdeCoding(
            guid=guid,
            code_guid=code_guid,
            creating_user=self.ref(element.get("creatingUser"), f"{label}: its author"),
            created=self.moment(element.get("creationDateTime")),
        )

    def cases(self, root: etree._Element) -> list[QdeCase]:
        cases = []
        for element in _grandchildren(root, "Cases", "Case"):
            guid = self.guid(element.get("guid"), "A case")
            if guid is None:
                continue
            name = self.name(element, "A case")
            label = f"The case {_quote(name)}"
            refs = [
                self.ref(ref.get("targetGUID"), label) for ref in _children(element, "SourceRef")
            ]
            cases.append(
                QdeCase(
                    guid=guid,
                    name=name,
                    description=_description(element),
                    source_refs=self.known_sources(refs, label),
                    variable_values=self.values(element, label),
                )
            )
        return cases

    def known_sources(self, refs: list[str | None], label: str) -> list[str]:
        """The sources a case names that were read; those skipped were reported already."""
        known = []
        for ref in refs:
            if ref in self.source_guids:
                known.append(ref)
            elif ref is not None and ref not in self.skipped_sources:
                self.warnings.append(
                    f"{label} names the source {ref}, which the project does not have; "
                    "the reference was left out."
                )
        return known

    def values(self, element: etree._Element, label: str) -> list[QdeVariableValue]:
        values = []
        for value_element in _children(element, "VariableValue"):
            ref = next(_children(value_element, "VariableRef"), None)
            guid = self.ref(ref.get("targetGUID") if ref is not None else None, label)
            if guid is None:
                continue
            if guid not in self.variable_guids:
                self.warnings.append(
                    f"{label} has a value of the variable {guid}, which the project does not "
                    "define; it was left out."
                )
                continue
            values.append(QdeVariableValue(variable_guid=guid, value=self.value(value_element)))
        return values

    def value(self, element: etree._Element) -> str | int | float | bool | datetime | None:
        for child in element:
            kind = _local_name(child)
            if kind is None or kind == "VariableRef":
                continue
            value = _read_value(kind, child.text or "")
            if value is _UNREADABLE:
                self.warnings.append(
                    f"The value {_quote(child.text)} is not a "
                    f"{_VALUE_KINDS.get(kind, 'known kind of')} value; it was left out."
                )
                return None
            return value
        return None

    def note_refs(self, root: etree._Element) -> list[str]:
        return self.known_notes(root)

    def known_notes(self, element: etree._Element) -> list[str]:
        refs = []
        for ref in _children(element, "NoteRef"):
            guid = self.ref(ref.get("targetGUID"), "A note reference")
            if guid is None:
                continue
            if guid in self.note_guids:
                refs.append(guid)
            else:
                self.tallies.unknown_notes.append(guid)
        return refs

    def extra_files(self, project_file: zipfile.ZipInfo) -> dict[str, bytes]:
        """Entries nothing in project.qde points to, such as Triangulate's backup extras. Files
        of skipped sources count as pointed to: a video is never unpacked."""
        extras = {}
        for info in self.archive.entries:
            if info is project_file or info.filename in self.archive.used:
                continue
            path = self.archive.path_of(info)
            if _file_name(path).lower() in self.referenced:
                continue
            extras[path] = self.archive.read(info)
        return extras

    # Values

    def name(self, element: etree._Element, label: str) -> str:
        name = (element.get("name") or "").strip()
        if not name:
            self.warnings.append(f"{label} had no name; it was called {_quote(UNNAMED)}.")
        return name or UNNAMED

    def guid(self, text: str | None, label: str, *, skip: bool = True) -> str | None:
        """`text` as a canonical GUID; None, with a warning saying the element was skipped
        (when `skip`), when it is missing or not a GUID."""
        if text is None or not text.strip():
            if skip:
                self.warnings.append(f"{label} had no GUID; it was skipped.")
            return None
        guid = _guid_or_none(text)
        if guid is None:
            if skip:
                self.warnings.append(
                    f"{label} has the GUID {_quote(text)}, which is not a GUID; it was skipped."
                )
            return None
        if guid != text:
            self.tallies.reshaped_guids += 1
        if skip:
            # REFI-QDA GUIDs are unique in a project; the importer relies on it.
            if guid in self.taken_guids:
                self.warnings.append(
                    f"{label} has the GUID {guid}, which an earlier element already has; "
                    "it was skipped."
                )
                return None
            self.taken_guids.add(guid)
        return guid

    def ref(self, text: str | None, label: str) -> str | None:
        """A GUID pointing to another element; an unreadable one is left out with a warning."""
        if text is None or not text.strip():
            return None
        guid = _guid_or_none(text)
        if guid is None:
            self.warnings.append(
                f"{label}: {_quote(text)} is not a GUID; the reference was left out."
            )
            return None
        if guid != text:
            self.tallies.reshaped_guids += 1
        return guid

    def moment(self, text: str | None) -> datetime | None:
        if text is None or not text.strip():
            return None
        moment = _parse_datetime(text.strip())
        if moment is None:
            self.tallies.bad_dates.append(text)
        return moment


_ENTITIES_REFUSED = (
    "project.qde declares XML entities, which REFI-QDA projects never use; "
    "it was not read, to be safe."
)


def _syntax_message(error: etree.XMLSyntaxError) -> str:
    # libxml2's message ends with ", line N, column M"; the line is said once, up front.
    detail = re.sub(r",? line \d+, column \d+$", "", (error.msg or "").strip()).rstrip(".")
    return (
        f"project.qde is not valid XML: on line {error.lineno}, {detail or 'unreadable content'}."
    )


_UNREADABLE = object()
_VALUE_KINDS = {
    "TextValue": "text",
    "BooleanValue": "true-or-false",
    "IntegerValue": "whole-number",
    "FloatValue": "number",
    "DateValue": "date",
    "DateTimeValue": "date-and-time",
}


def _read_value(kind: str, text: str):
    """A variable's value of the given element kind, or `_UNREADABLE`."""
    value = text.strip()
    match kind:
        case "TextValue":
            return text
        case "BooleanValue" if value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        case "IntegerValue" if (number := _integer(value)) is not None:
            return number
        case "FloatValue" if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
            return float(value)
        case "DateValue" if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", value):
            try:
                day = date.fromisoformat(value[:10])
            except ValueError:
                return _UNREADABLE
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        case "DateTimeValue" if (moment := _parse_datetime(value)) is not None:
            return moment
    return _UNREADABLE


def _parse_datetime(text: str) -> datetime | None:
    """An xsd:dateTime in UTC; a time without zone is taken as UTC, as the tools mean it."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _integer(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        return None
    return int(text)


def _guid_or_none(text: str | None) -> str | None:
    try:
        return normalise_guid(text)
    except ValueError:
        return None


def _new_guid(taken: set[str]) -> str:
    guid = str(uuid.uuid4())
    while guid in taken:
        guid = str(uuid.uuid4())
    return guid


def _internal_entry(path: str) -> str:
    return f"{SOURCES_FOLDER}/{path[len('internal://') :].lstrip('/')}"


def _file_name(path: str) -> str:
    """The last part of a path of any system, after any `scheme://`."""
    path = re.sub(r"^[a-zA-Z]+://", "", path)
    return re.split(r"[\\/]", path)[-1]


def _file_stem(path: str) -> str:
    name = _file_name(path)
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def _children(element: etree._Element, local_name: str):
    for child in element:
        if _local_name(child) == local_name:
            yield child


def _grandchildren(element: etree._Element, container: str, local_name: str):
    for parent in _children(element, container):
        yield from _children(parent, local_name)


def _local_name(element: etree._Element) -> str | None:
    # Comments and processing instructions have a function, not a string, as their tag.
    if not isinstance(element.tag, str):
        return None
    return etree.QName(element).localname


def _description(element: etree._Element) -> str:
    # The schema allows one Description; should a tool write several, none is lost.
    texts = ("".join(child.itertext()).strip() for child in _children(element, "Description"))
    return "\n\n".join(text for text in texts if text)


def _quote(text: str | None) -> str:
    text = text or ""
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1] + "…"
    return f'"{text}"'


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n:,} {noun}s"


def _examples(items: list[str], *, quoted: bool = False) -> str:
    shown = ", ".join(item if quoted else _quote(item) for item in items[:3])
    return shown + (", …" if len(items) > 3 else "")
