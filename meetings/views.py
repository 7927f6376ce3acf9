from django.views.decorators.http import require_GET

from config.htmx import render_page
from projects.access import get_meeting_for


@require_GET
def meeting_detail(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id)
    fieldnotes = meeting.fieldnotes.select_related("observer").order_by("observer__name", "version")
    context = {
        "project": meeting.project,
        "meeting": meeting,
        "agenda": meeting.agenda_items.all(),
        "fieldnotes": fieldnotes,
        "section": "home",
    }
    return render_page(request, "meetings/detail.html", context)
