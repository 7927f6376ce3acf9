from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from config.htmx import render_page
from projects.access import can, get_meeting_for, get_project_for

from .forms import AgendaFormSet, MeetingForm
from .models import Meeting
from .services import save_meeting


@require_GET
def meeting_detail(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id)
    fieldnotes = (
        meeting.fieldnotes.latest_versions()
        .select_related("observer")
        .order_by("observer__name", "created_at")
    )
    role = meeting.project.role
    context = {
        "project": meeting.project,
        "meeting": meeting,
        "agenda": meeting.agenda_items.all(),
        "fieldnotes": fieldnotes,
        "can_manage": can(role, "manage_meetings"),
        "can_upload": can(role, "upload_fieldnotes"),
        "can_manage_lay_panel": can(role, "manage_lay_panel"),
        "section": "home",
    }
    # The fieldnote list refreshes itself, so lay panel submissions appear as they arrive.
    return render_page(request, "meetings/detail.html", context, fragment="fieldnote-list")


def _edit(request, project, meeting):
    data = request.POST if request.method == "POST" else None
    meeting_form = MeetingForm(data, instance=meeting)
    agenda_formset = AgendaFormSet(data, instance=meeting, meeting_form=meeting_form)
    if data is not None and meeting_form.is_valid() and agenda_formset.is_valid():
        saved = save_meeting(
            project=project, meeting_form=meeting_form, agenda_formset=agenda_formset
        )
        messages.success(request, f"Saved the meeting {saved.title}.")
        return redirect("meetings:detail", project.pk, saved.pk)
    context = {
        "project": project,
        "meeting": meeting if meeting.pk else None,
        "form": meeting_form,
        "agenda_formset": agenda_formset,
        "section": "home",
    }
    return render_page(
        request, "meetings/edit.html", context, status=400 if data is not None else 200
    )


@require_http_methods(["GET", "POST"])
def meeting_create(request, project_id):
    project = get_project_for(request.user, project_id, need="manage_meetings")
    return _edit(request, project, Meeting(project=project))


@require_http_methods(["GET", "POST"])
def meeting_edit(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="manage_meetings")
    return _edit(request, meeting.project, meeting)
