"""A `QdeProject` (read from a `.qdpx` of any tool) written into a new project, and placeholder
coders mapped to members afterwards.

The import is one transaction: whatever it cannot take raises `QdeError` with a sentence naming
the problem and leaves nothing behind. What it can take with a change (a renamed code, a skipped
coding) it takes, and says so in the `ImportRecord`'s report.

Positions come in as the exporting tool counted them; `exchange.offsets` chooses the way of
counting and converts every selection to code points of the stored text. GUIDs from the file are
kept (lowercase) for codes, fieldnotes, excerpts, codings, memos, meetings and observers, so a
second export gives the same identities back.
"""

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import PurePosixPath

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from coding.codebook import PALETTE
from coding.models import Code, CodeChange, Excerpt, ExcerptCode, ExcerptEvent, ProjectMemo
from coding.qdc import normalise_colour, split_description
from fieldnotes.models import Fieldnote, Observer, SourceFormat
from meetings.models import Meeting
from projects.models import Membership, Role, UserGuid
from projects.services import create_project

from . import offsets
from .models import ImportRecord
from .project_export import (
    KIND,
    KIND_MEETING,
    KIND_OBSERVER,
    MEETING_ENDS,
    MEETING_PLACE,
    MEETING_STARTS,
    selection_flags,
)
from .qde import QdeCode, QdeError, QdeProject, QdeSelection, QdeSource

User = get_user_model()
BATCH = 2000
UNKNOWN_OBSERVER = "Unknown observer"

# Grouped reasons for what was skipped: the report says each once with its count.
SKIPPED = {
    "empty_source": ("1 source without text skipped", "{n} sources without text skipped"),
    "empty_selection": (
        "1 selection with nothing between its start and end skipped",
        "{n} selections with nothing between their start and end skipped",
    ),
    "uncoded": (
        "1 selection without codes skipped (an excerpt in Triangulate carries at least one code)",
        "{n} selections without codes skipped (an excerpt in Triangulate carries at least one "
        "code)",
    ),
    "unknown_code": (
        "1 coding of a code not in the codebook skipped",
        "{n} codings of codes not in the codebook skipped",
    ),
    "repeated_code": (
        "1 coding repeating a code already on its excerpt skipped",
        "{n} codings repeating a code already on their excerpt skipped",
    ),
}


def _guid(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many.format(n=count)


@dataclass
class _Report:
    skipped: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def skip(self, key: str, count: int = 1) -> None:
        self.skipped[key] += count

    def sentences(self) -> list[str]:
        return [
            _plural(self.skipped[key], *SKIPPED[key]) + "." for key in SKIPPED if self.skipped[key]
        ]


@dataclass
class _Pending:
    """An excerpt about to be written, with its codings (code, coding GUID)."""

    guid: str
    fieldnote: Fieldnote
    coder: object
    start: int
    end: int
    memo: list[str]
    flags: dict
    codings: list[tuple[Code, str]] = field(default_factory=list)


def import_qde(
    qde: QdeProject,
    *,
    user,
    source_name: str,
    name: str | None = None,
    users: dict[str, "User"] | None = None,
) -> ImportRecord:
    """A new project holding `qde`, `user` its PI, in one transaction; `QdeError` if refused.

    `users` maps file user GUIDs to existing accounts (a backup restored on a new server); the
    caller gives those accounts their memberships. A file user whose GUID is `user`'s own is
    `user`; every other user who made a selection becomes a placeholder coder.
    """
    try:
        with transaction.atomic():
            return _Import(qde, user, source_name, name, users or {}).run()
    except ValidationError as error:
        raise QdeError(" ".join(error.messages)) from error
    except DatabaseError as error:
        raise QdeError(f"The project could not be saved ({error}).") from error


class _Import:
    def __init__(self, qde: QdeProject, user, source_name: str, name: str | None, users: dict):
        self.qde = qde
        self.user = user
        self.source_name = source_name
        self.name = name
        self.users_map = {_guid(key): account for key, account in users.items() if _guid(key)}
        self.report = _Report()
        self.user_names = {_guid(u.guid): u.name for u in qde.users if _guid(u.guid)}
        self.accounts: dict[str | None, object] = {}
        self.placeholders: list[Membership] = []
        self.from_triangulate = (qde.origin or "").startswith("Triangulate")

    def run(self) -> ImportRecord:
        sources = self._readable_sources()
        choice = self._choose_scheme(sources)
        converted = self._convert(sources, choice.scheme)
        self.project = create_project(
            name=(self.name or self.qde.name or PurePosixPath(self.source_name).stem)[:200]
            or "Imported project",
            description=self.qde.description,
            created_by=self.user,
        )
        codes = self._codes()
        self._coders(sources, codes)
        fieldnotes = self._fieldnotes(sources, converted)
        notes = {_guid(note.guid): note for note in self.qde.notes if _guid(note.guid)}
        pending, used_notes = self._excerpts(sources, converted, fieldnotes, codes, notes)
        excerpts, codings = self._write_excerpts(pending)
        memos = self._memos(notes, used_notes)
        counts = {
            "codes": len(codes),
            "fieldnotes": len(fieldnotes),
            "meetings": self.meetings,
            "observers": self.observers,
            "excerpts": excerpts,
            "codings": codings,
            "memos": memos,
            "excerpt memos": sum(1 for item in pending if item.memo),
            "placeholder coders": len(self.placeholders),
        }
        return ImportRecord.objects.create(
            project=self.project,
            source_name=self.source_name[:255],
            tool=(self.qde.origin or "")[:200],
            offset_scheme=choice.scheme,
            created_by=self.user,
            report={
                "counts": counts,
                "skipped": self.report.sentences(),
                "warnings": list(self.qde.warnings) + self.report.warnings,
                "offsets": choice.reason,
                "offset_scheme": choice.scheme,
                "offset_checks": choice.as_dict()["checks"],
                "origin": self.qde.origin,
            },
        )

    # Sources and positions ---------------------------------------------------------------

    def _readable_sources(self) -> list[QdeSource]:
        readable = []
        for source in self.qde.sources:
            if source.text.strip():
                readable.append(source)
            elif source.selections:
                count = _plural(len(source.selections), "1 selection", "{n} selections")
                raise QdeError(
                    f"The source “{source.name}” has no text (its plain-text file is missing or "
                    f"empty), yet {count} point into it."
                )
            else:
                self.report.skip("empty_source")
        return readable

    def _choose_scheme(self, sources: list[QdeSource]) -> offsets.SchemeChoice:
        keys = {id(source): str(index) for index, source in enumerate(sources)}
        choice = offsets.detect_scheme(
            self.qde.origin,
            {keys[id(source)]: source.text for source in sources},
            {keys[id(source)]: [(s.start, s.end) for s in source.selections] for source in sources},
            names={keys[id(source)]: source.name for source in sources},
        )
        if choice.scheme is None:
            first = choice.checks[choice.claimed].first_outside
            selection = sources[int(first.source)].selections[first.index]
            raise QdeError(f"{choice.reason} (The selection's GUID is {selection.guid}.)")
        return choice

    def _convert(self, sources, scheme) -> dict[int, tuple[str, list[tuple[int, int]]]]:
        return {
            id(source): offsets.to_stored(
                source.text, [(s.start, s.end) for s in source.selections], scheme
            )
            for source in sources
        }

    # Codes -------------------------------------------------------------------------------

    def _codes(self) -> dict[str, Code]:
        """The code tree, level by level (one insert per level), GUIDs kept."""
        codebook = self.project.codebook
        applied = {
            _guid(coding.code_guid)
            for source in self.qde.sources
            for selection in source.selections
            for coding in selection.codings
        }
        by_guid: dict[str, Code] = {}
        level: list[tuple[QdeCode, Code | None]] = [(code, None) for code in self.qde.codes]
        count = 0
        while level:
            built, next_level = [], []
            names: dict[int | None, set[str]] = defaultdict(set)
            positions: Counter = Counter()
            for item, parent in level:
                code = self._code(item, parent, codebook, by_guid, applied, count + len(built))
                parent_key = parent.pk if parent else None
                code.name = self._sibling_name(code.name, names[parent_key], parent)
                code.position = positions[parent_key]
                positions[parent_key] += 1
                built.append((item, code))
            Code.objects.bulk_create([code for _, code in built])
            for item, code in built:
                by_guid[str(code.guid)] = code
                next_level.extend((child, code) for child in item.children)
            count += len(built)
            level = next_level
        if by_guid:
            CodeChange.objects.create(
                codebook=codebook,
                user=self.user,
                action=CodeChange.Action.IMPORTED,
                summary=f"Imported {len(by_guid)} codes from {self.source_name}"[:500],
                after={"added": sorted(code.path for code in by_guid.values())},
            )
        return by_guid

    def _code(self, item: QdeCode, parent, codebook, by_guid, applied, index) -> Code:
        guid = _guid(item.guid)
        name = " ".join((item.name or "").split())[:200] or "Unnamed code"
        if guid is None or guid in by_guid:
            self.report.warnings.append(
                f"The code “{name}” had {'a GUID used twice' if guid else 'no GUID'}; it was "
                "given a new one."
            )
            guid = str(uuid.uuid4())
        try:
            colour = normalise_colour(item.colour)
        except ValueError:
            self.report.warnings.append(
                f"The code “{name}” had an unreadable colour ({item.colour}); it was given one."
            )
            colour = None
        is_codable = item.is_codable
        if not is_codable and guid in applied:
            self.report.warnings.append(
                f"The code “{name}” was marked as not codable but carries codings; it was made "
                "codable so they are kept."
            )
            is_codable = True
        fields = split_description(item.description or "")
        return Code(
            codebook=codebook,
            parent=parent,
            guid=guid,
            name=name,
            is_codable=is_codable,
            colour=colour or PALETTE[index % len(PALETTE)],
            **fields,
        )

    def _sibling_name(self, name: str, taken: set[str], parent) -> str:
        candidate, number = name, 1
        while candidate.lower() in taken:
            number += 1
            candidate = f"{name[:190]} ({number})"
        taken.add(candidate.lower())
        if candidate != name:
            where = f"under “{parent.name}”" if parent else "at the top of the codebook"
            self.report.warnings.append(
                f"Two codes {where} were both called “{name}”; the second is now “{candidate}”."
            )
        return candidate

    # Users -------------------------------------------------------------------------------

    def _coders(self, sources, codes) -> None:
        """Accounts for everyone whose coding comes in, made first so that the fieldnotes and
        memos they wrote can name them; people who coded nothing become no placeholders."""
        for source in sources:
            for selection in source.selections:
                for coding in selection.codings:
                    if _guid(coding.code_guid) in codes:
                        self.account_for(selection.creating_user or coding.creating_user)

    def known_account(self, guid: str | None):
        """The account of a file user who is the importer, given in `users`, or a coder."""
        guid = _guid(guid)
        if guid is None:
            return None
        if guid in self.accounts:
            return self.accounts[guid]
        if guid in self.users_map:
            return self.users_map[guid]
        return self.user if guid == str(self.user.exchange_guid.guid) else None

    def account_for(self, guid: str | None):
        """The account a file user's work goes to; a placeholder coder is made on first use."""
        guid = _guid(guid)
        if guid is None:
            return self.user
        if guid not in self.accounts:
            self.accounts[guid] = self._account(guid)
        return self.accounts[guid]

    def _account(self, guid: str):
        if guid in self.users_map:
            return self.users_map[guid]
        if guid == str(self.user.exchange_guid.guid):
            return self.user
        name = " ".join(self.user_names.get(guid, "").split())
        if not name:
            name = f"Coder {guid[:8]}"
            self.report.warnings.append(
                f"A user of the file (GUID {guid}) is not in its list of users; their coding "
                f"belongs to the placeholder coder “{name}”."
            )
        account = User(username=self._username(name), first_name=name[:150], is_active=False)
        account.set_unusable_password()
        account.save()
        if UserGuid.objects.filter(guid=guid).exists():
            self.report.warnings.append(
                f"{name}'s GUID in the file already belongs to an account on this server, so the "
                "placeholder coder was given a new one."
            )
        else:
            UserGuid.objects.filter(user=account).update(guid=guid)
        self.placeholders.append(
            Membership.objects.create(
                project=self.project,
                user=account,
                role=Role.CODER,
                invited_by=self.user,
                is_placeholder=True,
            )
        )
        return account

    def _username(self, name: str) -> str:
        base = (slugify(name) or "coder")[:120]
        base = f"imported-{base}"
        taken = set(
            User.objects.filter(username__startswith=base).values_list("username", flat=True)
        )
        candidate, number = base, 1
        while candidate in taken:
            number += 1
            candidate = f"{base}-{number}"
        return candidate

    # Meetings, observers and fieldnotes --------------------------------------------------

    def _fieldnotes(self, sources, converted) -> dict[int, Fieldnote]:
        meeting_of, observer_of = self._triangulate_cases() if self.from_triangulate else ({}, {})
        self.meetings = len({meeting.pk for meeting in meeting_of.values()})
        self.observers = len({observer.pk for observer in observer_of.values()})
        fallback_meeting = None
        fallback_observers: dict[str, Observer] = {}
        seen: set[str] = set()
        fieldnotes = {}
        for source in sources:
            guid = _guid(source.guid)
            if guid is None or guid in seen:
                self.report.warnings.append(
                    f"The source “{source.name}” had {'a GUID used twice' if guid else 'no GUID'}"
                    "; it was given a new one."
                )
                guid = str(uuid.uuid4())
            seen.add(guid)
            meeting = meeting_of.get(guid)
            if meeting is None:
                if fallback_meeting is None:
                    fallback_meeting = self._file_meeting()
                    self.meetings += 1
                meeting = fallback_meeting
            observer = observer_of.get(guid)
            if observer is None:
                writer = self.user_names.get(_guid(source.creating_user) or "", "").strip()
                writer = writer or UNKNOWN_OBSERVER
                if writer not in fallback_observers:
                    fallback_observers[writer] = Observer.objects.create(
                        project=self.project, name=writer[:200]
                    )
                    self.observers += 1
                observer = fallback_observers[writer]
            fieldnotes[id(source)] = Fieldnote(
                guid=guid,
                meeting=meeting,
                observer=observer,
                title=(" ".join(source.name.split()) or "Untitled source")[:200],
                text=converted[id(source)][0],
                source_name=self.source_name[:255],
                source_format=SourceFormat.REFI,
                created_by=self.known_account(source.creating_user),
            )
        Fieldnote.objects.bulk_create(fieldnotes.values())
        return fieldnotes

    def _file_meeting(self) -> Meeting:
        """One meeting for sources no Triangulate case places: the import day, 09:00 to 17:00."""
        zone = timezone.get_current_timezone()
        day = timezone.localdate()
        return Meeting.objects.create(
            project=self.project,
            title=(PurePosixPath(self.source_name).stem or self.qde.name or "Imported")[:200],
            starts_at=datetime.combine(day, time(9, 0), tzinfo=zone),
            ends_at=datetime.combine(day, time(17, 0), tzinfo=zone),
        )

    def _triangulate_cases(self):
        """Meetings and observers from the cases a Triangulate export writes, by source GUID."""
        variables = {_guid(v.guid): v.name for v in self.qde.variables}
        meeting_of: dict[str, Meeting] = {}
        observer_of: dict[str, Observer] = {}
        for case in self.qde.cases:
            values = {
                variables.get(_guid(value.variable_guid)): value.value
                for value in case.variable_values
            }
            guid = _guid(case.guid) or str(uuid.uuid4())
            refs = [ref for ref in map(_guid, case.source_refs) if ref]
            if values.get(KIND) == KIND_MEETING:
                meeting = self._case_meeting(case, guid, values)
                if meeting is not None:
                    meeting_of.update(dict.fromkeys(refs, meeting))
            elif values.get(KIND) == KIND_OBSERVER:
                observer = Observer.objects.create(
                    project=self.project, name=case.name[:200] or UNKNOWN_OBSERVER, guid=guid
                )
                observer_of.update(dict.fromkeys(refs, observer))
        return meeting_of, observer_of

    def _case_meeting(self, case, guid: str, values: dict) -> Meeting | None:
        starts, ends = _moment(values.get(MEETING_STARTS)), _moment(values.get(MEETING_ENDS))
        if starts is None or ends is None or ends <= starts:
            self.report.warnings.append(
                f"The meeting “{case.name}” has no readable start and end; its fieldnotes were "
                "placed in a meeting named after the file."
            )
            return None
        return Meeting.objects.create(
            project=self.project,
            guid=guid,
            title=case.name[:200] or "Meeting",
            description=case.description,
            place=str(values.get(MEETING_PLACE) or "")[:200],
            starts_at=starts,
            ends_at=ends,
        )

    # Excerpts ----------------------------------------------------------------------------

    def _excerpts(self, sources, converted, fieldnotes, codes, notes):
        """Selections as excerpts to write: one per selection and coder, identical spans of one
        coder merged; checked here so that the bulk insert can skip per-row saves."""
        pending: dict[tuple, _Pending] = {}
        used_notes: set[str] = set()
        guids: set[str] = set()
        merged = 0
        for source in sources:
            fieldnote = fieldnotes[id(source)]
            spans = converted[id(source)][1]
            length = len(fieldnote.text)
            for selection, (start, end) in zip(source.selections, spans, strict=True):
                if not 0 <= start < end <= length or selection.start >= selection.end:
                    self.report.skip("empty_selection")
                    continue
                groups = self._codings_by_coder(selection, codes)
                memo, refs = self._memo(selection, notes)
                if not groups:
                    self.report.skip("uncoded")
                    continue
                used_notes.update(refs)
                for index, (coder, codings) in enumerate(groups.items()):
                    key = (fieldnote.guid, coder.pk, start, end)
                    if key in pending:
                        merged += 1
                        self._merge(pending[key], codings, memo)
                        continue
                    guid = self._excerpt_guid(selection, coder, index, guids)
                    pending[key] = _Pending(
                        guid=guid,
                        fieldnote=fieldnote,
                        coder=coder,
                        start=start,
                        end=end,
                        memo=list(memo),
                        flags=selection_flags(selection.name)
                        if self.from_triangulate
                        else selection_flags(""),
                    )
                    self._merge(pending[key], codings, [])
        if merged:
            self.report.warnings.append(
                _plural(
                    merged,
                    "1 selection with the same span and coder as another was merged into its "
                    "excerpt.",
                    "{n} selections with the same span and coder as another were merged into "
                    "their excerpts.",
                )
            )
        return list(pending.values()), used_notes

    def _codings_by_coder(self, selection: QdeSelection, codes) -> dict:
        """The selection's codings with a known code, by the account they belong to: the
        selection's creating user, else the coding's (QualCoder names only the latter)."""
        groups: dict[object, list[tuple[Code, str]]] = {}
        for coding in selection.codings:
            code = codes.get(_guid(coding.code_guid) or "")
            if code is None:
                self.report.skip("unknown_code")
                continue
            coder = self.account_for(selection.creating_user or coding.creating_user)
            groups.setdefault(coder, []).append((code, _guid(coding.guid) or ""))
        return groups

    def _memo(self, selection: QdeSelection, notes) -> tuple[list[str], list[str]]:
        texts, refs = [], []
        for ref in map(_guid, selection.note_refs):
            note = notes.get(ref)
            if note is not None and note.text.strip():
                texts.append(note.text.strip())
                refs.append(ref)
        if selection.description.strip():
            texts.append(selection.description.strip())
        return texts, refs

    def _merge(self, item: _Pending, codings, memo) -> None:
        present = {code.pk for code, _ in item.codings}
        for code, guid in codings:
            if code.pk in present:
                self.report.skip("repeated_code")
                continue
            present.add(code.pk)
            item.codings.append((code, guid))
        item.memo.extend(text for text in memo if text not in item.memo)

    def _excerpt_guid(self, selection, coder, index: int, guids: set[str]) -> str:
        guid = _guid(selection.guid)
        if guid is not None and index:
            # A second coder's codings on the same selection: a derived, stable GUID.
            guid = str(uuid.uuid5(uuid.UUID(guid), str(coder.exchange_guid.guid)))
        if guid is None or guid in guids:
            guid = str(uuid.uuid4())
        guids.add(guid)
        return guid

    def _write_excerpts(self, pending: list[_Pending]) -> tuple[int, int]:
        project_id = self.project.pk
        for item in pending:
            if not 0 <= item.start < item.end <= len(item.fieldnote.text):
                raise QdeError(f"Excerpt {item.guid} does not fit its fieldnote.")
            for code, _ in item.codings:
                if code.codebook.project_id != project_id or not code.is_codable:
                    raise QdeError(f"The code “{code.name}” cannot be applied to text.")
        excerpts = [
            Excerpt(
                guid=item.guid,
                fieldnote=item.fieldnote,
                coder=item.coder,
                start=item.start,
                end=item.end,
                memo="\n\n".join(item.memo),
                unsure=item.flags["unsure"],
                needs_review=item.flags["needs_review"],
                review_reason=item.flags["review_reason"][:300],
            )
            for item in pending
        ]
        Excerpt.objects.bulk_create(excerpts, batch_size=BATCH)
        coding_guids: set[str] = set()
        rows, events = [], []
        for excerpt, item in zip(excerpts, pending, strict=True):
            for code, guid in item.codings:
                if not guid or guid in coding_guids:
                    guid = str(uuid.uuid4())
                coding_guids.add(guid)
                rows.append(ExcerptCode(excerpt=excerpt, code=code, guid=guid))
            events.append(
                ExcerptEvent(
                    fieldnote=excerpt.fieldnote,
                    excerpt_key=excerpt.pk,
                    excerpt=excerpt,
                    user=excerpt.coder,
                    action=ExcerptEvent.Action.CREATED,
                    after=_state(excerpt, [code for code, _ in item.codings]),
                )
            )
        ExcerptCode.objects.bulk_create(rows, batch_size=BATCH)
        ExcerptEvent.objects.bulk_create(events, batch_size=BATCH)
        return len(excerpts), len(rows)

    # Notes -------------------------------------------------------------------------------

    def _memos(self, notes, used: set[str]) -> int:
        memos = [
            ProjectMemo(
                project=self.project,
                guid=guid,
                author=self.known_account(note.creating_user),
                title=(" ".join((note.name or "").split()) or "Memo")[:200],
                text=note.text,
            )
            for guid, note in notes.items()
            if guid not in used
        ]
        ProjectMemo.objects.bulk_create(memos)
        return len(memos)


def _state(excerpt: Excerpt, codes: list[Code]) -> dict:
    """What `coding.services.excerpt_state` records, from what is at hand (no queries)."""
    return {
        "start": excerpt.start,
        "end": excerpt.end,
        "codes": sorted(code.pk for code in codes),
        "code_names": sorted(code.name for code in codes),
        "memo": excerpt.memo,
        "unsure": excerpt.unsure,
        "coder": excerpt.coder_id,
        "text": excerpt.fieldnote.text[excerpt.start : excerpt.end][:500],
    }


def _moment(value) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    return value


# Placeholder coders --------------------------------------------------------------------------


def map_placeholder(project, placeholder: Membership, target: Membership, *, by) -> int:
    """Moves every excerpt of a placeholder coder to a member (a PI or coder), then removes the
    placeholder's membership and keeps its account inactive. An excerpt whose span the member
    already coded gives its codes to the member's excerpt. Returns how many excerpts moved."""
    _check_mapping(project, placeholder, target, by)
    with transaction.atomic():
        Membership.objects.select_for_update().filter(pk__in=[placeholder.pk, target.pk]).exists()
        source, destination = placeholder.user, target.user
        theirs = Excerpt.objects.filter(fieldnote__meeting__project=project, coder=source)
        existing = {
            (row["fieldnote_id"], row["start"], row["end"]): row["pk"]
            for row in Excerpt.objects.filter(
                fieldnote__meeting__project=project, coder=destination
            ).values("pk", "fieldnote_id", "start", "end")
        }
        moved = 0
        twins: dict[int, int] = {}
        memos: dict[int, str] = {}
        for row in theirs.values("pk", "fieldnote_id", "start", "end", "memo"):
            twin = existing.get((row["fieldnote_id"], row["start"], row["end"]))
            if twin is not None:
                twins[row["pk"]] = twin
                if row["memo"]:
                    memos[twin] = row["memo"]
            moved += 1
        _merge_into_twins(twins, memos)
        theirs.exclude(pk__in=twins).update(coder=destination, revision=F("revision") + 1)
        ExcerptEvent.objects.filter(fieldnote__meeting__project=project, user=source).update(
            user=destination
        )
        placeholder.delete()
        User.objects.filter(pk=source.pk).update(is_active=False)
    return moved


def _check_mapping(project, placeholder: Membership, target: Membership, by) -> None:
    if not Membership.objects.filter(project=project, user=by, role=Role.PI).exists():
        raise QdeError("Only a principal investigator of the project maps placeholder coders.")
    if placeholder.project_id != project.pk or target.project_id != project.pk:
        raise QdeError("Both the placeholder coder and the member must belong to this project.")
    if not placeholder.is_placeholder:
        raise QdeError(f"{_name(placeholder)} is not a placeholder coder.")
    if target.is_placeholder:
        raise QdeError(
            f"{_name(target)} is a placeholder coder too; choose a member with an account."
        )
    if target.is_consensus:
        raise QdeError("The consensus coder holds settled coding only; choose a person.")
    if target.role not in (Role.PI, Role.CODER):
        raise QdeError(
            f"{_name(target)} is a {target.get_role_display().lower()}; only principal "
            "investigators and coders code, so choose one of them."
        )


def _name(membership: Membership) -> str:
    user = membership.user
    return user.get_full_name() or user.username


def _merge_into_twins(twins: dict[int, int], memos: dict[int, str]) -> None:
    """The codes of placeholder excerpts whose span the member already coded go to the member's
    excerpt (codes it already has are dropped); then those placeholder excerpts go."""
    if not twins:
        return
    present = set(
        ExcerptCode.objects.filter(excerpt_id__in=set(twins.values())).values_list(
            "excerpt_id", "code_id"
        )
    )
    moving: dict[int, list[int]] = defaultdict(list)
    for row in ExcerptCode.objects.filter(excerpt_id__in=twins).values(
        "pk", "excerpt_id", "code_id"
    ):
        twin = twins[row["excerpt_id"]]
        if (twin, row["code_id"]) not in present:
            present.add((twin, row["code_id"]))
            moving[twin].append(row["pk"])
    for twin, pks in moving.items():
        ExcerptCode.objects.filter(pk__in=pks).update(excerpt_id=twin)
    for twin, memo in memos.items():
        excerpt = Excerpt.objects.get(pk=twin)
        excerpt.memo = f"{excerpt.memo}\n\n{memo}" if excerpt.memo else memo
        excerpt.revision += 1
        excerpt.save(update_fields=["memo", "revision", "updated_at"])
    Excerpt.objects.filter(pk__in=twins).delete()
