"""The coding page and the excerpt actions it calls (JSON answers for static/js/coding.js)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from config.htmx import render_page
from projects.access import can, get_fieldnote_for

from . import services
from .models import Code, Excerpt, ExcerptEvent
from .rounds import assignments_on
from .workspace import (
    View,
    changed_window,
    code_looks,
    entries_html,
    entry_html,
    spans_of,
    text_html,
    visible_rows,
    window_html,
)


def _codes(project, tree=None):
    tree = project.codebook.tree(include_archived=True) if tree is None else tree
    return [code for code in tree if code.is_codable and not code.archived]


def _coder_names(memberships) -> dict[int, str]:
    return {m.user_id: m.user.get_full_name() or m.user.username for m in memberships}


@require_GET
def coding_page(request, project_id, fieldnote_id):
    fieldnote = get_fieldnote_for(request.user, project_id, fieldnote_id)
    project = fieldnote.meeting.project
    view = View.from_request(request.GET, user=request.user, role=project.role)
    # One read of the code tree and of the members serves the picker, the filter and the labels.
    tree = project.codebook.tree(include_archived=True)
    looks = code_looks(project, tree)
    rows = visible_rows(
        fieldnote=fieldnote, user=request.user, project=project, view=view, looks=looks
    )
    memberships = list(project.memberships.select_related("user"))
    names = _coder_names(memberships)
    members = [m for m in memberships if m.role in ("pi", "coder")]
    context = {
        "project": project,
        "fieldnote": fieldnote,
        "meeting": fieldnote.meeting,
        "text_html": text_html(fieldnote.text, spans_of(rows)),
        "entries_html": entries_html(rows, project_id=project.pk, looks=looks, coder_names=names),
        "excerpt_count": len(rows),
        "codes": _codes(project, tree),
        "all_codes": tree,
        "view": view,
        "coders": [m.user for m in members],
        "can_code": can(project.role, "code"),
        "is_pi": project.role == "pi",
        "assignments": assignments_on(fieldnote=fieldnote, coder=request.user)
        if can(project.role, "work_on_assignments")
        else [],
        "section": "home",
    }
    return render_page(request, "coding/coding_page.html", context)


def _answer(request, fieldnote, project, view, *, changed_id, lo, hi, extra=None):
    """The JSON the page needs after one change: the re-rendered stretch of text and the excerpt's
    entry in the list (or its removal)."""
    left, right = changed_window(
        fieldnote=fieldnote,
        user=request.user,
        project=project,
        view=view,
        changed_id=changed_id,
        lo=lo,
        hi=hi,
    )
    looks = code_looks(project)
    rows = visible_rows(
        fieldnote=fieldnote,
        user=request.user,
        project=project,
        view=view,
        looks=looks,
        within=(left, right),
    )
    html = window_html(fieldnote.text, rows, left, right)
    row = next((r for r in rows if r.id == changed_id), None)
    entry = ""
    if row is not None:
        coder = request.user if row.coder == request.user.pk else None
        if coder is None:
            coder = get_user_model().objects.filter(pk=row.coder).first()
        names = {row.coder: (coder.get_full_name() or coder.username) if coder else "?"}
        entry = entry_html(row, project_id=project.pk, looks=looks, coder_names=names)
    return JsonResponse(
        {
            "from": left,
            "to": right,
            "runs": html,
            "excerpt": changed_id,
            "entry": entry,
            **(extra or {}),
        }
    )


def _error(message, status=400):
    return JsonResponse({"error": message}, status=status)


def _codes_from(request, project):
    ids = [int(v) for v in request.POST.getlist("codes") if v.isdecimal()]
    codes = list(
        Code.objects.select_related("codebook").filter(codebook__project=project, pk__in=ids)
    )
    if len(codes) != len(set(ids)):
        raise ValidationError("One of the codes is not in this project's codebook.")
    return codes


def _offsets(request):
    try:
        return int(request.POST["start"]), int(request.POST["end"])
    except (KeyError, ValueError):
        raise ValidationError("The selection's start and end are missing.") from None


@require_POST
def excerpt_create(request, project_id, fieldnote_id):
    fieldnote = get_fieldnote_for(request.user, project_id, fieldnote_id, need="code")
    project = fieldnote.meeting.project
    view = View.from_request(request.POST, user=request.user, role=project.role)
    try:
        start, end = _offsets(request)
        excerpt = services.create_excerpt(
            fieldnote=fieldnote,
            coder=request.user,
            start=start,
            end=end,
            codes=_codes_from(request, project),
            user=request.user,
        )
    except ValidationError as error:
        return _error(" ".join(error.messages))
    return _answer(request, fieldnote, project, view, changed_id=excerpt.pk, lo=start, hi=end)


def _get_excerpt(request, project_id, excerpt_id, *, change: bool):
    excerpt = get_object_or_404(Excerpt.objects.select_related("fieldnote"), pk=excerpt_id)
    fieldnote = get_fieldnote_for(
        request.user, project_id, excerpt.fieldnote_id, need="code" if change else "read_fieldnotes"
    )
    project = fieldnote.meeting.project
    if not Excerpt.objects.visible_to(request.user, project).filter(pk=excerpt.pk).exists():
        raise Http404("No such excerpt.")
    if change:
        services.check_may_change(excerpt, request.user, project.role)
    excerpt.fieldnote = fieldnote
    return excerpt, fieldnote, project


@require_GET
def excerpt_panel(request, project_id, excerpt_id):
    excerpt, fieldnote, project = _get_excerpt(request, project_id, excerpt_id, change=False)
    may_change = excerpt.coder_id == request.user.pk or project.role == "pi"
    context = {
        "project": project,
        "fieldnote": fieldnote,
        "excerpt": excerpt,
        "excerpt_codes": {code.pk for code in excerpt.codes.all()},
        "codes": _codes(project),
        "events": ExcerptEvent.objects.filter(excerpt_key=excerpt.pk).select_related("user")[:50],
        "may_change": may_change and can(project.role, "code"),
        "text": fieldnote.text[excerpt.start : excerpt.end],
    }
    return render_page(request, "coding/includes/excerpt_panel.html", context)


@require_POST
def excerpt_change(request, project_id, excerpt_id):
    try:
        excerpt, fieldnote, project = _get_excerpt(request, project_id, excerpt_id, change=True)
    except PermissionDenied as denied:
        return _error(str(denied), status=403)
    view = View.from_request(request.POST, user=request.user, role=project.role)
    old_start, old_end = excerpt.start, excerpt.end
    try:
        revision = int(request.POST.get("revision", ""))
    except ValueError:
        return _error("The page did not say which version of the excerpt it showed; reload it.")
    fields = {}
    if "start" in request.POST or "end" in request.POST:
        try:
            fields["start"], fields["end"] = _offsets(request)
        except ValidationError as error:
            return _error(" ".join(error.messages))
    if "codes" in request.POST or request.POST.get("set_codes") == "1":
        try:
            fields["codes"] = _codes_from(request, project)
        except ValidationError as error:
            return _error(" ".join(error.messages))
    if "memo" in request.POST:
        fields["memo"] = request.POST["memo"]
    if "unsure" in request.POST:
        fields["unsure"] = request.POST["unsure"] == "1"
    try:
        excerpt = services.change_excerpt(
            excerpt=excerpt, user=request.user, revision=revision, **fields
        )
    except services.ExcerptConflict as conflict:
        return _error(" ".join(conflict.messages), status=409)
    except ValidationError as error:
        return _error(" ".join(error.messages))
    lo, hi = min(old_start, excerpt.start), max(old_end, excerpt.end)
    return _answer(
        request,
        fieldnote,
        project,
        view,
        changed_id=excerpt.pk,
        lo=lo,
        hi=hi,
        extra={"revision": excerpt.revision},
    )


@require_POST
def excerpt_delete(request, project_id, excerpt_id):
    try:
        excerpt, fieldnote, project = _get_excerpt(request, project_id, excerpt_id, change=True)
    except PermissionDenied as denied:
        return _error(str(denied), status=403)
    view = View.from_request(request.POST, user=request.user, role=project.role)
    revision = request.POST.get("revision", "")
    try:
        event = services.delete_excerpt(
            excerpt=excerpt,
            user=request.user,
            revision=int(revision) if revision.isdecimal() else None,
        )
    except services.ExcerptConflict as conflict:
        return _error(" ".join(conflict.messages), status=409)
    return _answer(
        request,
        fieldnote,
        project,
        view,
        changed_id=excerpt_id,
        lo=excerpt.start,
        hi=excerpt.end,
        extra={"deleted": excerpt_id, "undo": event.pk},
    )


@require_POST
def event_undo(request, project_id, event_id):
    event = get_object_or_404(ExcerptEvent.objects.select_related("fieldnote"), pk=event_id)
    fieldnote = get_fieldnote_for(request.user, project_id, event.fieldnote_id, need="code")
    project = fieldnote.meeting.project
    coder = (event.before or event.after or {}).get("coder")
    if coder != request.user.pk and project.role != "pi":
        return _error("Only the coder who made the excerpt, or a PI, may undo this.", status=403)
    view = View.from_request(request.POST, user=request.user, role=project.role)
    state = event.before or event.after
    try:
        excerpt = services.undo(event=event, user=request.user)
    except ValidationError as error:
        return _error(" ".join(error.messages), status=409)
    lo, hi = state["start"], state["end"]
    if excerpt is not None:
        lo, hi = min(lo, excerpt.start), max(hi, excerpt.end)
    return _answer(
        request,
        fieldnote,
        project,
        view,
        changed_id=event.excerpt_key,
        lo=lo,
        hi=hi,
        extra={"deleted": event.excerpt_key} if excerpt is None else {"revision": excerpt.revision},
    )


@require_GET
def code_styles(request, project_id):
    """One class per code with its colour, so pages need no inline styles (the CSP forbids them)."""
    from django.http import HttpResponse

    from projects.access import get_project_for

    project = get_project_for(request.user, project_id, need="view_codebook")
    rules = "\n".join(
        f".c{pk}{{--c:{colour}}}"
        for pk, colour in project.codebook.codes.values_list("pk", "colour")
    )
    response = HttpResponse(rules + "\n", content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response
