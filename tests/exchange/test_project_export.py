import io
import uuid
from datetime import datetime

import pytest
from django.conf import settings

from coding.models import Code, Excerpt, ExcerptCode, ProjectMemo
from coding.services import create_excerpt
from exchange.project_export import (
    KIND,
    MEETING_ENDS,
    MEETING_PLACE,
    MEETING_STARTS,
    build_qde,
    memo_note_guid,
    selection_flags,
    selection_name,
    variable_guid,
)
from exchange.project_import import import_qde
from exchange.qdpx import read_qdpx, write_qdpx
from fieldnotes.models import Fieldnote, SourceFormat
from fieldnotes.services import create_version
from projects.demo import load_demo_study
from projects.models import Membership
from tests.factories import (
    LONDON,
    CodeFactory,
    ExcerptFactory,
    FieldnoteFactory,
    ObserverFactory,
    UserFactory,
)

SAMPLES = settings.BASE_DIR.parent / "shared" / "refi-qda" / "samples"


@pytest.fixture
def demo(db):
    return load_demo_study()


def walk(codes, parent=None):
    for code in codes:
        yield code, parent
        yield from walk(code.children, code.guid)


def test_export_query_count_is_constant(project, excerpt, django_assert_num_queries):
    with django_assert_num_queries(8):
        qde = build_qde(project)
    assert [len(source.selections) for source in qde.sources] == [1]

    code = CodeFactory(codebook=project.codebook, name="Voice")
    for index in range(4):
        fieldnote = FieldnoteFactory(meeting=excerpt.fieldnote.meeting, title=f"More {index}")
        extra = ExcerptFactory(fieldnote=fieldnote, coder=excerpt.coder, start=0, end=5, memo="m")
        extra.excerpt_codes.create(code=code)
    ProjectMemo.objects.create(project=project, title="Overall", text="A memo.")
    with django_assert_num_queries(8):
        qde = build_qde(project)
    assert [len(source.selections) for source in qde.sources] == [1, 1, 1, 1, 1]
    assert len(qde.notes) == 5


def test_export_demo_keeps_every_stored_guid(demo):
    # A revision: only the latest version is exported, with the excerpts carried to it.
    chloe = Fieldnote.objects.get(meeting__project=demo, source_name="chloe.txt")
    revised = create_version(
        fieldnote=chloe,
        text=chloe.text + "\n\nAdded later.",
        source_name="chloe-2.txt",
        source_format=SourceFormat.TEXT,
    )
    qde = build_qde(demo)

    latest = Fieldnote.objects.in_project(demo).latest_versions()
    assert {(s.guid, s.text) for s in qde.sources} == {(str(f.guid), f.text) for f in latest}
    assert str(revised.guid) in {s.guid for s in qde.sources}
    assert str(chloe.guid) not in {s.guid for s in qde.sources}

    excerpts = Excerpt.objects.filter(fieldnote__meeting__project=demo)
    selections = [sel for source in qde.sources for sel in source.selections]
    assert sorted(sel.guid for sel in selections) == sorted(str(e.guid) for e in excerpts)
    assert len(selections) == excerpts.count() > 100
    codings = [coding for sel in selections for coding in sel.codings]
    stored = ExcerptCode.objects.filter(excerpt__fieldnote__meeting__project=demo)
    assert sorted(c.guid for c in codings) == sorted(str(row.guid) for row in stored)
    assert sorted((code.guid, parent) for code, parent in walk(qde.codes)) == sorted(
        (str(code.guid), str(code.parent.guid) if code.parent_id else None)
        for code in Code.objects.filter(codebook__project=demo).select_related("parent")
    )

    users = {user.guid: user.name for user in qde.users}
    members = Membership.objects.filter(project=demo).select_related("user__exchange_guid")
    for membership in members:
        assert str(membership.user.exchange_guid.guid) in users
    consensus = members.get(is_consensus=True).user
    assert users[str(consensus.exchange_guid.guid)] == (
        consensus.get_full_name() or consensus.username
    )
    assert users[str(members.get(user__username="amira").user.exchange_guid.guid)] == (
        "Amira Haddad"
    )
    assert qde.origin == "Triangulate 0.1.0"
    assert qde.name == "Learning Together"


def test_export_selection_details(demo):
    excerpt = (
        Excerpt.objects.filter(fieldnote__meeting__project=demo)
        .exclude(memo="")
        .select_related("coder__exchange_guid", "fieldnote")
        .order_by("pk")
        .first()
    )
    Excerpt.objects.filter(pk=excerpt.pk).update(
        unsure=True, needs_review=True, review_reason="Text changed in version 2"
    )
    qde = build_qde(demo)
    source = next(s for s in qde.sources if s.guid == str(excerpt.fieldnote.guid))
    selection = next(s for s in source.selections if s.guid == str(excerpt.guid))
    coder = str(excerpt.coder.exchange_guid.guid)
    assert (selection.start, selection.end) == (excerpt.start, excerpt.end)
    assert selection.name == "unsure | needs review: Text changed in version 2"
    assert selection.creating_user == coder
    assert {coding.creating_user for coding in selection.codings} == {coder}
    assert sorted(coding.code_guid for coding in selection.codings) == sorted(
        str(code.guid) for code in excerpt.codes.all()
    )
    note_guid = str(uuid.uuid5(excerpt.guid, "memo"))
    assert selection.note_refs == [note_guid] == [memo_note_guid(excerpt.guid)]
    note = next(note for note in qde.notes if note.guid == note_guid)
    assert note.text == excerpt.memo
    assert note.name.startswith("Memo on “")


def test_export_cases_for_meetings_and_observers(demo):
    qde = build_qde(demo)
    assert [v.name for v in qde.variables] == [KIND, MEETING_STARTS, MEETING_ENDS, MEETING_PLACE]
    assert variable_guid(KIND) == str(
        uuid.uuid5(uuid.UUID("4f1b6c52-9a3e-4d7e-8f0b-6b2a1c9d3e57"), KIND)
    )
    meeting = demo.meetings.get()
    case = next(case for case in qde.cases if case.guid == str(meeting.guid))
    values = {value.variable_guid: value.value for value in case.variable_values}
    assert values == {
        variable_guid(KIND): "meeting",
        variable_guid(MEETING_STARTS): datetime(2026, 3, 10, 9, 30, tzinfo=LONDON),
        variable_guid(MEETING_ENDS): datetime(2026, 3, 11, 12, 30, tzinfo=LONDON),
        variable_guid(MEETING_PLACE): "Millbrook Conference Centre",
    }
    assert case.name == "Learning Community Event 3"
    assert len(case.source_refs) == 6
    observers = [case for case in qde.cases if case.guid != str(meeting.guid)]
    assert sorted((case.name, len(case.source_refs)) for case in observers) == [
        ("Amira Haddad", 1),
        ("Ben Carter", 1),
        ("Chloe Nkemelu", 1),
        ("Margaret Hughes", 1),
        ("Sam Whitfield", 1),
        ("Tony Reilly", 1),
    ]


def test_selection_name_round_trip():
    name = selection_name(unsure=True, needs_review=True, review_reason="moved")
    assert name == "unsure | needs review: moved"
    assert selection_flags(name) == {"unsure": True, "needs_review": True, "review_reason": "moved"}
    assert selection_flags("line:6") == {
        "unsure": False,
        "needs_review": False,
        "review_reason": "",
    }
    assert selection_name(unsure=False, needs_review=False) == ""


def test_export_includes_coders_who_are_not_members(project, fieldnote, code):
    former = UserFactory(username="gone", first_name="Gwen", last_name="Old")
    create_excerpt(fieldnote=fieldnote, coder=former, start=0, end=5, codes=[code])
    qde = build_qde(project)
    assert {user.name for user in qde.users} >= {"Gwen Old"}


# Through files ------------------------------------------------------------------------------


def summary(qde):
    users = {user.guid: user.name for user in qde.users}
    return {
        "sources": sorted((s.guid, s.name, s.text) for s in qde.sources),
        "codes": sorted((c.guid, c.name, parent) for c, parent in walk(qde.codes)),
        "codings": sorted(
            (s.guid, sel.start, sel.end, coding.code_guid, users[coding.creating_user])
            for s in qde.sources
            for sel in s.selections
            for coding in sel.codings
        ),
        "cases": sorted(
            (case.guid, case.name, sorted(case.source_refs), len(case.variable_values))
            for case in qde.cases
        ),
    }


def through_file(qde):
    out = io.BytesIO()
    write_qdpx(qde, out)
    return read_qdpx(out.getvalue())


def test_round_trip_export_import_export_of_the_demo(demo):
    first = build_qde(demo)
    priya = Membership.objects.get(project=demo, user__username="priya").user
    record = import_qde(through_file(first), user=priya, source_name="learning.qdpx")
    assert record.offset_scheme == "codepoints"
    assert record.report["skipped"] == []
    second = build_qde(record.project)
    assert summary(second) == summary(first)
    assert (
        len(summary(first)["codings"])
        == ExcerptCode.objects.filter(excerpt__fieldnote__meeting__project=demo).count()
    )
    # The coders came back as placeholders (their accounts hold their GUIDs on this server).
    placeholders = Membership.objects.filter(project=record.project, is_placeholder=True)
    assert sorted(m.user.first_name for m in placeholders) == [
        "Amira Haddad",
        "Ben Carter",
        "Chloe Nkemelu",
        "Consensus",
    ]
    old = Excerpt.objects.filter(fieldnote__meeting__project=demo)
    new = Excerpt.objects.filter(fieldnote__meeting__project=record.project)
    fields = ("guid", "start", "end", "memo", "unsure", "needs_review")
    assert sorted(old.values_list(*fields)) == sorted(new.values_list(*fields))
    meeting = record.project.meetings.get()
    assert (meeting.guid, meeting.place, meeting.starts_at) == (
        demo.meetings.get().guid,
        "Millbrook Conference Centre",
        datetime(2026, 3, 10, 9, 30, tzinfo=LONDON),
    )


needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="REFI-QDA samples not present")


@needs_samples
def test_qualcoder_sample_imports_cleanly(db):
    importer = UserFactory(username="imp")
    qde = read_qdpx((SAMPLES / "qc-demo-158-selections.qdpx").read_bytes())
    record = import_qde(qde, user=importer, source_name="qc-demo-158-selections.qdpx")
    counts = record.report["counts"]
    assert (counts["fieldnotes"], counts["excerpts"], counts["codings"], counts["codes"]) == (
        2,
        158,
        205,
        262,
    )
    assert counts["placeholder coders"] == 1
    assert record.report["skipped"] == []
    assert record.offset_scheme == "codepoints"
    placeholder = Membership.objects.get(project=record.project, is_placeholder=True).user
    assert placeholder.first_name == "cp"
    excerpt = Excerpt.objects.get(
        fieldnote__meeting__project=record.project,
        guid="37323865-3734-6533-3337-623138653238",
    )
    assert (excerpt.fieldnote.title, excerpt.start, excerpt.end, excerpt.coder) == (
        "board_2017",
        320,
        400,
        placeholder,
    )
    assert excerpt.fieldnote.text[excerpt.start : excerpt.end] == (
        "This district goal is engage every student in joyful, purposeful learning that \n"
    )
    assert [code.name for code in excerpt.codes.all()] == ["fun"]


@needs_samples
def test_atlas_sample_imports_its_nested_codes(db):
    importer = UserFactory(username="imp")
    qde = read_qdpx((SAMPLES / "atlasti-nested-codes.qdpx").read_bytes())
    record = import_qde(qde, user=importer, source_name="atlasti-nested-codes.qdpx")
    assert record.report["counts"]["codes"] == 3
    assert record.report["counts"]["placeholder coders"] == 0
    assert record.offset_scheme == "crlf1"
    codes = Code.objects.filter(codebook__project=record.project).select_related("parent")
    assert sorted((c.path, str(c.guid)) for c in codes) == [
        ("Commits", "a182cd3a-d83c-4d8c-bc80-26d9103ec6d6"),
        ("Commits/2022-02-11T10:39:25Z cdbfd92", "086ac733-7b1c-4749-a138-d7182f63a5c9"),
        ("Commits/2022-05-10T02:05:59Z 19e4dce", "2d2466f0-d77f-4f8c-bdf9-628966b6b74d"),
    ]


@needs_samples
def test_qualcoder_sample_round_trips_through_triangulate(db):
    importer = UserFactory(username="imp")
    qde = read_qdpx((SAMPLES / "qc-demo-158-selections.qdpx").read_bytes())
    record = import_qde(qde, user=importer, source_name="qc.qdpx")
    first = build_qde(record.project)
    again = import_qde(through_file(first), user=importer, source_name="again.qdpx")
    assert summary(build_qde(again.project)) == summary(first)


def test_export_never_mints_guids(project, excerpt):
    first, second = build_qde(project), build_qde(project)
    assert summary(first) == summary(second)
    assert first.sources[0].selections[0].guid == str(excerpt.guid)
    observer = ObserverFactory(project=project, name="No notes yet")
    cases = {case.guid: case for case in build_qde(project).cases}
    assert cases[str(observer.guid)].source_refs == []


@pytest.mark.skipif(
    not (SAMPLES.parent / "Project.xsd").is_file(), reason="REFI-QDA schema not present"
)
def test_demo_export_is_schema_valid(demo):
    from coding.qdc import validate
    from exchange.qdpx import project_xml

    assert validate(project_xml(build_qde(demo)), SAMPLES.parent / "Project.xsd") == []
