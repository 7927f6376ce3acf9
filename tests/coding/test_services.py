import pytest
from django.core.exceptions import ValidationError

from coding.models import Excerpt, ExcerptCode
from coding.services import create_excerpt
from tests.factories import CodeFactory, ProjectFactory


@pytest.fixture
def codes(project):
    folder = CodeFactory(codebook=project.codebook, name="What meetings do", is_codable=False)
    return {
        "folder": folder,
        "protest": CodeFactory(codebook=project.codebook, name="Protest", parent=folder),
        "resolution": CodeFactory(codebook=project.codebook, name="Resolution", parent=folder),
        "old": CodeFactory(codebook=project.codebook, name="Old", archived=True),
    }


def test_create_excerpt_with_two_codes(fieldnote, users, codes):
    excerpt = create_excerpt(
        fieldnote=fieldnote,
        coder=users["coder"],
        start=6,
        end=25,
        codes=[codes["protest"], codes["resolution"]],
    )
    assert excerpt.text == "The meeting opened."
    assert sorted(excerpt.codes.values_list("name", flat=True)) == ["Protest", "Resolution"]


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("folder", "'What meetings do' is a folder and cannot be applied to text."),
        ("old", "'Old' is archived and cannot be applied to text."),
    ],
)
def test_folders_and_archived_codes_cannot_be_applied(fieldnote, users, codes, which, message):
    with pytest.raises(ValidationError) as error:
        create_excerpt(
            fieldnote=fieldnote, coder=users["coder"], start=0, end=5, codes=[codes[which]]
        )
    assert error.value.messages == [message]
    assert Excerpt.objects.count() == 0


def test_nothing_is_half_saved_when_a_code_is_foreign(fieldnote, users, codes):
    foreign = CodeFactory(codebook=ProjectFactory().codebook, name="Foreign")
    with pytest.raises(ValidationError):
        create_excerpt(
            fieldnote=fieldnote,
            coder=users["coder"],
            start=0,
            end=5,
            codes=[codes["protest"], foreign],
        )
    assert (Excerpt.objects.count(), ExcerptCode.objects.count()) == (0, 0)


def test_an_excerpt_needs_a_code(fieldnote, users):
    with pytest.raises(ValidationError, match="at least one code"):
        create_excerpt(fieldnote=fieldnote, coder=users["coder"], start=0, end=5, codes=[])


def test_span_checked_before_anything_is_written(fieldnote, users, codes):
    with pytest.raises(ValidationError, match="start < end"):
        create_excerpt(
            fieldnote=fieldnote, coder=users["coder"], start=5, end=500, codes=[codes["protest"]]
        )
    assert Excerpt.objects.count() == 0
