from django.db import transaction

from .models import Meeting


@transaction.atomic
def save_meeting(*, project, meeting_form, agenda_formset) -> Meeting:
    """Saves a meeting and its agenda together: both or neither."""
    meeting = meeting_form.save(commit=False)
    meeting.project = project
    meeting.save()
    agenda_formset.instance = meeting
    agenda_formset.save()
    return meeting
