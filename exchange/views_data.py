"""The Data page: tidy downloads for R and pandas, and the member's API tokens (`export_data`)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from coding.models import Excerpt
from config.htmx import render_page
from fieldnotes.models import Fieldnote
from meetings.models import Meeting
from projects.access import get_project_for

from . import api, tidy

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPIRY_CHOICES = [("", "Never"), ("30", "After 30 days"), ("90", "After 90 days")]
EXPIRY_CHOICES += [("365", "After a year")]


def _project(request, project_id):
    return get_project_for(request.user, project_id, need="export_data")


def _measure(request) -> str:
    measure = request.GET.get("measure", "excerpts")
    return measure if measure in tidy.MEASURES else "excerpts"


def _choices(user, project) -> dict:
    """What the filters offer: meetings, latest fieldnotes, the coders whose excerpts the user
    sees, and codable codes."""
    visible = Excerpt.objects.visible_to(user, project)
    coders = (
        get_user_model()
        .objects.filter(pk__in=visible.values("coder_id"))
        .order_by("username")
        .values_list("pk", "username")
    )
    return {
        "meetings": list(
            Meeting.objects.filter(project=project)
            .order_by("starts_at", "pk")
            .values_list("pk", "title")
        ),
        "fieldnotes": [
            (note.pk, f"{note.title} ({note.observer.name}, {note.meeting.title})")
            for note in Fieldnote.objects.in_project(project)
            .latest_versions()
            .select_related("meeting", "observer")
            .order_by("meeting__starts_at", "meeting_id", "observer__name", "title", "pk")
        ],
        "coders": list(coders),
        "codes": [
            (code.id, code.path)
            for code in tidy.code_rows(project)
            if code.is_codable and not code.archived
        ],
    }


def filters_text(filters: tidy.Filters, choices: dict) -> str:
    """The filters in words, for the workbook's About sheet."""
    parts = []
    for label, chosen, options in [
        ("Meetings", filters.meetings, choices["meetings"]),
        ("Fieldnotes", filters.fieldnotes, choices["fieldnotes"]),
        ("Coders", filters.coders, choices["coders"]),
        ("Codes", filters.codes, choices["codes"]),
    ]:
        names = dict(options)
        if chosen:
            parts.append(f"{label}: " + "; ".join(names.get(pk, f"#{pk}") for pk in chosen))
    return ". ".join(parts) if parts else "None: everything you may see."


def _context(request, project, **extra) -> dict:
    filters = tidy.Filters.from_query(request.GET)
    choices = _choices(request.user, project)
    return {
        "project": project,
        "section": "data",
        "filters": filters,
        "filter_lists": [
            ("meeting", "Meetings", choices["meetings"], filters.meetings),
            ("fieldnote", "Fieldnotes", choices["fieldnotes"], filters.fieldnotes),
            ("coder", "Coders", choices["coders"], filters.coders),
            ("code", "Codes", choices["codes"], filters.codes),
        ],
        "now": timezone.now(),
        "measure": _measure(request),
        "measures": tidy.MEASURES,
        "tokens": api.tokens_for(user=request.user, project=project),
        "expiry_choices": EXPIRY_CHOICES,
        "is_pi": project.role == "pi",
        "columns": tidy.EXCERPT_MEANINGS,
        **extra,
    }


@require_GET
def home(request, project_id):
    project = _project(request, project_id)
    return render_page(request, "exchange/data.html", _context(request, project))


def _download(project, body, kind: str, extension: str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    name = slugify(project.name) or "project"
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}-{kind}-{day}.{extension}"'
    return response


@require_GET
def excerpts_csv(request, project_id):
    project = _project(request, project_id)
    data = tidy.load(
        user=request.user, project=project, filters=tidy.Filters.from_query(request.GET)
    )
    body = tidy.excerpts_csv(data).encode("utf-8")
    return _download(project, body, "excerpts", "csv", "text/csv; charset=utf-8")


@require_GET
def matrix_csv(request, project_id):
    project = _project(request, project_id)
    measure = _measure(request)
    data = tidy.load(
        user=request.user, project=project, filters=tidy.Filters.from_query(request.GET)
    )
    body = tidy.matrix_csv(data, measure).encode("utf-8")
    return _download(project, body, f"matrix-{measure}", "csv", "text/csv; charset=utf-8")


@require_GET
def workbook(request, project_id):
    project = _project(request, project_id)
    filters = tidy.Filters.from_query(request.GET)
    data = tidy.load(user=request.user, project=project, filters=filters)
    user = request.user
    body = tidy.workbook_xlsx(
        data,
        exported_by=f"{user.get_full_name() or user.username} ({user.username})",
        exported_at=timezone.now(),
        filters_text=filters_text(filters, _choices(user, project)),
        measure=_measure(request),
    )
    return _download(project, body, "data", "xlsx", XLSX)


def _days(value: str) -> int | None:
    if value in dict(EXPIRY_CHOICES) and value:
        return int(value)
    return None


@require_POST
def token_create(request, project_id):
    project = _project(request, project_id)
    try:
        token, raw = api.create_token(
            project=project,
            user=request.user,
            label=request.POST.get("label", ""),
            days=_days(request.POST.get("expires", "")),
        )
    except ValidationError as error:
        context = _context(request, project, token_error=" ".join(error.messages))
        context["label"] = request.POST.get("label", "")
        return render_page(request, "exchange/data.html", context, fragment="tokens", status=400)
    # Rendered, never redirected: the raw token must not travel through the session's messages.
    context = _context(request, project, new_token=token, raw_token=raw)
    response = render_page(request, "exchange/data.html", context, fragment="tokens")
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def token_revoke(request, project_id, token_id):
    token = api.get_token_for(request.user, project_id, token_id)
    revoked = api.revoke_token(token=token)
    text = (
        f"Revoked the token “{token.label}” ({token.prefix}…): it no longer opens the API."
        if revoked
        else f"The token “{token.label}” was already revoked."
    )
    if getattr(request, "htmx", False):
        context = _context(request, token.project, revoked_message=text)
        return render_page(request, "exchange/data.html", context, fragment="tokens")
    messages.success(request, text)
    return redirect("data:home", project_id)
