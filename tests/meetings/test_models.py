from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.factories import AgendaItemFactory, MeetingFactory


def test_meeting_must_end_after_it_starts(project):
    meeting = MeetingFactory.build(project=project)
    meeting.ends_at = meeting.starts_at
    with pytest.raises(ValidationError) as error:
        meeting.full_clean()
    assert error.value.message_dict == {"ends_at": ["The meeting must end after it starts."]}
    with pytest.raises(IntegrityError), transaction.atomic():
        meeting.save()


def test_agenda_item_must_lie_within_the_meeting(meeting):
    item = AgendaItemFactory.build(meeting=meeting, title="Late")
    item.starts_at = meeting.ends_at - timedelta(minutes=10)
    item.ends_at = meeting.ends_at + timedelta(minutes=10)
    with pytest.raises(ValidationError) as error:
        item.full_clean()
    assert error.value.messages == ["The agenda item must lie within the meeting's start and end."]


def test_two_day_meeting_orders_agenda_by_time(project):
    meeting = MeetingFactory(project=project)
    meeting.ends_at = meeting.starts_at + timedelta(days=1, hours=3)
    meeting.save()
    day_two = AgendaItemFactory(
        meeting=meeting,
        title="Day two",
        starts_at=meeting.starts_at + timedelta(days=1),
        ends_at=meeting.starts_at + timedelta(days=1, hours=1),
    )
    day_one = AgendaItemFactory(meeting=meeting, title="Day one")
    assert list(meeting.agenda_items.all()) == [day_one, day_two]
