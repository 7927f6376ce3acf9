"""Backup and restore of a whole project, to move a team to another server losing nothing.

A backup is a `.qdpx`, so ATLAS.ti, MAXQDA or QualCoder can still open it, with one more entry,
`triangulate/backup.json` (the "extras"): what REFI-QDA cannot hold. Accounts with their password
hashes (so people log in as before after a move), memberships, meetings' agendas and lay panel
settings, every older fieldnote version and every version's time markers, the codebook's
shortcuts, archiving, merges, history and labelled versions, excerpt flags and revisions, the
excerpt audit trail, coding rounds, agreement reports with their disagreements and discussion,
and lay panel invitations (restored revoked: their tokens never travel) with their drafts.

Everything in the extras is keyed by GUIDs, never database ids, because ids change on the way.
Where stored JSON holds ids (a report's `parameters` and `results`, `CodeChange.after` of a
recoding, `CodebookVersion.snapshot`, `ExcerptEvent.before`/`after` and `excerpt_key`) they are
translated to GUIDs on the way out and to the new ids on the way in. An id whose object was gone
when the backup was made (an account deleted since a report ran, an excerpt recoded and then
deleted) becomes null in both directions: there is nothing left for it to name. Coding rounds and
reports have no GUID; they are numbered within the backup.

An excerpt deleted before the backup keeps its audit trail under a fresh `excerpt_key`: one taken
from the excerpt table's own sequence (a stand-in row inserted and removed at once), so that undoing
the deletion brings the excerpt back under an id nothing else will ever use.
"""

import copy
import hashlib
import json
import secrets
from importlib import metadata

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from coding.models import (
    AgreementReport,
    Assignment,
    Code,
    CodebookVersion,
    CodeChange,
    CodingRound,
    Disagreement,
    DisagreementComment,
    Excerpt,
    ExcerptCode,
    ExcerptEvent,
    ProjectMemo,
)
from fieldnotes.models import Fieldnote, Observer, TimeMarker
from meetings.models import AgendaItem, Meeting
from panel.models import LayDraft, LayInvitation
from projects.models import Membership, Project, UserGuid

from .qde import QdeError

BACKUP_ENTRY = "triangulate/backup.json"
FORMAT_VERSION = 1
PLAIN_NOTE = (
    "This file has no triangulate/backup.json, so it was imported as a plain REFI-QDA project: "
    "sources, codes, excerpts and memos came in; accounts, rounds, reports, history and lay "
    "panel links were not in it."
)


class BackupError(Exception):
    """A backup that cannot be written or restored; the message names the problem for people."""


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _when(text):
    if text is None:
        return None
    value = parse_datetime(text)
    if value is None:
        raise BackupError(f"The backup holds {text!r} where a date and time belong.")
    return value


def _day(text):
    return parse_date(text) if text else None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def app_version() -> str:
    try:
        return metadata.version("triangulate")
    except metadata.PackageNotFoundError:
        return "unknown"


# Translating stored JSON between database ids and GUIDs. The same walkers serve both ways: a
# translator's methods take one kind of reference and give the other.


def _map(values, to):
    return [to(value) for value in values or ()]


def translate_report(kind: str, parameters: dict, results: dict | None, t):
    """A report's `parameters` and `results` with every id of a user, code, fieldnote, meeting,
    observer and round passed through the translator `t`."""
    parameters = copy.deepcopy(parameters or {})
    results = copy.deepcopy(results)
    if "codes" in parameters:
        parameters["codes"] = _map(parameters["codes"], t.code)
    if "coders" in parameters:
        parameters["coders"] = _map(parameters["coders"], t.user)
    if kind == AgreementReport.Kind.OBSERVERS:
        if "meeting" in parameters:
            parameters["meeting"] = t.meeting(parameters["meeting"])
        if results:
            if isinstance(results.get("meeting"), dict):
                results["meeting"]["id"] = t.meeting(results["meeting"].get("id"))
            for observer in results.get("observers", ()):
                observer["id"] = t.observer(observer["id"])
            for code in results.get("codes", ()):
                code["id"] = t.code(code["id"])
        return parameters, results
    if "round" in parameters:
        parameters["round"] = t.round(parameters["round"])
    if "fieldnotes" in parameters:
        parameters["fieldnotes"] = _map(parameters["fieldnotes"], t.fieldnote)
    if results:
        for coder in results.get("coders", ()):
            coder["id"] = t.user(coder["id"])
        for code in results.get("codes", ()):
            code["id"] = t.code(code["id"])
        for note in results.get("fieldnotes", ()):
            note["id"] = t.fieldnote(note["id"])
            for code in note.get("codes", ()):
                code["id"] = t.code(code["id"])
        for pair in results.get("pairs", ()):
            pair["first"], pair["second"] = t.user(pair["first"]), t.user(pair["second"])
    return parameters, results


def translate_excerpt_state(state: dict | None, t) -> dict | None:
    """`coding.services.excerpt_state`: its code ids and coder id."""
    if state is None:
        return None
    state = dict(state)
    if "codes" in state:
        state["codes"] = _map(state["codes"], t.code)
    if "coder" in state:
        state["coder"] = t.user(state["coder"])
    return state


def translate_change(action: str, after: dict | None, t) -> dict | None:
    """Only a recoding names ids (its excerpts); every other change already names GUIDs."""
    if action != CodeChange.Action.RECODED or not after or "excerpts" not in after:
        return after
    return {**after, "excerpts": _map(after["excerpts"], t.excerpt)}


def translate_snapshot(snapshot: list, t) -> list:
    return [{**entry, "id": t.code(entry.get("id"))} for entry in snapshot or ()]


class _ToGuids:
    """Database ids of one project to GUID strings; an id whose object is gone gives None."""

    def __init__(self, project):
        in_project = {"fieldnote__meeting__project": project}
        self.codes = _guids(Code.objects.filter(codebook__project=project))
        self.fieldnotes = _guids(Fieldnote.objects.in_project(project))
        self.meetings = _guids(Meeting.objects.filter(project=project))
        self.observers = _guids(Observer.objects.filter(project=project))
        self.excerpts = _guids(Excerpt.objects.filter(**in_project))
        self.rounds: dict[int, int] = {}
        self.users: dict[int, str | None] = {}

    def user(self, pk):
        if pk is None:
            return None
        if pk not in self.users:
            found = UserGuid.objects.filter(user_id=pk).values_list("guid", flat=True).first()
            if found is None and get_user_model().objects.filter(pk=pk).exists():
                found = UserGuid.objects.get_or_create(user_id=pk)[0].guid
            self.users[pk] = str(found) if found else None
        return self.users[pk]

    def code(self, pk):
        return self.codes.get(pk)

    def fieldnote(self, pk):
        return self.fieldnotes.get(pk)

    def meeting(self, pk):
        return self.meetings.get(pk)

    def observer(self, pk):
        return self.observers.get(pk)

    def excerpt(self, pk):
        return self.excerpts.get(pk)

    def round(self, pk):
        return self.rounds.get(pk)


def _guids(queryset) -> dict[int, str]:
    return {pk: str(guid) for pk, guid in queryset.values_list("pk", "guid")}


# Writing the extras


def dump_extras(project) -> dict:
    """Everything about `project` that a `.qdpx` cannot carry, as JSON-ready data keyed by GUIDs."""
    t = _ToGuids(project)
    extras = {
        "format": FORMAT_VERSION,
        "app_version": app_version(),
        "exported_at": timezone.now().isoformat(),
        "project": {
            "name": project.name,
            "description": project.description,
            "created_by": t.user(project.created_by_id),
            "created_at": _iso(project.created_at),
        },
        "memberships": _dump_memberships(project, t),
        "meetings": _dump_meetings(project),
        "observers": [
            {
                "guid": str(o.guid),
                "name": o.name,
                "user": t.user(o.user_id),
                "created_at": _iso(o.created_at),
            }
            for o in Observer.objects.filter(project=project).order_by("pk")
        ],
        "fieldnotes": _dump_fieldnotes(project, t),
        "codes": _dump_codes(project, t),
        "code_changes": _dump_code_changes(project, t),
        "codebook_versions": [
            {
                "number": v.number,
                "label": v.label,
                "snapshot": translate_snapshot(v.snapshot, t),
                "created_by": t.user(v.created_by_id),
                "created_at": _iso(v.created_at),
            }
            for v in CodebookVersion.objects.filter(codebook__project=project).order_by("number")
        ],
        "excerpts": _dump_excerpts(project, t),
        "excerpt_events": _dump_events(project, t),
        "memos": [
            {
                "guid": str(m.guid),
                "author": t.user(m.author_id),
                "title": m.title,
                "text": m.text,
                "created_at": _iso(m.created_at),
                "updated_at": _iso(m.updated_at),
            }
            for m in ProjectMemo.objects.filter(project=project).order_by("pk")
        ],
        "lay_invitations": _dump_invitations(project, t),
    }
    # Rounds before reports, which name their round by the backup's number.
    extras["rounds"] = _dump_rounds(project, t)
    extras["reports"] = _dump_reports(project, t)
    # Last: every part above has named the accounts it refers to.
    extras["accounts"] = _dump_accounts(t)
    return extras


def _dump_memberships(project, t) -> list[dict]:
    return [
        {
            "user": t.user(m.user_id),
            "role": m.role,
            "is_consensus": m.is_consensus,
            "is_placeholder": m.is_placeholder,
            "invited_by": t.user(m.invited_by_id),
            "invitation_sent_at": _iso(m.invitation_sent_at),
            "created_at": _iso(m.created_at),
        }
        for m in Membership.objects.filter(project=project).order_by("pk")
    ]


def _dump_meetings(project) -> list[dict]:
    meetings = Meeting.objects.filter(project=project).prefetch_related("agenda_items")
    return [
        {
            "guid": str(m.guid),
            "title": m.title,
            "place": m.place,
            "description": m.description,
            "starts_at": _iso(m.starts_at),
            "ends_at": _iso(m.ends_at),
            "lay_prompts": m.lay_prompts,
            "lay_locked_at": _iso(m.lay_locked_at),
            "created_at": _iso(m.created_at),
            "agenda": [
                {"title": a.title, "starts_at": _iso(a.starts_at), "ends_at": _iso(a.ends_at)}
                for a in m.agenda_items.all()
            ],
        }
        for m in meetings.order_by("pk")
    ]


def _dump_fieldnotes(project, t) -> list[dict]:
    """Every version, oldest first; the latest version's text travels in the `.qdpx`, so only its
    checksum is kept here, to notice a project file that does not match."""
    markers: dict[int, list] = {}
    for m in TimeMarker.objects.filter(fieldnote__meeting__project=project).order_by(
        "offset", "pk"
    ):
        markers.setdefault(m.fieldnote_id, []).append(
            {
                "offset": m.offset,
                "end": m.end,
                "text": m.text,
                "kind": m.kind,
                "moment": _iso(m.moment),
                "confirmed": m.confirmed,
                "note": m.note,
            }
        )
    later = set(
        Fieldnote.objects.in_project(project)
        .filter(previous_version__isnull=False)
        .values_list("previous_version_id", flat=True)
    )
    rows = []
    for f in Fieldnote.objects.in_project(project).order_by("version", "pk"):
        row = {
            "guid": str(f.guid),
            "meeting": t.meeting(f.meeting_id),
            "observer": t.observer(f.observer_id),
            "title": f.title,
            "version": f.version,
            "previous_version": t.fieldnote(f.previous_version_id),
            "latest": f.pk not in later,
            "source_name": f.source_name,
            "source_format": f.source_format,
            "created_by": t.user(f.created_by_id),
            "created_at": _iso(f.created_at),
            "time_markers": markers.get(f.pk, []),
        }
        if row["latest"]:
            row["text_sha256"] = _sha256(f.text)
        else:
            row["text"] = f.text
        rows.append(row)
    return rows


def _dump_codes(project, t) -> list[dict]:
    return [
        {
            "guid": str(c.guid),
            "name": c.name,
            "parent": t.code(c.parent_id),
            "definition": c.definition,
            "inclusion": c.inclusion,
            "exclusion": c.exclusion,
            "example": c.example,
            "colour": c.colour,
            "shortcut": c.shortcut,
            "is_codable": c.is_codable,
            "archived": c.archived,
            "merged_into": t.code(c.merged_into_id),
            "position": c.position,
            "created_at": _iso(c.created_at),
            "updated_at": _iso(c.updated_at),
        }
        for c in Code.objects.filter(codebook__project=project).order_by("pk")
    ]


def _dump_code_changes(project, t) -> list[dict]:
    return [
        {
            "code": t.code(c.code_id),
            "user": t.user(c.user_id),
            "at": _iso(c.at),
            "action": c.action,
            "summary": c.summary,
            "before": c.before,
            "after": translate_change(c.action, c.after, t),
        }
        for c in CodeChange.objects.filter(codebook__project=project).order_by("at", "pk")
    ]


def _dump_excerpts(project, t) -> list[dict]:
    codings: dict[int, list] = {}
    for excerpt_id, guid, code_id, created_at in (
        ExcerptCode.objects.filter(excerpt__fieldnote__meeting__project=project)
        .order_by("pk")
        .values_list("excerpt_id", "guid", "code_id", "created_at")
    ):
        codings.setdefault(excerpt_id, []).append(
            {"guid": str(guid), "code": t.code(code_id), "created_at": _iso(created_at)}
        )
    return [
        {
            "guid": str(e.guid),
            "fieldnote": t.fieldnote(e.fieldnote_id),
            "coder": t.user(e.coder_id),
            "start": e.start,
            "end": e.end,
            "memo": e.memo,
            "unsure": e.unsure,
            "needs_review": e.needs_review,
            "review_reason": e.review_reason,
            "revision": e.revision,
            "created_at": _iso(e.created_at),
            "updated_at": _iso(e.updated_at),
            "codings": codings.get(e.pk, []),
        }
        for e in Excerpt.objects.filter(fieldnote__meeting__project=project).order_by("pk")
    ]


def _dump_events(project, t) -> list[dict]:
    """The audit trail, oldest first. An event of a live excerpt names its GUID; the events of an
    excerpt deleted since share a `gone` number, so its history stays together."""
    rows = []
    for e in ExcerptEvent.objects.filter(fieldnote__meeting__project=project).order_by("at", "pk"):
        guid = t.excerpt(e.excerpt_key)
        rows.append(
            {
                "fieldnote": t.fieldnote(e.fieldnote_id),
                "excerpt": guid,
                "gone": None if guid else e.excerpt_key,
                "linked": e.excerpt_id is not None,
                "user": t.user(e.user_id),
                "at": _iso(e.at),
                "action": e.action,
                "before": translate_excerpt_state(e.before, t),
                "after": translate_excerpt_state(e.after, t),
            }
        )
    return rows


def _dump_rounds(project, t) -> list[dict]:
    rows = []
    rounds = CodingRound.objects.filter(project=project).prefetch_related(
        "fieldnotes", "coders", "assignments"
    )
    for number, r in enumerate(rounds.order_by("created_at", "pk"), start=1):
        t.rounds[r.pk] = number
        rows.append(
            {
                "number": number,
                "name": r.name,
                "blind": r.blind,
                "state": r.state,
                "due_date": _iso(r.due_date),
                "created_by": t.user(r.created_by_id),
                "created_at": _iso(r.created_at),
                "revealed_at": _iso(r.revealed_at),
                "fieldnotes": sorted(t.fieldnote(f.pk) for f in r.fieldnotes.all()),
                "coders": sorted(t.user(u.pk) for u in r.coders.all()),
                "assignments": [
                    {
                        "fieldnote": t.fieldnote(a.fieldnote_id),
                        "coder": t.user(a.coder_id),
                        "done_at": _iso(a.done_at),
                    }
                    for a in r.assignments.all()
                ],
            }
        )
    return rows


def _dump_reports(project, t) -> list[dict]:
    """Rounds first (`_dump_rounds`): a report names its round by the backup's number."""
    comments: dict[int, list] = {}
    for c in DisagreementComment.objects.filter(disagreement__report__project=project):
        comments.setdefault(c.disagreement_id, []).append(
            {"author": t.user(c.author_id), "text": c.text, "created_at": _iso(c.created_at)}
        )
    disagreements: dict[int, list] = {}
    for d in Disagreement.objects.filter(report__project=project).order_by("pk"):
        disagreements.setdefault(d.report_id, []).append(
            {
                "fieldnote": t.fieldnote(d.fieldnote_id),
                "code": t.code(d.code_id),
                "kind": d.kind,
                "first_excerpt": t.excerpt(d.first_excerpt_id),
                "first_coder": t.user(d.first_coder_id),
                "first_start": d.first_start,
                "first_end": d.first_end,
                "second_excerpt": t.excerpt(d.second_excerpt_id),
                "second_coder": t.user(d.second_coder_id),
                "second_start": d.second_start,
                "second_end": d.second_end,
                "resolution": d.resolution,
                "resolved_by": t.user(d.resolved_by_id),
                "resolved_at": _iso(d.resolved_at),
                "consensus_excerpt": t.excerpt(d.consensus_excerpt_id),
                "comments": comments.get(d.pk, []),
            }
        )
    rows = []
    reports = AgreementReport.objects.filter(project=project).select_related("codebook_version")
    for r in reports.order_by("created_at", "pk"):
        parameters, results = translate_report(r.kind, r.parameters, r.results, t)
        rows.append(
            {
                "round": t.round(r.coding_round_id),
                "kind": r.kind,
                "codebook_version": r.codebook_version.number if r.codebook_version else None,
                "parameters": parameters,
                "results": results,
                "status": r.status,
                "progress": r.progress,
                "error": r.error,
                "created_by": t.user(r.created_by_id),
                "created_at": _iso(r.created_at),
                "started_at": _iso(r.started_at),
                "finished_at": _iso(r.finished_at),
                "timings": r.timings,
                "attempt": r.attempt,
                "heartbeat_at": _iso(r.heartbeat_at),
                "disagreements": disagreements.get(r.pk, []),
            }
        )
    return rows


def _dump_invitations(project, t) -> list[dict]:
    invitations = LayInvitation.objects.filter(meeting__project=project).select_related("draft")
    rows = []
    for i in invitations.order_by("pk"):
        draft = getattr(i, "draft", None)
        rows.append(
            {
                "meeting": t.meeting(i.meeting_id),
                "label": i.label,
                "observer": t.observer(i.observer_id),
                "created_by": t.user(i.created_by_id),
                "created_at": _iso(i.created_at),
                "expires_at": _iso(i.expires_at),
                "revoked_at": _iso(i.revoked_at),
                "last_used_at": _iso(i.last_used_at),
                "draft": None
                if draft is None
                else {
                    "name": draft.name,
                    "answers": draft.answers,
                    "fieldnote": t.fieldnote(draft.fieldnote_id),
                    "updated_at": _iso(draft.updated_at),
                    "submitted_at": _iso(draft.submitted_at),
                },
            }
        )
    return rows


def _dump_accounts(t) -> list[dict]:
    by_pk = {pk: guid for pk, guid in t.users.items() if guid}
    users = get_user_model().objects.filter(pk__in=by_pk).order_by("username")
    return [
        {
            "guid": by_pk[u.pk],
            "username": u.get_username(),
            "first_name": u.first_name,
            "last_name": u.last_name,
            "email": u.email,
            "password": u.password,
            "is_active": u.is_active,
        }
        for u in users
    ]


# Reading the extras back


def parse_extras(raw: bytes) -> dict:
    """The extras of a backup, checked for a format this version can read."""
    try:
        extras = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(
            f"The backup's {BACKUP_ENTRY} is damaged: it is not readable JSON ({error})."
        ) from None
    if not isinstance(extras, dict) or "format" not in extras:
        raise BackupError(f"The backup's {BACKUP_ENTRY} does not describe a Triangulate backup.")
    if extras["format"] != FORMAT_VERSION:
        raise BackupError(
            f"The backup is in format {extras['format']!r}, made by Triangulate "
            f"{extras.get('app_version', 'of another version')}; this server reads format "
            f"{FORMAT_VERSION} only."
        )
    return extras


def restore_accounts(accounts: list[dict]) -> tuple[dict, list[str], int]:
    """The accounts a backup names, as {GUID: user}: an account here with the same exchange GUID,
    else one with the same username (said in the notes: it may be someone else), else a new
    account with the stored password hash, so its owner logs in as before."""
    User = get_user_model()
    found = {
        str(guid): user
        for guid, user in (
            (row.guid, row.user)
            for row in UserGuid.objects.select_related("user").filter(
                guid__in=[a["guid"] for a in accounts]
            )
        )
    }
    users, notes, created = {}, [], 0
    for account in accounts:
        guid = account["guid"]
        if guid in found:
            users[guid] = found[guid]
            continue
        same_name = User.objects.filter(username=account["username"]).first()
        if same_name is not None:
            notes.append(
                f"The account {account['username']!r} was matched by its username: its exchange "
                "GUID here differs from the one in the backup. Check that it is the same person."
            )
            users[guid] = same_name
            continue
        user = User(
            username=account["username"],
            first_name=account.get("first_name", ""),
            last_name=account.get("last_name", ""),
            email=account.get("email", ""),
            password=account.get("password") or "!",
            is_active=account.get("is_active", True),
        )
        user.save()
        row, _ = UserGuid.objects.get_or_create(user=user)
        row.guid = guid
        row.save(update_fields=["guid"])
        user.exchange_guid = row
        users[guid] = user
        created += 1
    return users, notes, created


class _ToIds:
    """GUIDs of the backup to the restored project's rows; an unknown GUID is a damaged backup."""

    def __init__(self, project, users: dict):
        self.project = project
        self.users = users
        self.refresh()
        self.rounds: dict[int, CodingRound] = {}
        self.versions: dict[int, CodebookVersion] = {}

    def refresh(self):
        project = self.project
        self.codes = _by_guid(Code.objects.filter(codebook__project=project))
        self.fieldnotes = _by_guid(Fieldnote.objects.in_project(project))
        self.meetings = _by_guid(Meeting.objects.filter(project=project))
        self.observers = _by_guid(Observer.objects.filter(project=project))
        self.excerpts = _by_guid(Excerpt.objects.filter(fieldnote__meeting__project=project))

    @staticmethod
    def _find(table: dict, guid, what: str):
        if guid is None:
            return None
        try:
            return table[guid]
        except KeyError:
            raise BackupError(
                f"The backup names {what} {guid}, which is neither in its project file nor in "
                f"its {BACKUP_ENTRY}: the backup is damaged."
            ) from None

    def user_obj(self, guid):
        return self._find(self.users, guid, "the account")

    def code_obj(self, guid):
        return self._find(self.codes, guid, "the code")

    def fieldnote_obj(self, guid):
        return self._find(self.fieldnotes, guid, "the fieldnote")

    def meeting_obj(self, guid):
        return self._find(self.meetings, guid, "the meeting")

    def observer_obj(self, guid):
        return self._find(self.observers, guid, "the observer")

    def excerpt_obj(self, guid):
        return self._find(self.excerpts, guid, "the excerpt")

    def _pk(self, obj):
        return obj.pk if obj is not None else None

    def user(self, guid):
        return self._pk(self.user_obj(guid))

    def code(self, guid):
        return self._pk(self.code_obj(guid))

    def fieldnote(self, guid):
        return self._pk(self.fieldnote_obj(guid))

    def meeting(self, guid):
        return self._pk(self.meeting_obj(guid))

    def observer(self, guid):
        return self._pk(self.observer_obj(guid))

    def excerpt(self, guid):
        return self._pk(self.excerpt_obj(guid))

    def round(self, number):
        if number is None:
            return None
        if number not in self.rounds:
            raise BackupError(f"The backup names coding round {number}, which it does not hold.")
        return self.rounds[number].pk


def _by_guid(queryset) -> dict:
    return {str(obj.guid): obj for obj in queryset}


def load_extras(project, extras: dict, *, users: dict | None = None) -> dict:
    """Puts the extras of a backup into `project`, which the `.qdpx` import has just made; runs
    inside the caller's transaction. Returns how many of each thing were restored."""
    if users is None:
        users = restore_accounts(extras.get("accounts", []))[0]
    t = _ToIds(project, users)
    counts = {}
    counts["memberships"] = _load_project(project, extras, t)
    counts["meetings"], counts["agenda_items"] = _load_meetings(project, extras["meetings"], t)
    counts["observers"] = _load_observers(project, extras["observers"], t)
    t.refresh()
    counts["fieldnote_versions"], counts["time_markers"] = _load_fieldnotes(extras["fieldnotes"], t)
    t.refresh()
    counts["codes"] = _load_codes(project, extras["codes"], t)
    t.refresh()
    counts["excerpts"], counts["codings"] = _load_excerpts(extras["excerpts"], t)
    t.refresh()
    counts["memos"] = _load_memos(project, extras.get("memos", []), t)
    counts["code_changes"] = _load_code_changes(project, extras["code_changes"], t)
    counts["codebook_versions"] = _load_versions(project, extras["codebook_versions"], t)
    counts["excerpt_events"] = _load_events(project, extras["excerpt_events"], t)
    counts["rounds"], counts["assignments"] = _load_rounds(project, extras["rounds"], t)
    counts["reports"], counts["disagreements"], counts["comments"] = _load_reports(
        project, extras["reports"], t
    )
    counts["lay_invitations"], counts["lay_drafts"] = _load_invitations(
        extras["lay_invitations"], t
    )
    return counts


def _set_times(objects, rows, *fields) -> None:
    """Automatic timestamps (`auto_now_add`, `auto_now`) as the backup has them: bulk_update
    writes the values as given, where save() and bulk_create would put the present time."""
    if not objects:
        return
    model = type(objects[0])
    for obj, row in zip(objects, rows, strict=True):
        for name in fields:
            setattr(obj, name, _when(row.get(name)) or getattr(obj, name))
    model.objects.bulk_update(objects, list(fields), batch_size=500)


def _load_project(project, extras, t) -> int:
    about = extras["project"]
    Project.objects.filter(pk=project.pk).update(
        name=about["name"],
        description=about.get("description", ""),
        created_by=t.user_obj(about.get("created_by")),
        created_at=_when(about.get("created_at")) or project.created_at,
    )
    rows = extras["memberships"]
    memberships = []
    for row in rows:
        membership, _ = Membership.objects.update_or_create(
            project=project,
            user=t.user_obj(row["user"]),
            defaults={
                "role": row["role"],
                "is_consensus": row.get("is_consensus", False),
                "is_placeholder": row.get("is_placeholder", False),
                "invited_by": t.user_obj(row.get("invited_by")),
                "invitation_sent_at": _when(row.get("invitation_sent_at")),
            },
        )
        memberships.append(membership)
    _set_times(memberships, rows, "created_at")
    return len(memberships)


def _load_meetings(project, rows, t) -> tuple[int, int]:
    meetings, agenda = [], []
    for row in rows:
        fields = {
            "title": row["title"],
            "place": row.get("place", ""),
            "description": row.get("description", ""),
            "starts_at": _when(row["starts_at"]),
            "ends_at": _when(row["ends_at"]),
            "lay_prompts": row.get("lay_prompts", []),
            "lay_locked_at": _when(row.get("lay_locked_at")),
        }
        meeting = t.meetings.get(row["guid"])
        if meeting is None:
            meeting = Meeting.objects.create(project=project, guid=row["guid"], **fields)
        else:
            Meeting.objects.filter(pk=meeting.pk).update(**fields)
        meetings.append(meeting)
        AgendaItem.objects.filter(meeting=meeting).delete()
        agenda += [
            AgendaItem(
                meeting=meeting,
                title=item["title"],
                starts_at=_when(item["starts_at"]),
                ends_at=_when(item["ends_at"]),
            )
            for item in row.get("agenda", [])
        ]
    AgendaItem.objects.bulk_create(agenda)
    _set_times(meetings, rows, "created_at")
    return len(meetings), len(agenda)


def _load_observers(project, rows, t) -> int:
    observers = []
    for row in rows:
        fields = {"name": row["name"], "user": t.user_obj(row.get("user"))}
        observer = t.observers.get(row["guid"])
        if observer is None:
            observer = Observer.objects.create(project=project, guid=row["guid"], **fields)
        else:
            Observer.objects.filter(pk=observer.pk).update(**fields)
        observers.append(observer)
    _set_times(observers, rows, "created_at")
    return len(observers)


def _load_fieldnotes(rows, t) -> tuple[int, int]:
    """Older versions are made here, oldest first, and chained to the latest ones the `.qdpx`
    brought, whose texts must be the ones the backup was made from."""
    restored = []
    for row in rows:
        fields = {
            "meeting": t.meeting_obj(row["meeting"]),
            "observer": t.observer_obj(row["observer"]),
            "title": row["title"],
            "version": row["version"],
            "previous_version": t.fieldnote_obj(row.get("previous_version")),
            "source_name": row.get("source_name", ""),
            "source_format": row.get("source_format", "paste"),
            "created_by": t.user_obj(row.get("created_by")),
        }
        if row.get("latest"):
            fieldnote = t.fieldnote_obj(row["guid"])
            if _sha256(fieldnote.text) != row.get("text_sha256"):
                raise BackupError(
                    f"The text of the fieldnote {row['title']!r} in the project file is not the "
                    "one the backup was made from: the backup is damaged."
                )
            Fieldnote.objects.filter(pk=fieldnote.pk).update(**fields)
        else:
            fieldnote = Fieldnote.objects.create(guid=row["guid"], text=row["text"], **fields)
            t.fieldnotes[row["guid"]] = fieldnote
        restored.append(fieldnote)
    _set_times(restored, rows, "created_at")
    TimeMarker.objects.filter(fieldnote__in=restored).delete()
    markers = [
        TimeMarker(
            fieldnote=fieldnote,
            offset=m["offset"],
            end=m["end"],
            text=m["text"],
            kind=m["kind"],
            moment=_when(m.get("moment")),
            confirmed=m.get("confirmed", False),
            note=m.get("note", ""),
        )
        for fieldnote, row in zip(restored, rows, strict=True)
        for m in row.get("time_markers", [])
    ]
    TimeMarker.objects.bulk_create(markers)
    return sum(1 for row in rows if not row.get("latest")), len(markers)


def _load_codes(project, rows, t) -> int:
    """Codes as they were, archived and merged ones included; shortcuts are cleared first so that
    no two codes hold one shortcut halfway through."""
    codebook = project.codebook
    Code.objects.filter(codebook=codebook).update(shortcut="")
    for row in rows:
        if row["guid"] not in t.codes:
            t.codes[row["guid"]] = Code.objects.create(
                codebook=codebook, guid=row["guid"], name=row["name"]
            )
    codes = []
    for row in rows:
        code = t.code_obj(row["guid"])
        for name in ("name", "definition", "inclusion", "exclusion", "example", "colour"):
            setattr(code, name, row.get(name, getattr(code, name)))
        code.parent = t.code_obj(row.get("parent"))
        code.merged_into = t.code_obj(row.get("merged_into"))
        code.is_codable = row.get("is_codable", True)
        code.archived = row.get("archived", False)
        code.position = row.get("position", 0)
        codes.append(code)
    Code.objects.bulk_update(
        codes,
        [
            "name",
            "definition",
            "inclusion",
            "exclusion",
            "example",
            "colour",
            "parent",
            "merged_into",
            "is_codable",
            "archived",
            "position",
        ],
    )
    for code, row in zip(codes, rows, strict=True):
        if row.get("shortcut"):
            Code.objects.filter(pk=code.pk).update(shortcut=row["shortcut"])
    _set_times(codes, rows, "created_at", "updated_at")
    return len(codes)


def _load_excerpts(rows, t) -> tuple[int, int]:
    """Every excerpt as the backup has it (span, coder, memo, flags, revision, times), and every
    coding it had, with its GUID; the ones the `.qdpx` did not bring are made here."""
    excerpts = []
    for row in rows:
        fields = {
            "fieldnote": t.fieldnote_obj(row["fieldnote"]),
            "coder": t.user_obj(row["coder"]),
            "start": row["start"],
            "end": row["end"],
            "memo": row.get("memo", ""),
            "unsure": row.get("unsure", False),
            "needs_review": row.get("needs_review", False),
            "review_reason": row.get("review_reason", ""),
            "revision": row.get("revision", 1),
        }
        excerpt = t.excerpts.get(row["guid"])
        if excerpt is None:
            excerpt = Excerpt(guid=row["guid"], **fields)
            excerpt.save()
            t.excerpts[row["guid"]] = excerpt
        else:
            for name, value in fields.items():
                setattr(excerpt, name, value)
        excerpt.check_invariants()
        excerpts.append(excerpt)
    Excerpt.objects.bulk_update(
        excerpts,
        [
            "fieldnote",
            "coder",
            "start",
            "end",
            "memo",
            "unsure",
            "needs_review",
            "review_reason",
            "revision",
        ],
        batch_size=500,
    )
    _set_times(excerpts, rows, "created_at", "updated_at")
    have = {
        (excerpt_id, code_id): pk
        for pk, excerpt_id, code_id in ExcerptCode.objects.filter(excerpt__in=excerpts).values_list(
            "pk", "excerpt_id", "code_id"
        )
    }
    new, kept, kept_rows = [], [], []
    for excerpt, row in zip(excerpts, rows, strict=True):
        for coding in row.get("codings", []):
            code = t.code_obj(coding["code"])
            if (excerpt.pk, code.pk) in have:
                kept.append(ExcerptCode(pk=have[excerpt.pk, code.pk], guid=coding["guid"]))
                kept_rows.append(coding)
            else:
                new.append((ExcerptCode(excerpt=excerpt, code=code, guid=coding["guid"]), coding))
    ExcerptCode.objects.bulk_create([coding for coding, _ in new])
    ExcerptCode.objects.bulk_update(kept, ["guid"], batch_size=500)
    _set_times(kept + [c for c, _ in new], kept_rows + [row for _, row in new], "created_at")
    return len(excerpts), len(kept) + len(new)


def _load_memos(project, rows, t) -> int:
    memos = []
    for row in rows:
        fields = {
            "author": t.user_obj(row.get("author")),
            "title": row["title"],
            "text": row.get("text", ""),
        }
        memo = ProjectMemo.objects.filter(project=project, guid=row["guid"]).first()
        if memo is None:
            memo = ProjectMemo.objects.create(project=project, guid=row["guid"], **fields)
        else:
            ProjectMemo.objects.filter(pk=memo.pk).update(**fields)
        memos.append(memo)
    _set_times(memos, rows, "created_at", "updated_at")
    return len(memos)


def _load_code_changes(project, rows, t) -> int:
    """The codebook's history is the backup's: what the import itself recorded is replaced."""
    codebook = project.codebook
    CodeChange.objects.filter(codebook=codebook).delete()
    changes = CodeChange.objects.bulk_create(
        CodeChange(
            codebook=codebook,
            code=t.code_obj(row.get("code")),
            user=t.user_obj(row.get("user")),
            action=row["action"],
            summary=row["summary"],
            before=row.get("before"),
            after=translate_change(row["action"], row.get("after"), t),
        )
        for row in rows
    )
    _set_times(changes, rows, "at")
    return len(changes)


def _load_versions(project, rows, t) -> int:
    codebook = project.codebook
    CodebookVersion.objects.filter(codebook=codebook).delete()
    versions = CodebookVersion.objects.bulk_create(
        CodebookVersion(
            codebook=codebook,
            number=row["number"],
            label=row["label"],
            snapshot=translate_snapshot(row["snapshot"], t),
            created_by=t.user_obj(row.get("created_by")),
        )
        for row in rows
    )
    _set_times(versions, rows, "created_at")
    t.versions = {version.number: version for version in versions}
    return len(versions)


def _fresh_excerpt_keys(count: int, fieldnote, coder) -> list[int]:
    """Ids never to be used by another excerpt, for the history of excerpts deleted before the
    backup: stand-in rows take them from the table's sequence and are removed at once."""
    if not count:
        return []
    stand_ins = Excerpt.objects.bulk_create(
        Excerpt(fieldnote=fieldnote, coder=coder, start=0, end=1) for _ in range(count)
    )
    keys = [excerpt.pk for excerpt in stand_ins]
    Excerpt.objects.filter(pk__in=keys).delete()
    return keys


def _load_events(project, rows, t) -> int:
    ExcerptEvent.objects.filter(fieldnote__meeting__project=project).delete()
    gone = list(dict.fromkeys(row["gone"] for row in rows if row.get("excerpt") is None))
    fresh = {}
    if gone:
        first = next(row for row in rows if row.get("excerpt") is None)
        someone = project.created_by or next(iter(t.users.values()))
        keys = _fresh_excerpt_keys(len(gone), t.fieldnote_obj(first["fieldnote"]), someone)
        fresh = dict(zip(gone, keys, strict=True))
    events = []
    for row in rows:
        excerpt = t.excerpt_obj(row.get("excerpt"))
        events.append(
            ExcerptEvent(
                fieldnote=t.fieldnote_obj(row["fieldnote"]),
                excerpt_key=excerpt.pk if excerpt else fresh[row["gone"]],
                excerpt=excerpt if row.get("linked") else None,
                user=t.user_obj(row.get("user")),
                action=row["action"],
                before=translate_excerpt_state(row.get("before"), t),
                after=translate_excerpt_state(row.get("after"), t),
            )
        )
    ExcerptEvent.objects.bulk_create(events, batch_size=500)
    _set_times(events, rows, "at")
    return len(events)


def _load_rounds(project, rows, t) -> tuple[int, int]:
    rounds, assignments = [], []
    for row in rows:
        coding_round = CodingRound.objects.create(
            project=project,
            name=row["name"],
            blind=row.get("blind", True),
            state=row["state"],
            due_date=_day(row.get("due_date")),
            created_by=t.user_obj(row.get("created_by")),
            revealed_at=_when(row.get("revealed_at")),
        )
        coding_round.fieldnotes.set([t.fieldnote_obj(guid) for guid in row.get("fieldnotes", [])])
        coding_round.coders.set([t.user_obj(guid) for guid in row.get("coders", [])])
        assignments += [
            Assignment(
                coding_round=coding_round,
                fieldnote=t.fieldnote_obj(a["fieldnote"]),
                coder=t.user_obj(a["coder"]),
                done_at=_when(a.get("done_at")),
            )
            for a in row.get("assignments", [])
        ]
        t.rounds[row["number"]] = coding_round
        rounds.append(coding_round)
    Assignment.objects.bulk_create(assignments)
    _set_times(rounds, rows, "created_at")
    return len(rounds), len(assignments)


def _load_reports(project, rows, t) -> tuple[int, int, int]:
    reports, disagreements = [], []
    for row in rows:
        parameters, results = translate_report(row["kind"], row["parameters"], row["results"], t)
        number = row.get("codebook_version")
        if number is not None and number not in t.versions:
            raise BackupError(f"A report names codebook version {number}, which the backup lacks.")
        report = AgreementReport.objects.create(
            project=project,
            coding_round_id=t.round(row.get("round")),
            kind=row["kind"],
            codebook_version=t.versions.get(number),
            parameters=parameters,
            status=row["status"],
            progress=row.get("progress", 0.0),
            results=results,
            error=row.get("error", ""),
            created_by=t.user_obj(row.get("created_by")),
            started_at=_when(row.get("started_at")),
            finished_at=_when(row.get("finished_at")),
            timings=row.get("timings", {}),
            attempt=row.get("attempt", 1),
            heartbeat_at=_when(row.get("heartbeat_at")),
        )
        reports.append(report)
        for d in row.get("disagreements", []):
            disagreement = Disagreement(
                report=report,
                fieldnote=t.fieldnote_obj(d["fieldnote"]),
                code=t.code_obj(d["code"]),
                kind=d["kind"],
                first_excerpt=t.excerpt_obj(d.get("first_excerpt")),
                first_coder=t.user_obj(d.get("first_coder")),
                first_start=d["first_start"],
                first_end=d["first_end"],
                second_excerpt=t.excerpt_obj(d.get("second_excerpt")),
                second_coder=t.user_obj(d.get("second_coder")),
                second_start=d.get("second_start"),
                second_end=d.get("second_end"),
                resolution=d.get("resolution", ""),
                resolved_by=t.user_obj(d.get("resolved_by")),
                resolved_at=_when(d.get("resolved_at")),
                consensus_excerpt=t.excerpt_obj(d.get("consensus_excerpt")),
            )
            disagreements.append((disagreement, d))
    # In bulk: a report of 40,000 excerpts has some 12,000 disagreements.
    Disagreement.objects.bulk_create([d for d, _ in disagreements], batch_size=500)
    comments = [
        (
            DisagreementComment(
                disagreement=disagreement, author=t.user_obj(c.get("author")), text=c["text"]
            ),
            c,
        )
        for disagreement, row in disagreements
        for c in row.get("comments", [])
    ]
    made = DisagreementComment.objects.bulk_create(comment for comment, _ in comments)
    _set_times(made, [row for _, row in comments], "created_at")
    _set_times(reports, rows, "created_at")
    return len(reports), len(disagreements), len(made)


def _load_invitations(rows, t) -> tuple[int, int]:
    """Every link comes back revoked with a new random hash: a backup carries no working link,
    and the PI reissues the ones still needed."""
    invitations, drafts = [], []
    now = timezone.now()
    for row in rows:
        invitation = LayInvitation.objects.create(
            meeting=t.meeting_obj(row["meeting"]),
            label=row["label"],
            token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
            observer=t.observer_obj(row.get("observer")),
            created_by=t.user_obj(row.get("created_by")),
            expires_at=_when(row["expires_at"]),
            revoked_at=_when(row.get("revoked_at")) or now,
            last_used_at=_when(row.get("last_used_at")),
        )
        invitations.append(invitation)
        draft = row.get("draft")
        if draft is not None:
            made = LayDraft.objects.create(
                invitation=invitation,
                name=draft.get("name", ""),
                answers=draft.get("answers", {}),
                fieldnote=t.fieldnote_obj(draft.get("fieldnote")),
                submitted_at=_when(draft.get("submitted_at")),
            )
            drafts.append((made, draft))
    _set_times(invitations, rows, "created_at")
    _set_times([d for d, _ in drafts], [row for _, row in drafts], "updated_at")
    return len(invitations), len(drafts)


# Whole backups


def export_backup(project, out, progress=None) -> dict:
    """Writes `project` as a `.qdpx` with its extras to the binary file `out`; returns how many
    of each thing it holds."""
    from .project_export import build_qde
    from .qdpx import write_qdpx

    def share(begin):
        return None if progress is None else lambda done: progress(begin + done / 2)

    qde = build_qde(project, progress=share(0.0))
    extras = dump_extras(project)
    qde.extra_files[BACKUP_ENTRY] = json.dumps(extras, ensure_ascii=False, indent=1).encode("utf-8")
    write_qdpx(qde, out, progress=share(0.5))
    return summary(extras)


def summary(extras: dict) -> dict:
    fieldnotes = extras["fieldnotes"]
    return {
        "accounts": len(extras["accounts"]),
        "memberships": len(extras["memberships"]),
        "meetings": len(extras["meetings"]),
        "fieldnotes": sum(1 for f in fieldnotes if f.get("latest")),
        "older_fieldnote_versions": sum(1 for f in fieldnotes if not f.get("latest")),
        "codes": len(extras["codes"]),
        "excerpts": len(extras["excerpts"]),
        "excerpt_events": len(extras["excerpt_events"]),
        "code_changes": len(extras["code_changes"]),
        "rounds": len(extras["rounds"]),
        "reports": len(extras["reports"]),
        "disagreements": sum(len(r["disagreements"]) for r in extras["reports"]),
        "lay_invitations": len(extras["lay_invitations"]),
    }


def import_backup(data, *, user=None, source_name: str = "backup.qdpx") -> Project:
    """A new project from a backup (or from a plain `.qdpx`, with a note saying so), in one
    transaction: any problem raises BackupError and leaves nothing behind. What came in is kept
    in the project's ImportRecord, under "backup"."""
    from .project_import import import_qde
    from .qdpx import read_qdpx

    try:
        qde = read_qdpx(data)
    except QdeError as error:
        raise BackupError(str(error)) from None
    raw = qde.extra_files.get(BACKUP_ENTRY)
    try:
        with transaction.atomic():
            if raw is None:
                if user is None:
                    raise BackupError(
                        "This file is a plain REFI-QDA project, not a Triangulate backup, so it "
                        "names nobody to own it: say who imports it (import_project --as "
                        "<username>); they become its PI."
                    )
                record = import_qde(qde, user=user, source_name=source_name)
                _note(record, {"plain": True, "notes": [PLAIN_NOTE]})
                return record.project
            extras = parse_extras(raw)
            users, notes, created = restore_accounts(extras["accounts"])
            importer = user or users.get(extras["project"].get("created_by"))
            record = import_qde(
                qde,
                user=importer,
                source_name=source_name,
                name=extras["project"]["name"],
                users=users,
            )
            counts = load_extras(record.project, extras, users=users)
            counts["accounts_created"] = created
            _note(
                record,
                {
                    "plain": False,
                    "format": extras["format"],
                    "app_version": extras.get("app_version"),
                    "exported_at": extras.get("exported_at"),
                    "counts": counts,
                    "notes": notes,
                },
            )
            return Project.objects.get(pk=record.project_id)
    except BackupError:
        raise
    except QdeError as error:
        raise BackupError(str(error)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BackupError(
            f"The backup's {BACKUP_ENTRY} is damaged: {type(error).__name__} {error} while "
            "restoring it. Nothing was imported."
        ) from None
    except (ValidationError, IntegrityError) as error:
        raise BackupError(
            f"The backup could not be restored ({_message(error)}). Nothing was imported."
        ) from None


def _note(record, backup: dict) -> None:
    record.report = {**(record.report or {}), "backup": backup}
    record.save(update_fields=["report"])


def _message(error) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)
