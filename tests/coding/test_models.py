import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from coding.models import Excerpt, ExcerptCode
from tests.factories import CodeFactory, ExcerptFactory, ProjectFactory, UserFactory


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 3), (3, 3), (5, 2), (0, 10_000)],
    ids=["negative start", "empty", "reversed", "past the end"],
)
def test_excerpt_span_outside_the_text_is_refused(fieldnote, users, start, end):
    with pytest.raises(ValidationError) as error:
        Excerpt.objects.create(fieldnote=fieldnote, coder=users["coder"], start=start, end=end)
    assert f"0 <= start < end <= {len(fieldnote.text)}" in error.value.messages[0]
    assert Excerpt.objects.count() == 0


def test_excerpt_may_span_the_whole_text(fieldnote, users):
    excerpt = Excerpt.objects.create(
        fieldnote=fieldnote, coder=users["coder"], start=0, end=len(fieldnote.text)
    )
    assert excerpt.text == fieldnote.text


def test_excerpt_text_counts_code_points_not_utf16_units(fieldnote, users):
    fieldnote.text = "Tea ☕ and 🙂 then cafe\u0301."
    fieldnote.save()
    # Stored as NFC: "e" + combining acute becomes one code point.
    assert fieldnote.text == "Tea ☕ and 🙂 then café."
    excerpt = Excerpt.objects.create(fieldnote=fieldnote, coder=users["coder"], start=10, end=21)
    assert excerpt.text == "🙂 then café"


def test_database_refuses_an_empty_span_even_without_save(fieldnote, users):
    with pytest.raises(IntegrityError), transaction.atomic():
        Excerpt.objects.bulk_create(
            [Excerpt(fieldnote=fieldnote, coder=users["coder"], start=4, end=4)]
        )


def test_code_from_another_project_is_refused(excerpt):
    foreign = CodeFactory(codebook=ProjectFactory().codebook, name="Elsewhere")
    with pytest.raises(ValidationError) as error:
        ExcerptCode.objects.create(excerpt=excerpt, code=foreign)
    assert error.value.messages == ["The code 'Elsewhere' belongs to another project's codebook."]


def test_code_once_per_excerpt(excerpt, code):
    with pytest.raises(IntegrityError), transaction.atomic():
        ExcerptCode.objects.create(excerpt=excerpt, code=code)
    assert list(excerpt.codes.values_list("name", flat=True)) == ["Protest"]


def test_check_invariants_refuses_duplicate_and_foreign_codes(excerpt, code):
    with pytest.raises(ValidationError, match="only once"):
        excerpt.check_invariants(codes=[code, code])
    foreign = CodeFactory(codebook=ProjectFactory().codebook)
    with pytest.raises(ValidationError, match="another project"):
        excerpt.check_invariants(codes=[code, foreign])


def test_codebook_tree_is_depth_first_by_position(project):
    book = project.codebook
    group = CodeFactory(codebook=book, name="Groups", position=1)
    meeting = CodeFactory(codebook=book, name="What meetings do", position=0)
    CodeFactory(codebook=book, name="Lay panel", parent=group, position=1)
    CodeFactory(codebook=book, name="Researchers", parent=group, position=0)
    CodeFactory(codebook=book, name="Protest", parent=meeting)
    CodeFactory(codebook=book, name="Old", archived=True)
    assert [(code.name, code.depth) for code in book.tree()] == [
        ("What meetings do", 0),
        ("Protest", 1),
        ("Groups", 0),
        ("Researchers", 1),
        ("Lay panel", 1),
    ]
    assert "Old" in [code.name for code in book.tree(include_archived=True)]


def test_code_cannot_sit_inside_itself(project):
    parent = CodeFactory(codebook=project.codebook, name="Parent")
    child = CodeFactory(codebook=project.codebook, name="Child", parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError) as error:
        parent.full_clean()
    assert error.value.message_dict == {"parent": ["A code cannot sit inside itself."]}


def test_code_parent_from_another_codebook_is_refused(project):
    foreign = CodeFactory(codebook=ProjectFactory().codebook)
    code = CodeFactory.build(codebook=project.codebook, parent=foreign, name="X")
    with pytest.raises(ValidationError) as error:
        code.full_clean()
    assert error.value.message_dict == {"parent": ["The parent code belongs to another codebook."]}


def test_code_path_and_stable_guid(project):
    parent = CodeFactory(codebook=project.codebook, name="Terms")
    child = CodeFactory(codebook=project.codebook, name="Contesting", parent=parent)
    guid = child.guid
    child.name = "Contesting terms"
    child.save()
    child.refresh_from_db()
    assert child.path == "Terms/Contesting terms"
    assert child.guid == guid


def test_code_colour_must_be_lowercase_hex(project):
    code = CodeFactory.build(codebook=project.codebook, name="X", colour="#ABCDEF")
    with pytest.raises(ValidationError) as error:
        code.full_clean()
    assert list(error.value.message_dict) == ["colour"]


def test_shortcut_unique_within_codebook(project):
    CodeFactory(codebook=project.codebook, shortcut="1")
    CodeFactory(codebook=project.codebook, shortcut="")
    CodeFactory(codebook=project.codebook, shortcut="")
    with pytest.raises(IntegrityError), transaction.atomic():
        CodeFactory(codebook=project.codebook, shortcut="1")


def test_excerpt_coder_is_protected(fieldnote):
    coder = UserFactory()
    ExcerptFactory(fieldnote=fieldnote, coder=coder)
    with pytest.raises(IntegrityError), transaction.atomic():
        coder.delete()


def test_blind_round_hides_other_coders_excerpts_until_revealed(project, users, fieldnote):
    from coding.models import CodingRound
    from projects.access import get_project_for

    mine = ExcerptFactory(fieldnote=fieldnote, coder=users["coder"], start=0, end=5)
    theirs = ExcerptFactory(fieldnote=fieldnote, coder=users["observer"], start=6, end=9)
    as_coder = get_project_for(users["coder"], project.pk)
    as_pi = get_project_for(users["pi"], project.pk)
    assert set(Excerpt.objects.visible_to(users["coder"], as_coder)) == {mine, theirs}
    blind = CodingRound.objects.create(project=project, name="Pilot", blind=True)
    blind.fieldnotes.add(fieldnote)
    assert list(Excerpt.objects.visible_to(users["coder"], as_coder)) == [mine]
    assert set(Excerpt.objects.visible_to(users["pi"], as_pi)) == {mine, theirs}
    blind.state = CodingRound.State.REVEALED
    blind.save()
    assert set(Excerpt.objects.visible_to(users["coder"], as_coder)) == {mine, theirs}


def test_blind_round_without_fieldnotes_hides_nothing(project, users, fieldnote):
    from coding.models import CodingRound
    from projects.access import get_project_for

    theirs = ExcerptFactory(fieldnote=fieldnote, coder=users["observer"], start=6, end=9)
    CodingRound.objects.create(project=project, name="Not set up yet", blind=True)
    as_coder = get_project_for(users["coder"], project.pk)
    assert list(Excerpt.objects.visible_to(users["coder"], as_coder)) == [theirs]
