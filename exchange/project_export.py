"""A project from the database as a `QdeProject`, ready for `exchange.qdpx.write_qdpx`.

Everything is read in a constant number of queries whatever the project's size, and every GUID is
the stored one: an export never mints an identity, so exporting twice gives the same file and an
import elsewhere can be matched back. This is the PI's whole-project export: every coder's
excerpts, the consensus coder's included, not what `Excerpt.objects.visible_to` would show one
coder.

How Triangulate's data sits in REFI-QDA:
- each fieldnote's latest version is a TextSource; its excerpts are PlainTextSelections, each with
  one Coding per code, made by the excerpt's coder;
- an excerpt's memo is a Note (GUID `uuid5(excerpt guid, "memo")`) the selection refers to;
- `unsure` and `needs_review` go into the selection's name ("unsure", "needs review: reason"),
  which other tools show as a label and ignore; `selection_flags` reads them back;
- project memos are Notes with project-level NoteRefs;
- meetings and observers are Cases with SourceRefs to their fieldnotes; a meeting case carries
  its start, end and place as variable values, and every case says which it is in "Triangulate
  kind". The variables' GUIDs are derived from their names, the same in every export.
"""

import uuid
from collections import defaultdict
from importlib.metadata import PackageNotFoundError, version

from coding.models import Code, Excerpt, ExcerptCode, ProjectMemo
from coding.qdc import compose_description
from fieldnotes.models import Fieldnote, Observer
from meetings.models import Meeting
from projects.models import Membership

from .qde import (
    QdeCase,
    QdeCode,
    QdeCoding,
    QdeNote,
    QdeProject,
    QdeSelection,
    QdeSource,
    QdeUser,
    QdeVariable,
    QdeVariableValue,
)

# Fixed forever: the variables' GUIDs are uuid5 of this namespace and their names.
VARIABLE_NAMESPACE = uuid.UUID("4f1b6c52-9a3e-4d7e-8f0b-6b2a1c9d3e57")
KIND = "Triangulate kind"
MEETING_STARTS = "Meeting starts"
MEETING_ENDS = "Meeting ends"
MEETING_PLACE = "Meeting place"
KIND_MEETING = "meeting"
KIND_OBSERVER = "observer"
UNSURE = "unsure"
NEEDS_REVIEW = "needs review"
FLAG_SEPARATOR = " | "


def variable_guid(name: str) -> str:
    return str(uuid.uuid5(VARIABLE_NAMESPACE, name))


def memo_note_guid(excerpt_guid) -> str:
    """The GUID of an excerpt memo's Note: derived, so the same excerpt always gives the same."""
    return str(uuid.uuid5(uuid.UUID(str(excerpt_guid)), "memo"))


VARIABLES = [
    QdeVariable(
        variable_guid(KIND), KIND, "Text", "What the case is in Triangulate: meeting or observer."
    ),
    QdeVariable(variable_guid(MEETING_STARTS), MEETING_STARTS, "DateTime", "When it started."),
    QdeVariable(variable_guid(MEETING_ENDS), MEETING_ENDS, "DateTime", "When it ended."),
    QdeVariable(variable_guid(MEETING_PLACE), MEETING_PLACE, "Text", "Where it took place."),
]


def origin() -> str:
    try:
        return f"Triangulate {version('triangulate')}"
    except PackageNotFoundError:
        return "Triangulate"


def selection_name(*, unsure: bool, needs_review: bool, review_reason: str = "") -> str:
    flags = [UNSURE] if unsure else []
    if needs_review:
        flags.append(f"{NEEDS_REVIEW}: {review_reason}" if review_reason else NEEDS_REVIEW)
    return FLAG_SEPARATOR.join(flags)


def selection_flags(name: str) -> dict:
    """`unsure`, `needs_review` and `review_reason` from a selection name `selection_name` made;
    any other name (another tool's label) sets nothing."""
    flags = {"unsure": False, "needs_review": False, "review_reason": ""}
    for part in (name or "").split(FLAG_SEPARATOR):
        if part == UNSURE:
            flags["unsure"] = True
        elif part == NEEDS_REVIEW or part.startswith(f"{NEEDS_REVIEW}: "):
            flags["needs_review"] = True
            flags["review_reason"] = part[len(NEEDS_REVIEW) + 2 :]
    return flags


def _person(row: dict, prefix: str) -> tuple[str, str] | None:
    """(guid, display name) of the user whose fields `row` holds under `prefix`, if any."""
    guid = row.get(f"{prefix}exchange_guid__guid")
    if guid is None:
        return None
    full = f"{row[f'{prefix}first_name']} {row[f'{prefix}last_name']}".strip()
    return str(guid), full or row[f"{prefix}username"]


def _person_fields(prefix: str) -> list[str]:
    return [
        f"{prefix}{name}" for name in ("exchange_guid__guid", "first_name", "last_name", "username")
    ]


def build_qde(project, *, progress=None) -> QdeProject:
    """The whole project as REFI-QDA data, in eight queries whatever its size."""
    report = progress or (lambda share: None)
    users: dict[str, str] = {}

    def user_guid(row: dict, prefix: str) -> str | None:
        person = _person(row, prefix)
        if person is None:
            return None
        users.setdefault(*person)
        return person[0]

    members = Membership.objects.filter(project=project).values(
        "user_id", *_person_fields("user__")
    )
    member_guids = {row["user_id"]: user_guid(row, "user__") for row in members}
    codes = _codes(project)
    report(0.1)

    fieldnotes = list(
        Fieldnote.objects.in_project(project)
        .latest_versions()
        .order_by("meeting__starts_at", "meeting_id", "observer__name", "pk")
        .values(
            "pk",
            "guid",
            "title",
            "text",
            "meeting_id",
            "observer_id",
            "created_at",
            *_person_fields("created_by__"),
        )
    )
    report(0.3)
    excerpts = _excerpts(project)
    report(0.6)
    sources = []
    notes = []
    for row in fieldnotes:
        source = QdeSource(
            guid=str(row["guid"]),
            name=row["title"],
            text=row["text"],
            plain_text_path=f"internal://{row['guid']}.txt",
            creating_user=user_guid(row, "created_by__"),
            created=row["created_at"],
        )
        for excerpt in excerpts.get(row["pk"], []):
            selection, note = _selection(excerpt, row["text"], user_guid)
            source.selections.append(selection)
            if note is not None:
                notes.append(note)
        sources.append(source)
    report(0.8)

    memos = []
    for row in (
        ProjectMemo.objects.filter(project=project)
        .order_by("created_at", "pk")
        .values("guid", "title", "text", "created_at", "updated_at", *_person_fields("author__"))
    ):
        memos.append(
            QdeNote(
                guid=str(row["guid"]),
                name=row["title"],
                text=row["text"],
                creating_user=user_guid(row, "author__"),
                created=row["created_at"],
                modified=row["updated_at"],
            )
        )
    cases = _cases(project, fieldnotes)
    report(1.0)
    return QdeProject(
        name=project.name,
        origin=origin(),
        description=project.description,
        creating_user=member_guids.get(project.created_by_id) or None,
        created=project.created_at,
        users=[QdeUser(guid, name) for guid, name in users.items()],
        codes=codes,
        variables=list(VARIABLES) if cases else [],
        cases=cases,
        sources=sources,
        notes=memos + notes,
        note_refs=[memo.guid for memo in memos],
    )


def _codes(project) -> list[QdeCode]:
    """The code tree, archived and merged codes included: excerpts may still carry them, and
    REFI-QDA has no way to mark a code archived."""
    rows = Code.objects.filter(codebook__project=project).order_by("position", "name", "pk")
    children: dict[int | None, list[dict]] = defaultdict(list)
    for row in rows.values(
        "pk",
        "parent_id",
        "guid",
        "name",
        "is_codable",
        "colour",
        "definition",
        "inclusion",
        "exclusion",
        "example",
    ):
        children[row["parent_id"]].append(row)

    def build(parent_id) -> list[QdeCode]:
        return [
            QdeCode(
                guid=str(row["guid"]),
                name=row["name"],
                is_codable=row["is_codable"],
                colour=row["colour"] or None,
                description=compose_description(
                    row["definition"], row["inclusion"], row["exclusion"], row["example"]
                ),
                children=build(row["pk"]),
            )
            for row in children.get(parent_id, [])
        ]

    return build(None)


def _excerpts(project) -> dict[int, list[dict]]:
    """Every excerpt on the latest versions, by fieldnote, each with its codings (two queries)."""
    latest = {"fieldnote__meeting__project": project, "fieldnote__next_version__isnull": True}
    codings: dict[int, list[dict]] = defaultdict(list)
    for row in (
        ExcerptCode.objects.filter(**{f"excerpt__{key}": value for key, value in latest.items()})
        .order_by("excerpt_id", "created_at", "pk")
        .values("excerpt_id", "guid", "created_at", "code__guid")
    ):
        codings[row["excerpt_id"]].append(row)
    by_fieldnote: dict[int, list[dict]] = defaultdict(list)
    for row in (
        Excerpt.objects.filter(**latest)
        .order_by("fieldnote_id", "start", "end", "pk")
        .values(
            "pk",
            "fieldnote_id",
            "guid",
            "start",
            "end",
            "memo",
            "unsure",
            "needs_review",
            "review_reason",
            "created_at",
            "updated_at",
            *_person_fields("coder__"),
        )
    ):
        row["codings"] = codings.get(row["pk"], [])
        by_fieldnote[row["fieldnote_id"]].append(row)
    return by_fieldnote


def _selection(row: dict, text: str, user_guid) -> tuple[QdeSelection, QdeNote | None]:
    coder = user_guid(row, "coder__")
    selection = QdeSelection(
        guid=str(row["guid"]),
        start=row["start"],
        end=row["end"],
        name=selection_name(
            unsure=row["unsure"],
            needs_review=row["needs_review"],
            review_reason=row["review_reason"],
        ),
        creating_user=coder,
        created=row["created_at"],
        modifying_user=coder,
        modified=row["updated_at"],
        codings=[
            QdeCoding(
                guid=str(coding["guid"]),
                code_guid=str(coding["code__guid"]),
                creating_user=coder,
                created=coding["created_at"],
            )
            for coding in row["codings"]
        ],
    )
    if not row["memo"]:
        return selection, None
    quote = " ".join(text[row["start"] : row["end"]].split())
    quote = quote if len(quote) <= 60 else quote[:59].rstrip() + "…"
    note = QdeNote(
        guid=memo_note_guid(row["guid"]),
        name=f"Memo on “{quote}”",
        text=row["memo"],
        creating_user=coder,
        created=row["created_at"],
        modified=row["updated_at"],
    )
    selection.note_refs.append(note.guid)
    return selection, note


def _cases(project, fieldnotes: list[dict]) -> list[QdeCase]:
    """One case per meeting and per observer, each referring to its latest fieldnotes."""
    by_meeting: dict[int, list[str]] = defaultdict(list)
    by_observer: dict[int, list[str]] = defaultdict(list)
    for row in fieldnotes:
        by_meeting[row["meeting_id"]].append(str(row["guid"]))
        by_observer[row["observer_id"]].append(str(row["guid"]))
    cases = []
    for meeting in Meeting.objects.filter(project=project).values(
        "pk", "guid", "title", "description", "place", "starts_at", "ends_at"
    ):
        cases.append(
            QdeCase(
                guid=str(meeting["guid"]),
                name=meeting["title"],
                description=meeting["description"],
                source_refs=by_meeting.get(meeting["pk"], []),
                variable_values=[
                    QdeVariableValue(variable_guid(KIND), KIND_MEETING),
                    QdeVariableValue(variable_guid(MEETING_STARTS), meeting["starts_at"]),
                    QdeVariableValue(variable_guid(MEETING_ENDS), meeting["ends_at"]),
                    QdeVariableValue(variable_guid(MEETING_PLACE), meeting["place"]),
                ],
            )
        )
    for observer in Observer.objects.filter(project=project).values("pk", "guid", "name"):
        cases.append(
            QdeCase(
                guid=str(observer["guid"]),
                name=observer["name"],
                source_refs=by_observer.get(observer["pk"], []),
                variable_values=[QdeVariableValue(variable_guid(KIND), KIND_OBSERVER)],
            )
        )
    return cases
