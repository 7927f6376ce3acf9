import pytest
from django.core.exceptions import ValidationError

from fieldnotes.models import FieldnoteFrozen
from tests.factories import ObserverFactory, ProjectFactory


def test_text_is_stored_normalised(fieldnote):
    fieldnote.text = "\ufeffLine one\r\nCafe\u0301"
    fieldnote.save()
    fieldnote.refresh_from_db()
    assert fieldnote.text == "Line one\nCafé"


def test_text_may_change_before_coding(fieldnote):
    fieldnote.text = "A corrected text."
    fieldnote.save()
    fieldnote.refresh_from_db()
    assert fieldnote.text == "A corrected text."


def test_text_is_frozen_once_coded(excerpt):
    fieldnote = excerpt.fieldnote
    original = fieldnote.text
    fieldnote.text = original + " An afterthought."
    with pytest.raises(FieldnoteFrozen) as error:
        fieldnote.save()
    assert "Create a new version instead" in error.value.messages[0]
    fieldnote.refresh_from_db()
    assert fieldnote.text == original


def test_other_fields_may_change_once_coded(excerpt):
    fieldnote = excerpt.fieldnote
    fieldnote.title = "Renamed"
    fieldnote.save()
    fieldnote.refresh_from_db()
    assert fieldnote.title == "Renamed"


def test_observer_must_belong_to_the_meeting_project(fieldnote):
    fieldnote.observer = ObserverFactory(project=ProjectFactory())
    with pytest.raises(ValidationError) as error:
        fieldnote.full_clean()
    assert error.value.message_dict == {"observer": ["The observer belongs to another project."]}
