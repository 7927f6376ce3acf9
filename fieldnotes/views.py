from django.views.decorators.http import require_GET

from config.htmx import render_page
from projects.access import can, get_fieldnote_for

from .text import paragraphs


@require_GET
def fieldnote_detail(request, project_id, fieldnote_id):
    fieldnote = get_fieldnote_for(request.user, project_id, fieldnote_id)
    project = fieldnote.meeting.project
    context = {
        "project": project,
        "fieldnote": fieldnote,
        "meeting": fieldnote.meeting,
        "paragraphs": paragraphs(fieldnote.text),
        "can_view_meeting": can(project.role, "view_meetings"),
        "section": "home",
    }
    return render_page(request, "fieldnotes/detail.html", context)
