from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.htmx import render_page
from projects.access import can, get_fieldnote_for, get_meeting_for, get_project_for

from . import services
from .forms import MarkerForm, PendingForm, ReviseForm, UploadForm, marker_forms
from .models import PendingUpload
from .text import paragraphs


@require_GET
def fieldnote_detail(request, project_id, fieldnote_id):
    fieldnote = get_fieldnote_for(request.user, project_id, fieldnote_id)
    project = fieldnote.meeting.project
    own = fieldnote.observer.user_id == request.user.pk
    context = {
        "project": project,
        "fieldnote": fieldnote,
        "meeting": fieldnote.meeting,
        "paragraphs": paragraphs(fieldnote.text),
        "markers": fieldnote.time_markers.all(),
        "later": getattr(fieldnote, "next_version", None) if _has_next(fieldnote) else None,
        "can_view_meeting": can(project.role, "view_meetings"),
        "can_code": can(project.role, "code"),
        "can_revise": can(project.role, "revise_own_fieldnotes" if own else "revise_any_fieldnote"),
        "section": "home",
    }
    return render_page(request, "fieldnotes/detail.html", context)


def _has_next(fieldnote) -> bool:
    return type(fieldnote).objects.filter(previous_version=fieldnote).exists()


@require_http_methods(["GET", "POST"])
def upload(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="upload_fieldnotes")
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        batch = services.read_uploads(
            meeting=meeting,
            uploaded_by=request.user,
            files=form.cleaned_data["files"],
            pasted_text=form.cleaned_data["pasted_text"],
            pasted_name=form.cleaned_data["pasted_name"],
        )
        return redirect("fieldnotes:preview", project_id, batch)
    context = {
        "project": meeting.project,
        "meeting": meeting,
        "form": form,
        "max_mb": settings.UPLOAD_MAX_BYTES // 1_048_576,
        "section": "home",
    }
    return render_page(
        request, "fieldnotes/upload.html", context, status=400 if form.errors else 200
    )


def _get_batch_for(user, project_id, batch):
    project = get_project_for(user, project_id, need="upload_fieldnotes")
    pending = list(
        PendingUpload.objects.filter(batch=batch, uploaded_by=user, meeting__project=project)
        .select_related("meeting", "revises")
        .order_by("pk")
    )
    if not pending:
        raise Http404("No such upload: it may have been saved or discarded already.")
    for item in pending:
        item.meeting.project = project
    return project, pending


def _default_observer(project, user):
    observer = project.observers.filter(user=user).first()
    return f"o:{observer.pk}" if observer else f"u:{user.pk}"


def _item_forms(project, item, user, data=None):
    suggestions = services.suggest_markers(item.text, item.meeting) if item.ok else []
    prefix = f"f{item.pk}"
    initial = {
        "observer": _default_observer(project, user),
        "title": services.default_title(item.source_name),
    }
    item.form = (
        None
        if item.revises_id
        else PendingForm(data, prefix=prefix, project=project, initial=initial)
    )
    item.marker_forms = marker_forms(suggestions, prefix=prefix, data=data)
    item.word_count = len(item.text.split())
    if item.revises_id and item.ok:
        # A refused file has no text to carry the excerpts to.
        item.revision = services.preview_revision(item.revises, item.text)
    return item


def _marker_choices(item):
    return [
        services.MarkerChoice(
            index=i, include=f.cleaned_data["include"], moment=f.cleaned_data["moment"]
        )
        for i, f in enumerate(item.marker_forms)
    ]


@require_http_methods(["GET", "POST"])
def preview(request, project_id, batch):
    project, pending = _get_batch_for(request.user, project_id, batch)
    data = request.POST if request.method == "POST" else None
    items = [_item_forms(project, item, request.user, data) for item in pending]
    good = [item for item in items if item.ok]
    if data is not None and good:
        valid = all((item.form is None or item.form.is_valid()) for item in good) and all(
            form.is_valid() for item in good for form in item.marker_forms
        )
        if valid:
            try:
                return _save_batch(request, project, good)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
    context = {
        "project": project,
        "meeting": pending[0].meeting,
        "items": items,
        "good": good,
        "refused": [item for item in items if not item.ok],
        "batch": batch,
        "revising": pending[0].revises,
        "section": "home",
    }
    return render_page(
        request, "fieldnotes/preview.html", context, status=400 if data is not None else 200
    )


def _save_batch(request, project, good):
    if good[0].revises_id:
        fieldnote = services.revise_fieldnote(
            pending=good[0], user=request.user, markers=_marker_choices(good[0])
        )
        messages.success(request, f"Saved version {fieldnote.version} of {fieldnote.title}.")
        return redirect("fieldnotes:detail", project.pk, fieldnote.pk)
    choices = [
        services.ImportChoice(
            pending=item,
            observer=item.form.cleaned_data["observer"],
            new_observer_name=item.form.cleaned_data["new_observer_name"],
            title=item.form.cleaned_data["title"],
            markers=_marker_choices(item),
        )
        for item in good
    ]
    created = services.import_pending(choices=choices, user=request.user)
    names = ", ".join(f.title for f in created)
    messages.success(
        request, f"Saved {len(created)} fieldnote{'s' if len(created) != 1 else ''}: {names}."
    )
    return redirect("meetings:detail", project.pk, good[0].meeting_id)


@require_POST
def discard(request, project_id, batch):
    project, pending = _get_batch_for(request.user, project_id, batch)
    PendingUpload.objects.filter(pk__in=[item.pk for item in pending]).delete()
    messages.success(request, "Discarded the upload; nothing was saved.")
    if pending[0].revises_id:
        return redirect("fieldnotes:detail", project.pk, pending[0].revises_id)
    return redirect("meetings:detail", project.pk, pending[0].meeting_id)


@require_http_methods(["GET", "POST"])
def revise(request, project_id, fieldnote_id):
    fieldnote = get_fieldnote_for(request.user, project_id, fieldnote_id, need="revise_fieldnote")
    if _has_next(fieldnote):
        messages.error(request, "This is not the latest version; revise the latest one instead.")
        return redirect("fieldnotes:detail", project_id, fieldnote.pk)
    posted = request.method == "POST"
    form = ReviseForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        batch = services.read_uploads(
            meeting=fieldnote.meeting,
            uploaded_by=request.user,
            files=[upload_file] if upload_file else [],
            pasted_text="" if upload_file else form.cleaned_data["pasted_text"],
            pasted_name=fieldnote.source_name,
            revises=fieldnote,
        )
        return redirect("fieldnotes:preview", project_id, batch)
    context = {
        "project": fieldnote.meeting.project,
        "fieldnote": fieldnote,
        "form": form,
        "section": "home",
    }
    return render_page(
        request, "fieldnotes/revise.html", context, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def markers(request, project_id, fieldnote_id):
    """Correct or remove the time markers of a saved fieldnote."""
    fieldnote = get_fieldnote_for(request.user, project_id, fieldnote_id, need="revise_fieldnote")
    saved = list(fieldnote.time_markers.all())
    data = request.POST if request.method == "POST" else None
    rows = []
    for marker in saved:
        moment = timezone.localtime(marker.moment) if marker.moment else None
        form = MarkerForm(data, prefix=f"t{marker.pk}", initial={"include": True, "moment": moment})
        form.marker = marker
        rows.append(form)
    if data is not None and all(form.is_valid() for form in rows):
        services.update_markers(
            fieldnote=fieldnote,
            changes=[(f.marker, f.cleaned_data["include"], f.cleaned_data["moment"]) for f in rows],
        )
        messages.success(request, "Saved the time markers.")
        return redirect("fieldnotes:detail", project_id, fieldnote.pk)
    context = {
        "project": fieldnote.meeting.project,
        "fieldnote": fieldnote,
        "rows": rows,
        "section": "home",
    }
    return render_page(
        request, "fieldnotes/markers.html", context, status=400 if data is not None else 200
    )
