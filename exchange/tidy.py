"""Tidy exports for quantitative collaborators: the excerpt table and the code-by-fieldnote matrix.

`load` reads what `user` may see of a project in five queries whatever its size (the latest
fieldnotes with their meetings and observers, the code tree, every visible excerpt's codes, the
time markers, the agenda) and returns plain rows; the CSV, XLSX and JSON API all write those same
rows, so the three never disagree. Every excerpt comes through `Excerpt.objects.visible_to`: a
coder in a blind round gets only their own work on its fieldnotes, here as on every page.

The CSV is exact for R and pandas: plain UTF-8 without a BOM, text untouched (line breaks stay
inside quoted cells), offsets in code points of the stored text. Only the XLSX guards against
formula injection, since only a spreadsheet would run a cell that starts with "=".
"""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from coding.analysis import Span, code_fieldnote_counts
from coding.models import Code, Excerpt, ExcerptCode
from fieldnotes.models import Fieldnote, TimeMarker
from meetings.alignment import place_excerpts
from meetings.models import AgendaItem

EXCERPT_COLUMNS = [
    "project",
    "meeting",
    "meeting_start",
    "fieldnote",
    "fieldnote_version",
    "observer",
    "coder",
    "code",
    "code_path",
    "code_guid",
    "excerpt_guid",
    "start",
    "end",
    "moment",
    "text",
    "memo",
    "unsure",
]
EXCERPT_MEANINGS = {
    "project": "The project's name.",
    "meeting": "The meeting's title.",
    "meeting_start": "When the meeting started, ISO 8601 in the server's time zone.",
    "fieldnote": "The fieldnote's title (its latest version).",
    "fieldnote_version": "The fieldnote's version number (1 for the first).",
    "observer": "Who wrote the fieldnote.",
    "coder": "The username of the coder who made the excerpt.",
    "code": "The code's name; an excerpt with two codes has two rows.",
    "code_path": "The code's place in the codebook: ancestor names joined with ' > '.",
    "code_guid": "The code's stable GUID (the same in .qdc and .qdpx exports).",
    "excerpt_guid": "The excerpt's stable GUID; rows of one excerpt share it.",
    "start": "Where the excerpt starts: Unicode code points from the start of the text, from 0.",
    "end": "Where it ends (exclusive): text = fieldnote text[start:end].",
    "moment": "Its place on the meeting's clock from the time markers or agenda; empty if untimed.",
    "text": "The excerpt's exact text, line breaks included.",
    "memo": "The coder's memo on the excerpt.",
    "unsure": "true when the coder marked the excerpt unsure, else false.",
}
MATRIX_COLUMNS = ["meeting", "fieldnote", "observer"]
MEASURES = {
    "excerpts": "number of excerpts of the code in the fieldnote",
    "characters": "characters of the fieldnote coded with the code, overlaps counted once",
}
PATH_SEPARATOR = " > "


def _ints(values) -> tuple[int, ...]:
    found = []
    for value in values:
        try:
            found.append(int(value))
        except (TypeError, ValueError):
            continue
    return tuple(sorted(set(found)))


@dataclass(frozen=True)
class Filters:
    """Which data to export, by id; empty means everything."""

    meetings: tuple[int, ...] = ()
    fieldnotes: tuple[int, ...] = ()
    coders: tuple[int, ...] = ()
    codes: tuple[int, ...] = ()

    @classmethod
    def from_query(cls, query) -> "Filters":
        """From GET parameters (meeting, fieldnote, coder, code; each may repeat); values that
        are not numbers are ignored."""
        return cls(
            meetings=_ints(query.getlist("meeting")),
            fieldnotes=_ints(query.getlist("fieldnote")),
            coders=_ints(query.getlist("coder")),
            codes=_ints(query.getlist("code")),
        )

    def query(self) -> list[tuple[str, str]]:
        """The filters as GET parameters, for download links that keep them."""
        items = [("meeting", str(pk)) for pk in self.meetings]
        items += [("fieldnote", str(pk)) for pk in self.fieldnotes]
        items += [("coder", str(pk)) for pk in self.coders]
        items += [("code", str(pk)) for pk in self.codes]
        return items


@dataclass(frozen=True)
class CodeRow:
    id: int
    guid: str
    name: str
    path: str
    parent_guid: str | None
    colour: str
    is_codable: bool
    archived: bool


@dataclass(frozen=True)
class FieldnoteRow:
    id: int
    guid: str
    title: str
    version: int
    meeting: str
    meeting_start: datetime
    observer: str
    length: int


@dataclass(frozen=True)
class ExcerptRow:
    """One excerpt and one of its codes: a row of excerpts.csv. The ids after the columns are for
    filtering and are not exported."""

    project: str
    meeting: str
    meeting_start: datetime
    fieldnote: str
    fieldnote_version: int
    observer: str
    coder: str
    code: str
    code_path: str
    code_guid: str
    excerpt_guid: str
    start: int
    end: int
    moment: datetime | None
    text: str
    memo: str
    unsure: bool
    excerpt_id: int = 0
    fieldnote_id: int = 0
    code_id: int = 0
    coder_id: int = 0

    def values(self) -> list:
        """The row as typed values, in EXCERPT_COLUMNS order."""
        return [getattr(self, column) for column in EXCERPT_COLUMNS]

    def cells(self) -> list[str | int]:
        """The row as CSV cells: datetimes in ISO 8601, booleans as true/false."""
        return [_cell(value) for value in self.values()]

    def as_json(self) -> dict:
        return {column: _json(getattr(self, column)) for column in EXCERPT_COLUMNS}


def _cell(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return ""
    return value


def _json(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@dataclass
class Matrix:
    measure: str
    codes: list[CodeRow]  # the columns
    rows: list[tuple[FieldnoteRow, list[int]]]  # one per fieldnote, a value per code


@dataclass
class TidyData:
    project_name: str
    codes: list[CodeRow]  # the whole codebook in tree order, archived codes too
    fieldnotes: list[FieldnoteRow]  # latest versions, by meeting, observer and title
    rows: list[ExcerptRow]
    filters: Filters = field(default_factory=Filters)

    def matrix(self, measure: str = "excerpts") -> Matrix:
        """One row per fieldnote, one column per codable code (the chosen ones, else every one not
        archived plus archived ones that still carry excerpts here)."""
        if measure not in MEASURES:
            raise ValueError(f"Unknown measure {measure!r}; choose one of {', '.join(MEASURES)}.")
        used = {row.code_id for row in self.rows}
        if self.filters.codes:
            columns = [code for code in self.codes if code.id in self.filters.codes]
        else:
            columns = [
                code
                for code in self.codes
                if code.is_codable and (not code.archived or code.id in used)
            ]
        codes_of: dict[int, set[int]] = defaultdict(set)
        where: dict[int, tuple[int, int, int]] = {}
        for row in self.rows:
            codes_of[row.excerpt_id].add(row.code_id)
            where[row.excerpt_id] = (row.fieldnote_id, row.start, row.end)
        counts = code_fieldnote_counts(
            Span(pk, *where[pk], frozenset(found)) for pk, found in codes_of.items()
        )
        index = 0 if measure == "excerpts" else 1
        return Matrix(
            measure,
            columns,
            [
                (note, [counts.get((code.id, note.id), (0, 0))[index] for code in columns])
                for note in self.fieldnotes
            ],
        )


# ---------------------------------------------------------------------------------------------
# Reading


def code_rows(project) -> list[CodeRow]:
    """The codebook in tree order (archived codes too), with paths: one query."""
    found = list(
        Code.objects.filter(codebook__project=project)
        .order_by("position", "name", "pk")
        .values_list(
            "pk", "parent_id", "guid", "name", "colour", "is_codable", "archived", named=True
        )
    )
    by_id = {code.pk: code for code in found}
    children: dict[int | None, list] = defaultdict(list)
    for code in found:
        children[code.parent_id if code.parent_id in by_id else None].append(code)
    ordered: list[CodeRow] = []

    def walk(parent_id, prefix):
        for code in children.get(parent_id, []):
            path = f"{prefix}{PATH_SEPARATOR}{code.name}" if prefix else code.name
            parent = by_id.get(code.parent_id)
            ordered.append(
                CodeRow(
                    code.pk,
                    str(code.guid),
                    code.name,
                    path,
                    str(parent.guid) if parent else None,
                    code.colour,
                    code.is_codable,
                    code.archived,
                )
            )
            walk(code.pk, path)

    walk(None, "")
    return ordered


def load(*, user, project, filters: Filters | None = None) -> TidyData:
    """What `user` may see of `project`, filtered. `project.role` must be the user's role (as
    `projects.access.get_project_for` leaves it)."""
    filters = filters or Filters()
    tz = timezone.get_current_timezone()

    chosen = Fieldnote.objects.in_project(project).latest_versions()
    if filters.meetings:
        chosen = chosen.filter(meeting_id__in=filters.meetings)
    if filters.fieldnotes:
        chosen = chosen.filter(pk__in=filters.fieldnotes)
    notes = list(
        chosen.order_by("meeting__starts_at", "meeting_id", "observer__name", "title", "pk").values(
            "pk",
            "guid",
            "title",
            "version",
            "text",
            "meeting_id",
            "meeting__title",
            "meeting__starts_at",
            "observer__name",
        )
    )
    fieldnotes = [
        FieldnoteRow(
            note["pk"],
            str(note["guid"]),
            note["title"],
            note["version"],
            note["meeting__title"],
            note["meeting__starts_at"].astimezone(tz),
            note["observer__name"],
            len(note["text"]),
        )
        for note in notes
    ]
    by_id = {note["pk"]: note for note in notes}

    codes = code_rows(project)
    code_by_id = {code.id: code for code in codes}
    order = {code.id: position for position, code in enumerate(codes)}

    visible = Excerpt.objects.visible_to(user, project).filter(fieldnote__in=chosen.values("pk"))
    if filters.coders:
        visible = visible.filter(coder_id__in=filters.coders)
    links = ExcerptCode.objects.filter(excerpt__in=visible.values("pk"))
    if filters.codes:
        links = links.filter(code_id__in=filters.codes)
    found = list(
        links.values_list(
            "excerpt_id",
            "code_id",
            "excerpt__guid",
            "excerpt__fieldnote_id",
            "excerpt__coder_id",
            "excerpt__coder__username",
            "excerpt__start",
            "excerpt__end",
            "excerpt__memo",
            "excerpt__unsure",
            named=True,
        )
    )
    moments = _moments(found, by_id, chosen, tz)
    position = {note.id: index for index, note in enumerate(fieldnotes)}
    found.sort(
        key=lambda link: (
            position[link.excerpt__fieldnote_id],
            link.excerpt__start,
            link.excerpt__end,
            link.excerpt_id,
            order.get(link.code_id, len(order)),
        )
    )
    rows = []
    for link in found:
        note = by_id[link.excerpt__fieldnote_id]
        code = code_by_id[link.code_id]
        rows.append(
            ExcerptRow(
                project=project.name,
                meeting=note["meeting__title"],
                meeting_start=note["meeting__starts_at"].astimezone(tz),
                fieldnote=note["title"],
                fieldnote_version=note["version"],
                observer=note["observer__name"],
                coder=link.excerpt__coder__username,
                code=code.name,
                code_path=code.path,
                code_guid=code.guid,
                excerpt_guid=str(link.excerpt__guid),
                start=link.excerpt__start,
                end=link.excerpt__end,
                moment=moments[link.excerpt_id],
                text=note["text"][link.excerpt__start : link.excerpt__end],
                memo=link.excerpt__memo,
                unsure=link.excerpt__unsure,
                excerpt_id=link.excerpt_id,
                fieldnote_id=link.excerpt__fieldnote_id,
                code_id=link.code_id,
                coder_id=link.excerpt__coder_id,
            )
        )
    return TidyData(project.name, codes, fieldnotes, rows, filters)


def _moments(links, notes: dict, chosen, tz) -> dict[int, datetime | None]:
    """Each excerpt's place on its meeting's clock, as the triangulation page places it
    (`meetings.alignment.place_excerpts` from confirmed time markers, then the agenda): two
    queries for all fieldnotes."""
    starts: dict[int, dict[int, int]] = defaultdict(dict)  # fieldnote -> excerpt -> start
    for link in links:
        starts[link.excerpt__fieldnote_id][link.excerpt_id] = link.excerpt__start
    if not starts:
        return {}
    markers: dict[int, list] = defaultdict(list)
    for fieldnote_id, offset, moment in TimeMarker.objects.filter(
        fieldnote__in=chosen.values("pk"), confirmed=True, moment__isnull=False
    ).values_list("fieldnote_id", "offset", "moment"):
        markers[fieldnote_id].append((offset, moment))
    agendas: dict[int, list] = defaultdict(list)
    for meeting_id, title, start, end in (
        AgendaItem.objects.filter(meeting__in=chosen.values("meeting_id"))
        .order_by("starts_at", "pk")
        .values_list("meeting_id", "title", "starts_at", "ends_at")
    ):
        agendas[meeting_id].append((title, start, end))
    moments = {}
    for fieldnote_id, excerpts in starts.items():
        note = notes[fieldnote_id]
        placements = place_excerpts(
            excerpts.values(),
            text=note["text"],
            markers=markers[fieldnote_id],
            agenda=agendas[note["meeting_id"]],
            tz=tz,
        )
        for excerpt_id, placement in zip(excerpts, placements, strict=True):
            moments[excerpt_id] = placement.moment
    return moments


# ---------------------------------------------------------------------------------------------
# Writing


def _csv(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def excerpts_csv(data: TidyData) -> str:
    """excerpts.csv: one row per excerpt and code."""
    return _csv([EXCERPT_COLUMNS, *(row.cells() for row in data.rows)])


def matrix_table(matrix: Matrix) -> list[list]:
    """The matrix as a table with its header row: meeting, fieldnote, observer, a code path
    per column."""
    header = [*MATRIX_COLUMNS, *(code.path for code in matrix.codes)]
    return [
        header,
        *([note.meeting, note.title, note.observer, *cells] for note, cells in matrix.rows),
    ]


def matrix_csv(data: TidyData, measure: str = "excerpts") -> str:
    return _csv(matrix_table(data.matrix(measure)))


def workbook_xlsx(
    data: TidyData,
    *,
    exported_by: str,
    exported_at: datetime,
    filters_text: str,
    measure: str = "excerpts",
) -> bytes:
    """Sheets Excerpts and Matrix holding exactly the CSVs' data, and About saying what they are.
    Written in openpyxl's write-only mode, which streams rows instead of keeping cells."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    excerpts = workbook.create_sheet("Excerpts")
    _append(excerpts, EXCERPT_COLUMNS)
    for row in data.rows:
        _append(excerpts, row.cells())
    matrix = workbook.create_sheet("Matrix")
    for row in matrix_table(data.matrix(measure)):
        _append(matrix, row)
    about = workbook.create_sheet("About")
    for row in [
        ("Project", data.project_name),
        ("Exported at", timezone.localtime(exported_at).isoformat(timespec="seconds")),
        ("Exported by", exported_by),
        ("Filters", filters_text),
        ("Matrix cells", MEASURES[measure]),
        (),
        ("Column (Excerpts)", "Meaning"),
        *EXCERPT_MEANINGS.items(),
        (),
        ("Column (Matrix)", "Meaning"),
        ("meeting", "The meeting's title."),
        ("fieldnote", "The fieldnote's title (its latest version); one row per fieldnote."),
        ("observer", "Who wrote the fieldnote."),
        ("(a code path)", f"One column per code: the {MEASURES[measure]}."),
    ]:
        _append(about, row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _append(sheet, values) -> None:
    """A row of cells; text beginning with "=" stays text, never a formula that runs when the
    file opens (as `coding.reports` does for its workbook)."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)
