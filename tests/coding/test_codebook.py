"""Codebook workflows: editing with history, moving, archiving, merging, splitting, versions,
starters and CSV exchange."""

import pytest
from django.core.exceptions import ValidationError

from coding import codebook as books
from coding.models import Code, CodeChange, Excerpt, ExcerptCode
from tests.factories import CodeFactory, ProjectFactory


@pytest.fixture
def book(project):
    return project.codebook


@pytest.fixture
def pi(users):
    return users["pi"]


def _tree(book, archived=False):
    return [(c.name, c.depth) for c in book.tree(include_archived=archived)]


def test_add_code_records_history_and_takes_a_palette_colour(book, pi):
    code = books.add_code(codebook=book, user=pi, name="  Protest ")
    assert (code.name, code.colour, code.position) == ("Protest", books.PALETTE[0], 0)
    change = CodeChange.objects.get()
    assert (change.action, change.summary, change.user) == ("created", "Added 'Protest'", pi)
    assert change.after["name"] == "Protest"


def test_add_code_refuses_duplicate_names_and_shortcuts(book, pi):
    books.add_code(codebook=book, user=pi, name="Protest", shortcut="4")
    with pytest.raises(ValidationError) as error:
        books.add_code(codebook=book, user=pi, name="protest")
    assert error.value.message_dict == {
        "name": ["There is already a code called 'protest' at the top level."]
    }
    with pytest.raises(ValidationError) as error:
        books.add_code(codebook=book, user=pi, name="Resolution", shortcut="4")
    assert error.value.message_dict == {
        "shortcut": ["The shortcut 4 already belongs to 'Protest'."]
    }


def test_update_code_records_before_and_after_of_changed_fields_only(book, pi):
    code = books.add_code(codebook=book, user=pi, name="Protest", definition="Open objection.")
    books.update_code(
        code=code, user=pi, name="Protest", definition="Open objection to how things are done."
    )
    change = CodeChange.objects.filter(action="updated").get()
    assert change.summary == "Edited 'Protest': definition"
    assert change.before == {"definition": "Open objection."}
    assert change.after == {"definition": "Open objection to how things are done."}
    books.update_code(code=code, user=pi, name="Protest")
    assert CodeChange.objects.filter(action="updated").count() == 1


def test_move_and_reorder(book, pi):
    folder = books.add_code(codebook=book, user=pi, name="Groups", is_codable=False)
    lay = books.add_code(codebook=book, user=pi, name="Lay panel")
    staff = books.add_code(codebook=book, user=pi, name="Frontline staff")
    books.move_code(code=lay, user=pi, parent=folder)
    books.move_code(code=staff, user=pi, parent=folder, position=0)
    assert _tree(book) == [("Groups", 0), ("Frontline staff", 1), ("Lay panel", 1)]
    books.move_by(code=Code.objects.get(pk=lay.pk), user=pi, step=-1)
    assert _tree(book) == [("Groups", 0), ("Lay panel", 1), ("Frontline staff", 1)]
    with pytest.raises(ValidationError) as error:
        books.move_code(code=folder, user=pi, parent=Code.objects.get(pk=lay.pk))
    assert error.value.message_dict == {
        "parent": ["A code cannot sit inside itself or its own child codes."]
    }
    moved = CodeChange.objects.filter(action="moved").first()
    assert moved.summary == "Moved 'Lay panel' under 'Groups', position 1"


def test_archive_hides_from_the_tree_and_frees_the_shortcut(book, pi):
    old = books.add_code(codebook=book, user=pi, name="Old", shortcut="1")
    books.set_archived(code=old, user=pi, archived=True)
    assert _tree(book) == []
    assert _tree(book, archived=True) == [("Old", 0)]
    books.add_code(codebook=book, user=pi, name="New", shortcut="1")
    with pytest.raises(ValidationError, match="already belongs to 'New'"):
        books.set_archived(code=old, user=pi, archived=False)


@pytest.fixture
def merge_case(book, pi, fieldnote, users):
    source = books.add_code(codebook=book, user=pi, name="Complaint")
    target = books.add_code(codebook=book, user=pi, name="Protest")
    child = books.add_code(codebook=book, user=pi, name="Loud complaint", parent=source)
    excerpts = [
        Excerpt.objects.create(fieldnote=fieldnote, coder=users["coder"], start=i, end=i + 3)
        for i in range(4)
    ]
    for excerpt in excerpts[:3]:
        ExcerptCode.objects.create(excerpt=excerpt, code=source)
    ExcerptCode.objects.create(excerpt=excerpts[2], code=target)
    ExcerptCode.objects.create(excerpt=excerpts[3], code=target)
    return source, target, child, excerpts


def test_merge_preview_counts_moves_and_doubles(merge_case):
    source, target, _, _ = merge_case
    assert books.merge_preview(source, target) == books.MergePreview(moves=2, both=1, children=1)


def test_merge_moves_excerpts_without_duplicates_and_keeps_the_source_archived(
    merge_case, pi, book
):
    source, target, child, excerpts = merge_case
    books.merge_codes(source=source, target=target, user=pi)
    assert sorted(ExcerptCode.objects.filter(code=target).values_list("excerpt_id", flat=True)) == [
        e.pk for e in excerpts
    ]
    assert not ExcerptCode.objects.filter(code=source).exists()
    source.refresh_from_db()
    child.refresh_from_db()
    assert (source.archived, source.merged_into_id, child.parent_id) == (True, target.pk, target.pk)
    change = CodeChange.objects.get(action="merged")
    assert (
        change.summary
        == "Merged 'Complaint' into 'Protest': moved 2 excerpts; 1 already carried both"
    )


def test_merge_into_own_child_or_itself_is_refused(merge_case, pi):
    source, _, child, _ = merge_case
    with pytest.raises(ValidationError, match="cannot absorb its own parent"):
        books.merge_codes(source=source, target=child, user=pi)
    with pytest.raises(ValidationError, match="different code"):
        books.merge_codes(source=source, target=source, user=pi)
    assert ExcerptCode.objects.filter(code=source).count() == 3


def test_merge_is_one_transaction(merge_case, pi, monkeypatch):
    source, target, _, _ = merge_case

    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(books, "_record", fail)
    with pytest.raises(RuntimeError):
        books.merge_codes(source=source, target=target, user=pi)
    assert ExcerptCode.objects.filter(code=source).count() == 3
    source.refresh_from_db()
    assert source.archived is False


def test_split_then_recode(merge_case, pi):
    source, _, _, excerpts = merge_case
    mild, sharp = books.split_code(
        code=source, user=pi, names=["Mild complaint", "Sharp complaint", ""]
    )
    assert [c.parent_id for c in (mild, sharp)] == [source.pk, source.pk]
    count = books.recode_excerpts(
        code=source,
        user=pi,
        assignments={excerpts[0].pk: [mild], excerpts[1].pk: [sharp, mild]},
        keep_parent=False,
    )
    assert count == 2
    assert set(ExcerptCode.objects.filter(code=source).values_list("excerpt_id", flat=True)) == {
        excerpts[2].pk
    }
    assert sorted(
        ExcerptCode.objects.filter(excerpt=excerpts[1]).values_list("code__name", flat=True)
    ) == [
        "Mild complaint",
        "Sharp complaint",
    ]
    with pytest.raises(ValidationError, match="at least two names"):
        books.split_code(code=source, user=pi, names=["Only one"])


def test_recode_refuses_foreign_codes(merge_case, pi):
    source, target, _, excerpts = merge_case
    books.split_code(code=source, user=pi, names=["A", "B"])
    with pytest.raises(ValidationError, match="own child codes"):
        books.recode_excerpts(
            code=source, user=pi, assignments={excerpts[0].pk: [target]}, keep_parent=True
        )


def test_versions_snapshot_the_tree_and_reports_reuse_an_unchanged_one(book, pi):
    books.add_code(codebook=book, user=pi, name="Protest")
    v1 = books.label_version(codebook=book, user=pi, label="v1 before pilot")
    assert (v1.number, v1.label, [c["name"] for c in v1.snapshot]) == (
        1,
        "v1 before pilot",
        ["Protest"],
    )
    assert books.version_for_report(codebook=book) == v1
    code = Code.objects.get(name="Protest")
    books.update_code(code=code, user=pi, name="Open protest")
    auto = books.version_for_report(codebook=book)
    assert (auto.number, auto.label) == (2, "Automatic, for a report (v2)")
    v1.refresh_from_db()
    assert v1.snapshot[0]["name"] == "Protest"


def test_starter_template_and_idempotent_reimport(book, pi):
    plan = books.apply_starter(codebook=book, name="what-meetings-do", user=pi)
    assert len(plan.new) == 14
    assert _tree(book)[:3] == [
        ("What the meeting does", 0),
        ("Sense-making", 1),
        ("Social validation", 1),
    ]
    again = books.apply_starter(codebook=book, name="what-meetings-do", user=pi)
    assert (len(again.new), len(again.existing)) == (0, 14)
    assert book.codes.count() == 14
    assert books.apply_starter(codebook=ProjectFactory().codebook, name="empty", user=pi).new == []


def test_csv_round_trip_keeps_tree_fields_and_guids(book, pi):
    books.apply_starter(codebook=book, name="what-meetings-do", user=pi)
    exported = books.export_csv(book)
    header, first = exported.splitlines()[:2]
    assert header == "path,name,definition,inclusion,exclusion,example,colour,guid"
    assert first.startswith("What the meeting does,What the meeting does,")
    other = ProjectFactory().codebook
    codes, warnings = books.read_csv(exported.encode())
    assert warnings == []
    books.apply_import(codebook=other, codes=codes, user=pi, source="codebook.csv")
    assert books.export_csv(other) == exported


def test_csv_with_missing_columns_or_bad_rows(book):
    with pytest.raises(ValidationError, match="it lacks path"):
        books.read_csv(b"name,colour\nProtest,#ff0000\n")
    codes, warnings = books.read_csv(
        b'path,name,colour\nA,A,"rgb(255, 0, 0)"\nA/B,B,blue-ish\nZ/C,C,\n,,\n'
    )
    assert [(c.name, c.colour, [k.name for k in c.children]) for c in codes] == [
        ("A", "#ff0000", ["B"]),
        ("C", None, []),
    ]
    assert warnings == [
        "Line 3: the colour 'blue-ish' of 'B' was not readable; left out.",
        "Line 4: the parent 'Z' of 'C' comes later or not at all; placed at the top.",
        "Line 5: a row without a name was skipped.",
    ]


def test_import_adds_new_codes_under_existing_parents(book, pi):
    folder = CodeFactory(codebook=book, name="Groups")
    codes = [
        books.ImportedCode(
            guid=None, name="Groups", children=[books.ImportedCode(guid=None, name="Lay panel")]
        )
    ]
    plan = books.plan_import(codebook=book, codes=codes)
    assert ([p for p, _ in plan.new], plan.existing) == (["Groups/Lay panel"], ["Groups"])
    books.apply_import(codebook=book, codes=codes, user=pi, source="x.qdc")
    assert Code.objects.get(name="Lay panel").parent == folder
