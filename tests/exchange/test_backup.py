"""Backups: the extras written beside the `.qdpx`, and a whole project restored from them."""

import io
import json
import uuid
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from coding import codebook as codebook_services
from coding.models import (
    AgreementReport,
    CodeChange,
    CodingRound,
    Disagreement,
    Excerpt,
    ExcerptEvent,
    ProjectMemo,
)
from coding.services import change_excerpt, delete_excerpt, undo
from exchange.backup import (
    BACKUP_ENTRY,
    _ToGuids,
    dump_extras,
    export_backup,
    import_backup,
    restore_accounts,
    translate_excerpt_state,
    translate_report,
)
from exchange.models import ImportRecord
from fieldnotes.models import Fieldnote, TimeMarker
from fieldnotes.services import create_version
from panel.models import LayInvitation
from panel.services import create_invitation, save_draft
from projects.demo import load_demo_study
from projects.models import Project

User = get_user_model()


@pytest.fixture
def study(db):
    """The demo study, plus what it lacks: a revised fieldnote with a marker set by hand, an
    edited and a deleted excerpt, a shortcut, a merge, a split with recoding, a second codebook
    version, a project memo and a lay panel link with a draft."""
    project = load_demo_study()
    people = {user.username: user for user in User.objects.all()}
    codes = {code.name: code for code in project.codebook.codes.all()}
    chloe_v1 = Fieldnote.objects.get(meeting__project=project, observer__user=people["chloe"])
    chloe_v2 = create_version(
        fieldnote=chloe_v1,
        text=chloe_v1.text + "\n\nAdded on reading it again.",
        source_name="chloe-v2.txt",
        source_format="txt",
        user=people["chloe"],
    )
    TimeMarker.objects.create(
        fieldnote=chloe_v2,
        offset=0,
        end=4,
        text="Day1",
        kind="manual",
        moment=project.meetings.get().starts_at,
        confirmed=True,
        note="set by hand",
    )
    sams = Excerpt.objects.filter(fieldnote__observer__user=people["sam"], coder=people["amira"])
    edited, deleted = sams.order_by("pk")[:2]
    change_excerpt(excerpt=edited, user=people["amira"], memo="Rethought", unsure=True)
    deleted_key = deleted.pk
    delete_excerpt(excerpt=deleted, user=people["priya"])
    priya = people["priya"]
    codebook_services.update_code(code=codes["Researchers"], user=priya, shortcut="r")
    codebook_services.merge_codes(source=codes["Resolution"], target=codes["Protest"], user=priya)
    nurses, _ = codebook_services.split_code(
        code=codes["Frontline staff"], user=priya, names=["Nurses", "Doctors"]
    )
    recoded = Excerpt.objects.filter(codes=codes["Frontline staff"]).order_by("pk").first()
    codebook_services.recode_excerpts(
        code=codes["Frontline staff"],
        user=priya,
        assignments={recoded.pk: [nurses]},
        keep_parent=True,
    )
    codebook_services.label_version(codebook=project.codebook, user=priya, label="v2 after pilot")
    ProjectMemo.objects.create(project=project, author=priya, title="Themes", text="Consent.")
    invitation, _ = create_invitation(
        meeting=project.meetings.get(), label="Margaret's link", created_by=priya
    )
    save_draft(invitation=invitation, name="Margaret", answers={"What happened?": "Talk."})
    return {
        "project": project,
        "people": people,
        "chloe_v1": chloe_v1,
        "chloe_v2": chloe_v2,
        "edited": edited,
        "deleted_key": deleted_key,
        "recoded": recoded,
    }


# What the extras hold


def test_dump_extras_names_reports_by_guids(study):
    project, people = study["project"], study["people"]
    extras = dump_extras(project)
    sam = Fieldnote.objects.get(observer__user=people["sam"])
    guid = {name: str(user.exchange_guid.guid) for name, user in people.items()}
    coders_report, observers_report = extras["reports"]
    assert coders_report["round"] == 1
    assert extras["rounds"][0]["number"] == 1
    assert coders_report["parameters"]["round"] == 1
    # The report ran on Chloe's first version, which has been revised since.
    assert coders_report["parameters"]["fieldnotes"] == [str(study["chloe_v1"].guid), str(sam.guid)]
    assert coders_report["parameters"]["coders"] == [guid["amira"], guid["ben"]]
    assert coders_report["results"]["coders"] == [
        {"id": guid["amira"], "name": "Amira Haddad"},
        {"id": guid["ben"], "name": "Ben Carter"},
    ]
    assert [pair["first"] for pair in coders_report["results"]["pairs"]] == [guid["amira"]]
    code_guids = {str(g) for g in project.codebook.codes.values_list("guid", flat=True)}
    assert {code["id"] for code in coders_report["results"]["codes"]} <= code_guids
    assert observers_report["parameters"]["meeting"] == str(project.meetings.get().guid)
    observer_guids = {str(g) for g in project.observers.values_list("guid", flat=True)}
    assert {o["id"] for o in observers_report["results"]["observers"]} == observer_guids
    assert coders_report["codebook_version"] == 1
    assert [v["number"] for v in extras["codebook_versions"]] == [1, 2]
    assert all(e["id"] == e["guid"] for v in extras["codebook_versions"] for e in v["snapshot"])


def test_dump_extras_keeps_older_versions_and_markers(study):
    extras = dump_extras(study["project"])
    v1, v2 = study["chloe_v1"], study["chloe_v2"]
    rows = {row["guid"]: row for row in extras["fieldnotes"]}
    assert len(rows) == 7
    assert rows[str(v1.guid)]["text"] == v1.text
    assert rows[str(v1.guid)]["latest"] is False
    assert rows[str(v1.guid)]["time_markers"][0]["text"] == "Day 1, 09:30"
    assert rows[str(v2.guid)]["previous_version"] == str(v1.guid)
    assert rows[str(v2.guid)]["version"] == 2
    assert "text" not in rows[str(v2.guid)]
    assert rows[str(v2.guid)]["time_markers"] == [
        {
            "offset": 0,
            "end": 4,
            "text": "Day1",
            "kind": "manual",
            "moment": "2026-03-10T09:30:00+00:00",
            "confirmed": True,
            "note": "set by hand",
        }
    ]


def test_dump_extras_audit_trail_and_codebook(study):
    extras = dump_extras(study["project"])
    gone = [e for e in extras["excerpt_events"] if e["excerpt"] is None]
    assert [(e["action"], e["gone"], e["linked"]) for e in gone] == [
        ("created", study["deleted_key"], False),
        ("deleted", study["deleted_key"], False),
    ]
    edited = [e for e in extras["excerpt_events"] if e["excerpt"] == str(study["edited"].guid)]
    assert [e["action"] for e in edited] == ["created", "changed"]
    assert edited[1]["after"]["memo"] == "Rethought"
    assert edited[1]["after"]["coder"] == str(study["people"]["amira"].exchange_guid.guid)
    assert all(len(c) == 36 for c in edited[1]["after"]["codes"])
    recoded = [c for c in extras["code_changes"] if c["action"] == "recoded"]
    assert recoded[0]["after"] == {"excerpts": [str(study["recoded"].guid)], "kept_parent": True}
    codes = {c["name"]: c for c in extras["codes"]}
    assert codes["Researchers"]["shortcut"] == "r"
    assert codes["Resolution"]["archived"] is True
    assert codes["Resolution"]["merged_into"] == codes["Protest"]["guid"]
    excerpt = next(e for e in extras["excerpts"] if e["guid"] == str(study["edited"].guid))
    assert (excerpt["unsure"], excerpt["revision"], excerpt["memo"]) == (True, 2, "Rethought")


def test_dump_extras_accounts_and_lay_links(study):
    extras = dump_extras(study["project"])
    accounts = {a["username"]: a for a in extras["accounts"]}
    consensus = f"consensus-{study['project'].pk}"
    assert sorted(accounts) == [
        "amira", "ben", "chloe", consensus, "margaret", "priya", "sam", "tony",
    ]  # fmt: skip
    assert accounts["priya"]["password"] == study["people"]["priya"].password
    assert accounts["priya"]["email"] == "priya@example.org"
    assert accounts[consensus]["is_active"] is False
    assert [m["is_consensus"] for m in extras["memberships"]].count(True) == 1
    (link,) = extras["lay_invitations"]
    assert link["label"] == "Margaret's link"
    assert link["revoked_at"] is None
    assert link["draft"]["answers"] == {"What happened?": "Talk."}
    assert "token_hash" not in link


def test_restore_accounts_by_guid_username_or_new(study):
    priya = study["people"]["priya"]
    priya.set_password("s3cret-pass")
    priya.save()
    (account,) = [a for a in dump_extras(study["project"])["accounts"] if a["username"] == "priya"]
    same = dict(account)
    by_name = {**account, "guid": str(uuid.uuid4())}
    new = {**account, "guid": str(uuid.uuid4()), "username": "priya-elsewhere"}
    users, notes, created = restore_accounts([same, by_name, new])
    assert users[same["guid"]] == priya
    assert users[by_name["guid"]] == priya
    assert notes == [
        "The account 'priya' was matched by its username: its exchange GUID here differs from "
        "the one in the backup. Check that it is the same person."
    ]
    assert created == 1
    made = users[new["guid"]]
    assert made.username == "priya-elsewhere"
    assert made.check_password("s3cret-pass")
    assert str(made.exchange_guid.guid) == new["guid"]


# Round trip


def _export(project) -> bytes:
    out = io.BytesIO()
    export_backup(project, out)
    return out.getvalue()


def _fieldnotes(project):
    t = _ToGuids(project)
    return {
        str(f.guid): (
            f.version,
            t.fieldnote(f.previous_version_id),
            f.title,
            f.text,
            f.source_name,
            f.source_format,
            f.created_by.username if f.created_by else None,
            f.created_at,
            str(f.meeting.guid),
            str(f.observer.guid),
            [
                (m.offset, m.end, m.text, m.kind, m.moment, m.confirmed, m.note)
                for m in f.time_markers.order_by("offset", "pk")
            ],
        )
        for f in Fieldnote.objects.in_project(project)
    }


def _meetings(project):
    return {
        str(m.guid): (
            m.title,
            m.place,
            m.starts_at,
            m.ends_at,
            m.lay_prompts,
            [(a.title, a.starts_at, a.ends_at) for a in m.agenda_items.all()],
        )
        for m in project.meetings.all()
    }


def _codes(project):
    t = _ToGuids(project)
    return {
        str(c.guid): (
            c.name,
            t.code(c.parent_id),
            c.definition,
            c.colour,
            c.shortcut,
            c.is_codable,
            c.archived,
            t.code(c.merged_into_id),
            c.position,
            c.created_at,
        )
        for c in project.codebook.codes.all()
    }


def _excerpts(project):
    return {
        str(e.guid): (
            str(e.fieldnote.guid),
            e.start,
            e.end,
            e.coder.username,
            sorted(str(c.guid) for c in e.codes.all()),
            e.memo,
            e.unsure,
            e.needs_review,
            e.review_reason,
            e.revision,
            e.created_at,
        )
        for e in Excerpt.objects.filter(fieldnote__meeting__project=project)
    }


def _events(project):
    t = _ToGuids(project)
    return [
        (
            t.fieldnote(e.fieldnote_id),
            t.excerpt(e.excerpt_key),
            e.excerpt_id is not None,
            e.user.username if e.user else None,
            e.at,
            e.action,
            translate_excerpt_state(e.before, t),
            translate_excerpt_state(e.after, t),
        )
        for e in ExcerptEvent.objects.filter(fieldnote__meeting__project=project).order_by(
            "at", "pk"
        )
    ]


def _rounds(project):
    t = _ToGuids(project)
    return [
        (
            r.name,
            r.state,
            r.blind,
            r.due_date,
            r.revealed_at,
            sorted(t.fieldnote(f.pk) for f in r.fieldnotes.all()),
            sorted(u.username for u in r.coders.all()),
            sorted(
                (t.fieldnote(a.fieldnote_id), a.coder.username, a.done_at)
                for a in r.assignments.all()
            ),
        )
        for r in CodingRound.objects.filter(project=project)
    ]


def _reports(project):
    t = _ToGuids(project)
    t.rounds = {r.pk: r.name for r in project.coding_rounds.all()}
    rows = []
    for r in AgreementReport.objects.filter(project=project).order_by("created_at", "pk"):
        parameters, results = translate_report(r.kind, r.parameters, r.results, t)
        disagreements = [
            (
                t.fieldnote(d.fieldnote_id),
                t.code(d.code_id),
                d.kind,
                t.excerpt(d.first_excerpt_id),
                d.first_start,
                d.first_end,
                t.excerpt(d.second_excerpt_id),
                d.second_start,
                d.second_end,
                d.resolution,
                d.resolved_by.username if d.resolved_by else None,
                t.excerpt(d.consensus_excerpt_id),
                [(c.author.username, c.text, c.created_at) for c in d.comments.all()],
            )
            for d in r.disagreements.order_by("fieldnote__guid", "first_start", "code__guid", "pk")
        ]
        rows.append(
            (
                r.kind,
                r.status,
                r.codebook_version.number,
                r.created_by.username,
                r.created_at,
                r.finished_at,
                r.timings,
                parameters,
                results,
                disagreements,
            )
        )
    return rows


@pytest.fixture
def restored(study):
    data = _export(study["project"])
    return import_backup(data, source_name="demo.qdpx")


def test_round_trip_fieldnotes_meetings_and_codes(study, restored):
    old = study["project"]
    assert restored.pk != old.pk
    assert restored.name == "Learning Together"
    assert _fieldnotes(restored) == _fieldnotes(old)
    assert len(_fieldnotes(restored)) == 7
    assert _meetings(restored) == _meetings(old)
    assert len(next(iter(_meetings(restored).values()))[5]) == 6
    assert _codes(restored) == _codes(old)
    assert restored.codebook.changes.count() == old.codebook.changes.count() == 9
    history = lambda p: [  # noqa: E731
        (c.action, c.summary, c.user.username, c.at, c.before)
        for c in CodeChange.objects.filter(codebook__project=p).order_by("at", "pk")
    ]
    assert history(restored) == history(old)
    recoded = restored.codebook.changes.get(action="recoded")
    assert recoded.after == {
        "excerpts": [
            Excerpt.objects.get(fieldnote__meeting__project=restored, guid=study["recoded"].guid).pk
        ],
        "kept_parent": True,
    }


def test_round_trip_excerpts_and_audit_trail(study, restored):
    old = study["project"]
    assert _excerpts(restored) == _excerpts(old)
    assert len(_excerpts(restored)) == 144
    edited = _excerpts(restored)[str(study["edited"].guid)]
    assert (edited[3], edited[5], edited[6], edited[9]) == ("amira", "Rethought", True, 2)
    assert _events(restored) == _events(old)
    assert len(_events(restored)) == 147
    # The deleted excerpt's history is kept under a key no excerpt uses, and can be undone.
    deleted = ExcerptEvent.objects.get(fieldnote__meeting__project=restored, action="deleted")
    assert deleted.excerpt_key != study["deleted_key"]
    assert not Excerpt.objects.filter(pk=deleted.excerpt_key).exists()
    back = undo(event=deleted, user=study["people"]["priya"])
    assert back.pk == deleted.excerpt_key
    assert back.fieldnote.meeting.project_id == restored.pk


def test_round_trip_rounds_reports_and_disagreements(study, restored):
    old = study["project"]
    assert _rounds(restored) == _rounds(old)
    (pilot,) = _rounds(restored)
    assert (pilot[1], len(pilot[7])) == ("revealed", 4)
    assert all(done is not None for _, _, done in pilot[7])
    assert _reports(restored) == _reports(old)
    coders_report = restored.agreement_reports.get(kind="coders")
    new_round = restored.coding_rounds.get()
    assert coders_report.coding_round == new_round
    assert coders_report.parameters["round"] == new_round.pk
    new_v1 = Fieldnote.objects.get(meeting__project=restored, guid=study["chloe_v1"].guid)
    assert coders_report.parameters["fieldnotes"][0] == new_v1.pk
    settled = Disagreement.objects.filter(report=coders_report).exclude(resolution="")
    assert settled.count() == 3
    comments = [c.text for d in settled for c in d.comments.all()]
    assert len(comments) == 2
    # The snapshots name the new codes, so the codebook is seen as unchanged since version 2.
    version = codebook_services.version_for_report(codebook=restored.codebook)
    assert version.number == 2
    assert restored.codebook.versions.count() == 2


def test_round_trip_people_and_lay_links(study, restored):
    old = study["project"]
    members = lambda p: sorted(  # noqa: E731
        (m.user.username, m.role, m.is_consensus, m.is_placeholder)
        for m in p.memberships.select_related("user")
    )
    assert members(restored) == members(old)
    assert User.objects.count() == 8
    (link,) = LayInvitation.objects.filter(meeting__project=restored)
    original = LayInvitation.objects.get(meeting__project=old)
    assert link.state == "revoked"
    assert link.token_hash != original.token_hash
    assert (link.label, link.expires_at, link.created_at) == (
        original.label,
        original.expires_at,
        original.created_at,
    )
    assert link.draft.answers == {"What happened?": "Talk."}
    memo = restored.memos.get()
    assert (memo.title, memo.text, memo.author.username) == ("Themes", "Consent.", "priya")


# The commands


def test_commands_round_trip_print_counts(study, tmp_path):
    path = tmp_path / "demo.qdpx"
    out = io.StringIO()
    call_command("export_project", str(study["project"].pk), str(path), stdout=out)
    printed = out.getvalue()
    assert f"Wrote project {study['project'].pk} “Learning Together” to {path}." in printed
    assert "  excerpts: 144\n" in printed
    assert "  older fieldnote versions: 1\n" in printed
    assert "  reports: 2\n" in printed
    assert "keep it as safely as the database itself" in printed
    with zipfile.ZipFile(path) as archive:
        assert BACKUP_ENTRY in archive.namelist()
        assert "project.qde" in archive.namelist()
    out = io.StringIO()
    call_command("import_project", str(path), "--as", "priya", stdout=out)
    new = Project.objects.order_by("-pk").first()
    printed = out.getvalue()
    assert f"Imported demo.qdpx as project {new.pk} “Learning Together”." in printed
    assert "  excerpts: 144\n" in printed
    assert "  excerpt events: 147\n" in printed
    assert "  rounds: 1\n" in printed
    assert "  lay invitations: 1\n" in printed
    assert "  accounts created: 0\n" in printed
    record = ImportRecord.objects.get(project=new)
    assert record.created_by.username == "priya"


def _rewrite(data: bytes, entry: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == entry else source.read(info))
    return out.getvalue()


def _counts():
    return (
        Project.objects.count(),
        User.objects.count(),
        Excerpt.objects.count(),
        ExcerptEvent.objects.count(),
        ImportRecord.objects.count(),
        LayInvitation.objects.count(),
    )


def test_import_project_refuses_unreadable_extras(study, tmp_path):
    path = tmp_path / "broken.qdpx"
    path.write_bytes(_rewrite(_export(study["project"]), BACKUP_ENTRY, b'{"format": 1, "acc'))
    before = _counts()
    with pytest.raises(CommandError) as error:
        call_command("import_project", str(path), stdout=io.StringIO())
    assert str(error.value).startswith(
        "broken.qdpx could not be imported: The backup's triangulate/backup.json is damaged: "
        "it is not readable JSON"
    )
    assert _counts() == before


def test_import_project_leaves_nothing_when_extras_fail_half_way(study, tmp_path):
    data = _export(study["project"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        extras = json.loads(archive.read(BACKUP_ENTRY))
    extras["reports"][0]["disagreements"][0]["code"] = "00000000-0000-4000-8000-000000000000"
    extras["accounts"].append(
        {**extras["accounts"][0], "guid": str(uuid.uuid4()), "username": "newcomer"}
    )
    path = tmp_path / "tampered.qdpx"
    path.write_bytes(_rewrite(data, BACKUP_ENTRY, json.dumps(extras).encode()))
    before = _counts()
    with pytest.raises(CommandError) as error:
        call_command("import_project", str(path), stdout=io.StringIO())
    assert str(error.value) == (
        "tampered.qdpx could not be imported: The backup names the code "
        "00000000-0000-4000-8000-000000000000, which is neither in its project file nor in its "
        "triangulate/backup.json: the backup is damaged."
    )
    assert _counts() == before
    assert not User.objects.filter(username="newcomer").exists()


def test_import_project_explains_missing_file_and_project(db, tmp_path):
    with pytest.raises(CommandError, match="There is no file"):
        call_command("import_project", str(tmp_path / "nothing.qdpx"))
    with pytest.raises(CommandError, match=r"There is no project with id 999\."):
        call_command("export_project", "999", str(tmp_path / "out.qdpx"))
    path = tmp_path / "not-a-zip.qdpx"
    path.write_bytes(b"hello")
    with pytest.raises(CommandError) as error:
        call_command("import_project", str(path))
    assert str(error.value) == (
        "not-a-zip.qdpx could not be imported: This file is not a .qdpx archive (not a zip file)."
    )


def test_import_project_takes_a_plain_qdpx_with_a_note(study, tmp_path):
    from exchange.project_export import build_qde
    from exchange.qdpx import write_qdpx

    path = tmp_path / "plain.qdpx"
    with path.open("wb") as out:
        write_qdpx(build_qde(study["project"]), out)
    with pytest.raises(CommandError, match="not a Triangulate backup"):
        call_command("import_project", str(path), stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_project", str(path), "--as", "priya", stdout=out)
    assert "imported as a plain REFI-QDA project" in out.getvalue()
    new = Project.objects.order_by("-pk").first()
    assert new.coding_rounds.count() == 0
    assert Fieldnote.objects.in_project(new).count() == 6


def test_export_backup_reports_progress(study):
    seen = []
    export_backup(study["project"], io.BytesIO(), progress=seen.append)
    assert seen[-1] == pytest.approx(1.0)
    assert seen == sorted(seen)
