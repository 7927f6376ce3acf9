"""Agreement across observers, stored as a report: per code, Krippendorff's alpha of the code's
presence in each observer's notes over time windows (units = windows, coders = observers).

The comparison page computes the same figures live; a stored report keeps them with their
parameters, the codebook version, who asked and how long it took, and offers them as CSV and
XLSX. It runs as the inter-coder reports do (`coding.reports`: queued, waiting when the job
queue is down, running with a heartbeat, done or failed, run again as a new attempt);
`coding.reports.compute_report` hands reports of this kind to `compute_observer_results`.
"""

from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.codebook import version_for_report
from coding.models import AgreementReport

from .models import Meeting
from .triangulation import Options, compare_windows, triangulate
from .windows import presence


def request_observer_report(*, meeting, user, options: Options) -> AgreementReport:
    """A new observer report for `meeting` with the comparison page's options, queued; the job is
    sent once the transaction commits."""
    from coding.reports import send_report

    project = meeting.project
    with transaction.atomic():
        report = AgreementReport.objects.create(
            project=project,
            kind=AgreementReport.Kind.OBSERVERS,
            codebook_version=version_for_report(codebook=project.codebook, user=user),
            parameters={
                "meeting": meeting.pk,
                "meeting_title": meeting.title,
                "codes": list(options.codes),
                "coders": list(options.coders),
                "window": options.window,
                "mode": options.mode,
            },
            status=AgreementReport.Status.QUEUED,
            created_by=user,
        )
        transaction.on_commit(partial(send_report, report.pk, report.attempt))
    return report


def compute_observer_results(report, beat) -> dict:
    """The results to store for an observer report; `beat(progress)` records progress."""
    parameters = report.parameters
    meeting = Meeting.objects.select_related("project").filter(pk=parameters["meeting"]).first()
    if meeting is None or meeting.project_id != report.project_id:
        raise ValidationError("The meeting this report compares no longer exists.")
    # A stored report is the PI's view: every excerpt, whatever round is still blind.
    meeting.project.role = "pi"
    options = Options(
        codes=tuple(parameters["codes"]),
        coders=tuple(parameters["coders"]),
        window=parameters["window"],
        mode=parameters["mode"],
    )
    found = triangulate(meeting=meeting, user=report.created_by, options=options)
    beat(0.5)
    windows = compare_windows(found)
    beat(0.8)
    lanes = [lane for lane in found.lanes if lane.coverage]
    codes = []
    for row in windows.alpha:
        values = presence(windows.placed, windows.windows, windows.coverage, row.code.id)
        codes.append(
            {
                "id": row.code.id,
                "name": row.code.name,
                "folder": row.code.folder,
                "alpha": row.result.alpha,
                "units": row.result.units,
                "reason": row.result.reason,
                # Per observer: windows where their notes carry the code, windows they cover.
                "present": [
                    sum(v == 1 for v in values.get(lane.observer_id, [])) for lane in lanes
                ],
                "covered": [
                    sum(v is not None for v in values.get(lane.observer_id, [])) for lane in lanes
                ],
                "presence": [values.get(lane.observer_id, []) for lane in lanes],
            }
        )
    return {
        "meeting": {"id": meeting.pk, "title": meeting.title},
        "window": options.window,
        "mode": options.mode,
        "observers": [{"id": lane.observer_id, "name": lane.name} for lane in lanes],
        "windows": [
            {"label": w.label, "start": w.start.isoformat(), "end": w.end.isoformat()}
            for w in windows.windows
        ],
        "codes": codes,
        "seen_by_one": len(windows.seen),
    }


def window_text(window: str) -> str:
    return "agenda items" if window == "agenda" else f"{window}-minute windows"


def csv_rows(report) -> list[list]:
    """One row per code: its alpha across observers, and per observer the windows where their
    notes carry it."""
    results = report.results or {}
    observers = results.get("observers", [])
    header = ["code_id", "code", "folder", "krippendorff_alpha", "windows_compared", "reason"]
    header += [f"present_{o['name']}" for o in observers]
    rows = [header]
    for code in results.get("codes", []):
        rows.append(
            [
                code["id"],
                code["name"],
                code["folder"],
                "" if code["alpha"] is None else round(code["alpha"], 6),
                code["units"],
                code["reason"] or "",
                *code["present"],
            ]
        )
    return rows


def presence_rows(report) -> list[list]:
    """The reliability data itself, long format: code, window, observer, value (1, 0, blank for
    a window the observer's notes do not cover)."""
    results = report.results or {}
    observers = results.get("observers", [])
    windows = results.get("windows", [])
    rows = [["code_id", "code", "window", "window_start", "observer", "present"]]
    for code in results.get("codes", []):
        for observer, values in zip(observers, code["presence"], strict=True):
            for window, value in zip(windows, values, strict=True):
                rows.append(
                    [
                        code["id"],
                        code["name"],
                        window["label"],
                        window["start"],
                        observer["name"],
                        "" if value is None else value,
                    ]
                )
    return rows


def observer_xlsx(report) -> bytes:
    """Two sheets: Codes (alpha per code, windows present per observer) and Presence (the
    reliability data, one row per code, window and observer)."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from coding.reports import scope_text

    workbook = Workbook()
    codes = workbook.active
    codes.title = "Codes"
    codes.append([f"Agreement report {report.pk}: {scope_text(report)}"])
    codes.append([])
    for row in csv_rows(report):
        codes.append(row)
    for cell in codes[3]:
        cell.font = Font(bold=True)
    sheet = workbook.create_sheet("Presence")
    for row in presence_rows(report):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
