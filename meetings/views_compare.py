"""The meeting comparison page (observers on the meeting's clock) and the excerpts behind a cell."""

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from config.htmx import render_page
from projects.access import can, get_meeting_for

from .alignment import MODES
from .observer_report import request_observer_report
from .triangulation import (
    WINDOW_CHOICES,
    Options,
    compare_windows,
    layout_timeline,
    triangulate,
)

WINDOW_LABELS = {"5": "5 minutes", "10": "10 minutes", "15": "15 minutes", "agenda": "Agenda items"}
WINDOW_ADJECTIVES = {"5": "5-minute", "10": "10-minute", "15": "15-minute", "agenda": "agenda-item"}
MODE_LABELS = {
    "interpolate": "Interpolate",
    "previous": "Take the earlier one",
}


def _int(value) -> int | None:
    return int(value) if value and str(value).isdecimal() else None


@require_GET
def compare(request, project_id, meeting_id):
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="read_fieldnotes")
    options = Options.from_query(request.GET)
    result = triangulate(meeting=meeting, user=request.user, options=options)
    cell_url = reverse("meetings:compare_cell", args=[meeting.project.pk, meeting.pk])
    kept = options.query(codes=False)

    def link(**params):
        items = [(name, str(value)) for name, value in params.items()] + kept
        return f"{cell_url}?{urlencode(items)}"

    lanes = [
        {
            "lane": lane,
            "total": total,
            "url": link(observer=lane.observer_id),
            "untimed_url": link(observer=lane.observer_id, untimed=1),
        }
        for lane, total in zip(result.lanes, result.totals, strict=True)
    ]
    timeline = layout_timeline(result)
    context = {
        "project": meeting.project,
        "meeting": meeting,
        "section": "home",
        "result": result,
        "report": compare_windows(result),
        "timeline": timeline,
        "timeline_lanes": [
            {"shape": shape, "untimed_url": item["untimed_url"]}
            for shape, item in zip(timeline.lanes, lanes, strict=True)
        ],
        "lanes": lanes,
        "uncoded": [lane.name for lane in result.lanes if not lane.coded],
        "window_label": WINDOW_ADJECTIVES[options.window],
        "matrix": [
            {
                "row": row,
                "url": link(code=row.code.id),
                "cells": [
                    (cell, lane, link(code=row.code.id, observer=lane.observer_id))
                    for cell, lane in zip(row.cells, result.lanes, strict=True)
                ],
            }
            for row in result.matrix
        ],
        "all_url": link(),
        "window_choices": [(value, WINDOW_LABELS[value]) for value in WINDOW_CHOICES],
        "mode_choices": [(value, MODE_LABELS[value]) for value in MODES],
        "can_store": can(meeting.project.role, "run_reports"),
        "stored_options": options.query(),
        "choosable_codes": [
            code
            for code in result.codes.values()
            if (code.codable and not code.archived) or code.id in options.codes
        ],
    }
    return render_page(request, "meetings/compare.html", context, fragment="results")


@require_GET
def compare_cell(request, project_id, meeting_id):
    """The excerpts behind a matrix cell (code and observer), a row (code), a column (observer),
    or an observer's untimed excerpts, side by side: one column per observer."""
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="read_fieldnotes")
    options = Options.from_query(request.GET)
    code_id, observer_id = _int(request.GET.get("code")), _int(request.GET.get("observer"))
    untimed = request.GET.get("untimed") == "1"
    options = Options(codes=(code_id,) if code_id else (), coders=options.coders, mode=options.mode)
    result = triangulate(meeting=meeting, user=request.user, options=options)
    code = result.codes.get(code_id) if code_id else None
    if code_id and code is None:
        raise Http404("No such code.")
    lanes = result.lanes
    if observer_id:
        lanes = [lane for lane in lanes if lane.observer_id == observer_id]
        if not lanes:
            raise Http404("No such observer in this meeting.")
    # Notes nobody has coded have nothing to set side by side: named, but given no column.
    uncoded = [lane.name for lane in lanes if not lane.coded] if not observer_id else []
    columns = [
        (lane, lane.untimed if untimed else lane.excerpts)
        for lane in lanes
        if lane.coded or observer_id
    ]
    compare_url = reverse("meetings:compare", args=[meeting.project.pk, meeting.pk])
    kept = urlencode(options.query(codes=False))
    context = {
        "project": meeting.project,
        "meeting": meeting,
        "section": "home",
        "result": result,
        "code": code,
        "lane": lanes[0] if observer_id else None,
        "untimed": untimed,
        "columns": columns,
        "uncoded": uncoded,
        "count": sum(len(excerpts) for _, excerpts in columns),
        "back_url": f"{compare_url}?{kept}" if kept else compare_url,
        "row_url": (
            reverse("meetings:compare_cell", args=[meeting.project.pk, meeting.pk])
            + "?"
            + urlencode([("code", code.id), *options.query(codes=False)])
            if code and observer_id
            else None
        ),
    }
    return render_page(request, "meetings/compare_cell.html", context)


@require_POST
def observer_report(request, project_id, meeting_id):
    """Stores the page's agreement across observers as a report (a background job)."""
    meeting = get_meeting_for(request.user, project_id, meeting_id, need="run_reports")
    report = request_observer_report(
        meeting=meeting, user=request.user, options=Options.from_query(request.POST)
    )
    return redirect("reports:detail", meeting.project.pk, report.pk)
