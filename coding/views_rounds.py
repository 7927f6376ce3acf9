"""Coding rounds: the PI's rounds with everyone's progress, and each coder's own assignments."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from config.htmx import render_page
from projects.access import can, get_project_for, get_round_for

from . import rounds
from .forms_rounds import RoundForm
from .models import AgreementReport, CodingRound

LIST = "coding/rounds/list.html"


def _go(request, url):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _detail_url(coding_round):
    return reverse("rounds:detail", args=[coding_round.project.pk, coding_round.pk])


@require_GET
def round_list(request, project_id):
    project = get_project_for(request.user, project_id, need="work_on_assignments")
    is_pi = can(project.role, "manage_rounds")
    context = {
        "project": project,
        "section": "rounds",
        "is_pi": is_pi,
        "rounds": rounds.rounds_with_progress(project) if is_pi else None,
        "mine": rounds.assignments_of(project=project, coder=request.user),
    }
    # htmx asks for "my assignments" again after a done toggle, so the counts stay true.
    return render_page(request, LIST, context, fragment="my-assignments")


def _form_page(request, project, form, coding_round=None):
    context = {"project": project, "section": "rounds", "form": form, "round": coding_round}
    status = 400 if request.method == "POST" else 200
    return render_page(request, "coding/rounds/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def round_create(request, project_id):
    project = get_project_for(request.user, project_id, need="manage_rounds")
    form = RoundForm(request.POST if request.method == "POST" else None, project=project)
    if form.is_valid():
        try:
            coding_round = rounds.create_round(
                project=project, created_by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Created the round “{coding_round.name}”.")
            return _go(request, _detail_url(coding_round))
    return _form_page(request, project, form)


@require_http_methods(["GET", "POST"])
def round_edit(request, project_id, round_id):
    coding_round = get_round_for(request.user, project_id, round_id)
    project = coding_round.project
    data = request.POST if request.method == "POST" else None
    form = RoundForm(data, project=project, coding_round=coding_round)
    if form.is_valid():
        try:
            rounds.update_round(coding_round=coding_round, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved the round “{form.cleaned_data['name']}”.")
            return _go(request, _detail_url(coding_round))
    return _form_page(request, project, form, coding_round)


@require_GET
def round_detail(request, project_id, round_id):
    coding_round = get_round_for(request.user, project_id, round_id, need="work_on_assignments")
    project = coding_round.project
    is_pi = can(project.role, "manage_rounds")
    # A coder's page is read from their own assignments only: nothing about the others leaks.
    progress = rounds.round_progress(coding_round, coder=None if is_pi else request.user)
    mine = progress.row_of(request.user.pk) if not is_pi else None
    context = {
        "project": project,
        "section": "rounds",
        "round": coding_round,
        "is_pi": is_pi,
        "progress": progress,
        "mine": mine,
        "states": CodingRound.State,
        # Where the round's disagreements are discussed; coders reach them once it is revealed.
        "reports": (
            []
            if coding_round.hides_work and not is_pi
            else coding_round.reports.filter(status=AgreementReport.Status.DONE).order_by(
                "-created_at"
            )[:5]
        ),
    }
    return render_page(request, "coding/rounds/detail.html", context)


def _state_change(request, project_id, round_id, change, done_message):
    coding_round = get_round_for(request.user, project_id, round_id)
    try:
        change(coding_round=coding_round, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done_message.format(name=coding_round.name))
    return _go(request, _detail_url(coding_round))


@require_POST
def round_reveal(request, project_id, round_id):
    return _state_change(
        request,
        project_id,
        round_id,
        rounds.reveal_round,
        "Revealed “{name}”: its coders now see each other's coding of its fieldnotes.",
    )


@require_POST
def round_close(request, project_id, round_id):
    return _state_change(
        request,
        project_id,
        round_id,
        rounds.close_round,
        "Closed “{name}”: its assignments can no longer be marked done or not done.",
    )


def _safe_next(request):
    url = request.POST.get("next", "")
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts=None) else ""


@require_POST
def assignment_done(request, project_id, round_id, fieldnote_id):
    coding_round = get_round_for(request.user, project_id, round_id, need="work_on_assignments")
    # Only the coder's own assignment: a PI who is not assigned has nothing here to tick off.
    assignment = coding_round.assignments.filter(
        fieldnote_id=fieldnote_id, coder=request.user
    ).first()
    if assignment is None:
        raise Http404("You have no assignment for this fieldnote in this round.")
    if request.POST.get("done") not in ("0", "1"):
        return HttpResponseBadRequest("Say done=1 to mark the fieldnote done, done=0 to undo it.")
    next_url = _safe_next(request)
    error = None
    try:
        assignment = rounds.set_done(assignment=assignment, done=request.POST["done"] == "1")
    except ValidationError as refused:
        error = " ".join(refused.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(next_url or reverse("rounds:list", args=[project_id]))
    context = {
        "project": coding_round.project,
        "assignment": assignment,
        "next_url": next_url,
        "toggle_error": error,
    }
    response = render_page(
        request, LIST, context, fragment="done-toggle", status=400 if error else 200
    )
    if not error:
        trigger_client_event(response, "assignment-changed", after="settle")
    return response
