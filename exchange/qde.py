"""A REFI-QDA project in plain Python: what `project.qde` and `sources/` hold, without Django.

The dataclasses are the one shape the exchange layer passes around: the database export builds a
`QdeProject`, the writer turns it into a schema-valid `.qdpx`; the reader turns a `.qdpx` from any
tool into a `QdeProject` (positions still as that tool counted them), and the importer writes it
into a new project. GUIDs are canonical lowercase strings without braces.
"""

from dataclasses import dataclass, field
from datetime import datetime


class QdeError(Exception):
    """An archive or project file that cannot be read; the message names the problem for people."""


@dataclass
class QdeUser:
    guid: str
    name: str


@dataclass
class QdeCode:
    guid: str
    name: str
    is_codable: bool = True
    colour: str | None = None  # "#rrggbb"
    description: str = ""
    children: list["QdeCode"] = field(default_factory=list)


@dataclass
class QdeCoding:
    guid: str
    code_guid: str
    creating_user: str | None = None  # a user GUID
    created: datetime | None = None


@dataclass
class QdeSelection:
    guid: str
    start: int  # as stored in the file; the importer converts to code points of the stored text
    end: int
    name: str = ""
    description: str = ""
    creating_user: str | None = None
    created: datetime | None = None
    modifying_user: str | None = None
    modified: datetime | None = None
    codings: list[QdeCoding] = field(default_factory=list)
    note_refs: list[str] = field(default_factory=list)  # Note GUIDs


@dataclass
class QdeVariableValue:
    variable_guid: str
    value: str | int | float | bool | datetime | None


@dataclass
class QdeSource:
    guid: str
    name: str
    text: str  # the plain text as read (BOM removed, decoded), line ends as in the file
    plain_text_path: str = ""  # e.g. "internal://<guid>.txt"
    description: str = ""
    creating_user: str | None = None
    created: datetime | None = None
    modifying_user: str | None = None
    modified: datetime | None = None
    selections: list[QdeSelection] = field(default_factory=list)
    note_refs: list[str] = field(default_factory=list)
    variable_values: list[QdeVariableValue] = field(default_factory=list)


@dataclass
class QdeNote:
    guid: str
    name: str
    text: str
    creating_user: str | None = None
    created: datetime | None = None
    modified: datetime | None = None


@dataclass
class QdeVariable:
    guid: str
    name: str
    type: str = "Text"  # Text, Boolean, Integer, Float, Date, DateTime
    description: str = ""


@dataclass
class QdeCase:
    guid: str
    name: str
    description: str = ""
    source_refs: list[str] = field(default_factory=list)  # source GUIDs
    variable_values: list[QdeVariableValue] = field(default_factory=list)


@dataclass
class QdeProject:
    name: str
    # The exporting tool, e.g. "ATLAS.ti for Windows 23.2", "NVivo 14", "Triangulate 0.9".
    origin: str = ""
    description: str = ""
    creating_user: str | None = None
    created: datetime | None = None
    modifying_user: str | None = None
    modified: datetime | None = None
    users: list[QdeUser] = field(default_factory=list)
    codes: list[QdeCode] = field(default_factory=list)  # roots of the code tree
    variables: list[QdeVariable] = field(default_factory=list)
    cases: list[QdeCase] = field(default_factory=list)
    sources: list[QdeSource] = field(default_factory=list)
    notes: list[QdeNote] = field(default_factory=list)
    note_refs: list[str] = field(default_factory=list)  # project-level NoteRefs
    # Entries of the archive other than project.qde and the sources (e.g. Triangulate's backup
    # extras), by their path inside the zip; the reader fills it, the writer writes it.
    extra_files: dict[str, bytes] = field(default_factory=dict)
    # What the reader skipped or guessed, in sentences for the import report.
    warnings: list[str] = field(default_factory=list)
