"""Agreement reports: the list with its trend, the form, the report with its live progress, and
the downloads. PIs only (`run_reports`)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from config.htmx import render_page
from projects.access import get_project_for, get_report_for

from . import reports
from .forms_reports import CHOSEN, ROUND, ReportForm
from .models import AgreementReport, CodingRound

PAGE = "coding/reports/detail.html"
Status = AgreementReport.Status


@require_GET
def report_list(request, project_id):
    project = get_project_for(request.user, project_id, need="run_reports")
    found = (
        AgreementReport.objects.filter(project=project)
        .select_related("coding_round", "created_by")
        .defer("results")
        .order_by("-created_at", "-pk")
    )
    rows = []
    for report in found:
        if report.status in (Status.WAITING, Status.RUNNING):
            report = reports.refresh_report(report)
        rows.append(
            {"report": report, "scope": reports.scope_text(report), "took": reports.elapsed(report)}
        )
    context = {
        "project": project,
        "section": "reports",
        "rows": rows,
        "trend": reports.trend(project),
    }
    return render_page(request, "coding/reports/list.html", context)


@require_http_methods(["GET", "POST"])
def create(request, project_id):
    project = get_project_for(request.user, project_id, need="run_reports")
    rounds = list(CodingRound.objects.filter(project=project))
    chosen = next((r for r in rounds if str(r.pk) == request.GET.get("round")), None)
    initial = {
        "scope": ROUND if rounds else CHOSEN,
        "coding_round": chosen or (rounds or [None])[0],
        "codes": list(project.codebook.codes.filter(is_codable=True, archived=False)),
    }
    form = ReportForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            report = reports.request_report(
                project=project, user=request.user, **form.service_arguments()
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("reports:detail", project.pk, report.pk)
    context = {
        "project": project,
        "section": "reports",
        "form": form,
        "rounds": rounds,
        **_choices(project, form),
    }
    status = 400 if request.method == "POST" else 200
    return render_page(request, "coding/reports/create.html", context, status=status)


def _choices(project, form) -> dict:
    """The form's checkboxes as the template lays them out, with what is ticked."""
    ticked = {
        name: {str(v.pk if hasattr(v, "pk") else v) for v in form[name].value() or ()}
        for name in ("fieldnotes", "coders", "codes", "measures")
    }
    meetings: dict = {}
    for note in form.fields["fieldnotes"].queryset:
        meetings.setdefault(note.meeting, []).append(note)
    return {
        "ticked": ticked,
        "meetings": meetings.items(),
        "coders": form.fields["coders"].queryset,
        "code_groups": _groups(project.codebook.tree()),
        "measures": reports.MEASURES.items(),
    }


def _groups(tree) -> list[list]:
    """The code tree cut into its top-level branches, laid out side by side in the form."""
    groups: list[list] = []
    for code in tree:
        if code.depth == 0 or not groups:
            groups.append([])
        groups[-1].append(code)
    return groups


@require_GET
def detail(request, project_id, report_id):
    report = reports.refresh_report(get_report_for(request.user, project_id, report_id))
    return render_page(request, PAGE, _context(report))


@require_GET
def progress(request, project_id, report_id):
    """The fragment the report page polls while the report is under way."""
    report = reports.refresh_report(get_report_for(request.user, project_id, report_id))
    if not request.htmx:
        return redirect("reports:detail", project_id, report.pk)
    if report.status in (Status.DONE, Status.FAILED):
        return HttpResponseClientRefresh()
    return render_page(request, PAGE, _context(report), fragment="progress")


@require_POST
def run_again(request, project_id, report_id):
    report = get_report_for(request.user, project_id, report_id)
    try:
        reports.run_again(report=report, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The report is running again.")
    return redirect("reports:detail", project_id, report.pk)


def _finished(request, project_id, report_id) -> AgreementReport:
    report = reports.refresh_report(get_report_for(request.user, project_id, report_id))
    if report.status != Status.DONE:
        raise _NotYet(report)
    return report


class _NotYet(Exception):
    def __init__(self, report):
        self.report = report


def _download(request, project_id, report_id, make, extension, content_type):
    try:
        report = _finished(request, project_id, report_id)
    except _NotYet as not_yet:
        messages.error(request, "This report has no results to download yet.")
        return redirect("reports:detail", project_id, not_yet.report.pk)
    response = HttpResponse(make(report), content_type=content_type)
    name = slugify(f"{report.project.name} agreement report {report.pk}") or "report"
    response["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    return response


@require_GET
def report_csv(request, project_id, report_id):
    def make(report):
        return reports.report_csv(report).encode("utf-8")

    return _download(request, project_id, report_id, make, "csv", "text/csv; charset=utf-8")


@require_GET
def report_xlsx(request, project_id, report_id):
    return _download(
        request,
        project_id,
        report_id,
        reports.report_xlsx,
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@require_GET
def print_view(request, project_id, report_id):
    report = reports.refresh_report(get_report_for(request.user, project_id, report_id))
    return render_page(request, "coding/reports/print.html", _context(report))


# What the templates show


def _context(report) -> dict:
    project = report.project
    context = {
        "project": project,
        "section": "reports",
        "report": report,
        "scope": reports.scope_text(report),
        "took": reports.elapsed(report),
        "percent": round(report.progress * 100),
        "parameters": report.parameters,
        "measure_labels": [reports.MEASURES[m] for m in report.parameters.get("measures", ())],
    }
    if report.status == Status.DONE and report.results:
        if report.kind == AgreementReport.Kind.OBSERVERS:
            context["observers"] = _observer_tables(report)
        else:
            context.update(_tables(report))
    return context


def _observer_tables(report) -> dict:
    """Rows of the observer report: alpha per code with its flag and, per observer, the windows
    where their notes carry the code out of those they cover."""
    results = report.results
    rows = []
    for code in results["codes"]:
        rows.append(
            {
                **code,
                "shown": reports.show("alpha", code["alpha"]),
                "shade": reports.shade(code["alpha"], list(reports.DEFAULT_FLAGS)),
                "cells": list(zip(code["present"], code["covered"], strict=True)),
            }
        )
    return {
        "observers": results["observers"],
        "rows": rows,
        "windows": len(results["windows"]),
        "seen_by_one": results["seen_by_one"],
        "meeting": results["meeting"],
        "window": results["window"],
        "mode": results["mode"],
    }


def _tables(report) -> dict:
    results = report.results
    coders = results["coders"]
    # Said once above the tables rather than in every row: kappa is for two coders, and a
    # fieldnote over all its codes has no unitizing alpha of its own.
    measures = [m for m in results["measures"] if m != "kappa" or len(coders) == 2]
    note_measures = [m for m in measures if m != "unitizing"]
    flags = report.parameters["flag_below"]
    queue = reverse("adjudication:queue", args=[report.project.pk, report.pk])

    def link(**filters) -> str:
        return f"{queue}?{urlencode(filters)}" if filters else queue

    def cells(row, shown=measures, **filters) -> list[reports.Cell]:
        url = link(**filters)
        matched, total = row["segments"]
        return [
            reports.Cell(
                row["values"].get(m),
                reports.show(m, row["values"].get(m)),
                row["reasons"].get(m, ""),
                url,
                f"{matched} of {total}" if m == "segments" and total else "",
            )
            for m in shown
        ]

    def counts(row, **filters) -> list[dict]:
        url = link(**filters)
        return [
            {"excerpts": n, "coded": c, "url": url}
            for n, c in zip(row["excerpts"], row["coded"], strict=True)
        ]

    paths = {code["id"]: code for code in results["codes"]}
    codes = [
        {
            **code,
            "parent_path": code["path"].rpartition("/")[0],
            "cells": cells(code, code=code["id"]),
            "counts": counts(code, code=code["id"]),
            "flag_text": reports.flag_text(code["flag"], flags),
        }
        for code in results["codes"]
    ]
    fieldnotes = []
    for note in results["fieldnotes"]:
        fieldnotes.append(
            {
                **note,
                "cells": cells(note, note_measures, fieldnote=note["id"]),
                "counts": counts(note, fieldnote=note["id"]),
                "url": link(fieldnote=note["id"]),
                "by_code": [
                    {
                        **code,
                        "path": paths[code["id"]]["path"] if code["id"] in paths else "",
                        "cells": cells(code, code=code["id"], fieldnote=note["id"]),
                        "counts": counts(code, code=code["id"], fieldnote=note["id"]),
                        "url": link(code=code["id"], fieldnote=note["id"]),
                    }
                    for code in note["codes"]
                ],
            }
        )
    pairs = {(p["first"], p["second"]): p for p in results["pairs"]}
    matrix = []
    for row_coder in coders:
        row = []
        for column in coders:
            pair = pairs.get((row_coder["id"], column["id"])) or pairs.get(
                (column["id"], row_coder["id"])
            )
            if pair is None:
                row.append({"self": True})
                continue
            alpha, kappa = pair["values"]["alpha"], pair["values"]["kappa"]
            row.append(
                {
                    "alpha": reports.show("alpha", alpha),
                    "kappa": reports.show("kappa", kappa),
                    "reason": pair["reasons"].get("alpha", ""),
                    "shade": reports.shade(alpha, flags),
                }
            )
        matrix.append({"coder": row_coder, "cells": row})
    overall = results["overall"]
    return {
        "results": results,
        "overall_cells": list(
            zip(
                [reports.MEASURES[m] for m in results["measures"]],
                cells(overall, results["measures"]),
                strict=True,
            )
        ),
        "code_labels": [reports.MEASURES[m] for m in measures],
        "note_labels": [reports.MEASURES[m] for m in note_measures],
        "kappa_elsewhere": "kappa" in results["measures"] and len(coders) != 2,
        "unitizing_elsewhere": "unitizing" in measures,
        "overall_counts": counts(overall),
        "overall_flag": reports.flag_text(overall.get("flag"), flags, "the coding as a whole"),
        "codes": codes,
        "flagged": [code for code in codes if code["flag"]],
        "fieldnotes": fieldnotes,
        "coders": coders,
        "matrix": matrix,
        "flags": flags,
        "queue_url": queue,
    }
