"""Whole projects in and out: the PI's exchange page (exports with live progress, downloads,
import reports, imported coders to map to members) and starting a project from a `.qdpx`."""

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.htmx import render_page
from projects.access import get_project_for
from projects.models import Membership

from . import exports
from .backup import BACKUP_ENTRY
from .forms import ImportForm, MapPlaceholderForm
from .models import ExportJob, ImportRecord
from .qde import QdeError

PAGE = "exchange/project.html"
# A full backup imported here comes in as the REFI-QDA project it also is: its accounts, rounds,
# reports and history are restored only by an administrator (`manage.py import_project`).
BACKUP_NOTE = (
    "This file is a full Triangulate backup. Imported here it brings the project's fieldnotes, "
    "codebook, excerpts and memos; its earlier versions, rounds, reports, history and accounts "
    "are restored only by a server administrator with manage.py import_project."
)
Status = ExportJob.Status
UNDER_WAY = (Status.QUEUED, Status.WAITING, Status.RUNNING)


def _context(request, project, **extra) -> dict:
    jobs = [
        exports.refresh(job) if job.status in UNDER_WAY else job
        for job in ExportJob.objects.filter(project=project).select_related("created_by")[:10]
    ]
    placeholders = list(
        Membership.objects.filter(project=project, is_placeholder=True)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )
    return {
        "project": project,
        "section": "exchange",
        "jobs": [{"job": job, "available": exports.path_of(job) is not None} for job in jobs],
        "under_way": any(job.status in UNDER_WAY for job in jobs),
        "imports": ImportRecord.objects.filter(project=project).select_related("created_by"),
        "placeholders": [
            (member, MapPlaceholderForm(project=project, prefix=f"p{member.pk}"))
            for member in placeholders
        ],
        **extra,
    }


@require_GET
def project_page(request, project_id):
    project = get_project_for(request.user, project_id, need="exchange_project")
    return render_page(request, PAGE, _context(request, project))


@require_GET
def jobs_fragment(request, project_id):
    """The export list, polled every second while an export is under way."""
    project = get_project_for(request.user, project_id, need="exchange_project")
    if not request.htmx:
        return redirect("exchange:project", project.pk)
    context = _context(request, project)
    return render_page(request, PAGE, context, fragment="jobs")


@require_POST
def start_export(request, project_id):
    project = get_project_for(request.user, project_id, need="exchange_project")
    kind = request.POST.get("kind", ExportJob.Kind.QDPX)
    if kind not in ExportJob.Kind.values:
        messages.error(request, f"There is no export of the kind {kind!r}.")
        return redirect("exchange:project", project.pk)
    exports.request_export(project=project, user=request.user, kind=kind)
    messages.success(request, "The export has started; it appears below when it is ready.")
    return redirect("exchange:project", project.pk)


@require_POST
def export_again(request, project_id, job_id):
    project = get_project_for(request.user, project_id, need="exchange_project")
    job = get_object_or_404(ExportJob, project=project, pk=job_id)
    try:
        exports.run_again(job)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The export is running again.")
    return redirect("exchange:project", project.pk)


@require_GET
def download(request, project_id, job_id):
    project = get_project_for(request.user, project_id, need="exchange_project")
    job = get_object_or_404(ExportJob.objects.select_related("project"), project=project, pk=job_id)
    path = exports.path_of(job)
    if path is None:
        raise Http404("This export is not ready, failed, or has been replaced by newer ones.")
    return FileResponse(
        open(path, "rb"),
        as_attachment=True,
        filename=exports.file_name(job),
        content_type="application/zip",
    )


@require_POST
def map_placeholder(request, project_id, placeholder_id):
    from .project_import import map_placeholder as move

    project = get_project_for(request.user, project_id, need="exchange_project")
    placeholder = get_object_or_404(
        Membership.objects.select_related("user"),
        project=project,
        pk=placeholder_id,
        is_placeholder=True,
    )
    form = MapPlaceholderForm(request.POST, project=project, prefix=f"p{placeholder.pk}")
    if not form.is_valid():
        messages.error(request, "Choose the member whose coding this becomes.")
        return redirect("exchange:project", project.pk)
    target = form.cleaned_data["target"]
    try:
        moved = move(project, placeholder, target, by=request.user)
    except QdeError as error:
        messages.error(request, str(error))
    else:
        name = placeholder.user.first_name or placeholder.user.username
        who = target.user.get_full_name() or target.user.username
        messages.success(request, f"{name}'s {moved} excerpts are now {who}'s.")
    return redirect("exchange:project", project.pk)


@require_GET
def import_report(request, project_id, record_id):
    project = get_project_for(request.user, project_id, need="exchange_project")
    record = get_object_or_404(ImportRecord, project=project, pk=record_id)
    context = {"project": project, "section": "exchange", "record": record}
    return render_page(request, "exchange/import_report.html", context)


@require_http_methods(["GET", "POST"])
def import_project(request):
    """Starts a new project from a `.qdpx`; whoever imports it becomes its PI. The import is one
    transaction: a file it cannot take leaves nothing behind."""
    from .project_import import import_qde
    from .qdpx import read_qdpx

    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        archive = form.cleaned_data["archive"]
        try:
            with transaction.atomic():
                qde = read_qdpx(archive)
                record = import_qde(
                    qde,
                    user=request.user,
                    source_name=archive.name,
                    name=form.cleaned_data["name"] or None,
                )
                if BACKUP_ENTRY in qde.extra_files:
                    record.report.setdefault("warnings", []).append(BACKUP_NOTE)
                    record.save(update_fields=["report"])
        except QdeError as error:
            form.add_error("archive", f"{archive.name} could not be imported: {error}")
        else:
            messages.success(request, f"{archive.name} is now the project “{record.project.name}”.")
            return redirect("exchange:import_report", record.project_id, record.pk)
    return render_page(request, "exchange/import.html", {"form": form})
