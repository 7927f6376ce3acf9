"""Agreement across observers stored as a report: requested from the comparison page, computed
by the report job, shown, and downloaded as CSV and XLSX with the same figures as the page."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from coding.models import AgreementReport
from coding.reports import compute_report
from meetings.observer_report import request_observer_report
from meetings.triangulation import Options, compare_windows, triangulate
from projects.demo import load_demo_study


@pytest.fixture
def demo(db):
    return load_demo_study()


def _pi(demo):
    return demo.memberships.get(role="pi").user


def _stored(demo, django_capture_on_commit_callbacks, **options):
    meeting = demo.meetings.get()
    meeting.project.role = "pi"
    with django_capture_on_commit_callbacks(execute=False):
        report = request_observer_report(
            meeting=meeting, user=_pi(demo), options=Options(**options)
        )
    compute_report(report.pk, report.attempt)
    report.refresh_from_db()
    return meeting, report


def test_the_stored_figures_are_the_pages(demo, django_capture_on_commit_callbacks):
    meeting, report = _stored(demo, django_capture_on_commit_callbacks, window="agenda")
    assert (report.kind, report.status) == ("observers", "done")
    assert report.parameters["window"] == "agenda"
    assert report.codebook_version is not None
    live = compare_windows(
        triangulate(meeting=meeting, user=_pi(demo), options=Options(window="agenda"))
    )
    stored = {code["id"]: code for code in report.results["codes"]}
    assert [row.code.id for row in live.alpha] == list(stored)
    for row in live.alpha:
        assert stored[row.code.id]["alpha"] == pytest.approx(row.result.alpha)
        assert stored[row.code.id]["units"] == row.result.units
        assert stored[row.code.id]["reason"] == row.result.reason
    assert [o["name"] for o in report.results["observers"]] == [
        "Amira Haddad",
        "Ben Carter",
        "Chloe Nkemelu",
        "Margaret Hughes",
        "Sam Whitfield",
        "Tony Reilly",
    ]
    assert len(report.results["windows"]) == 6  # the six agenda items


def test_csv_and_xlsx_hold_the_same_figures(client, demo, django_capture_on_commit_callbacks):
    _, report = _stored(demo, django_capture_on_commit_callbacks, window="15")
    client.force_login(_pi(demo))
    body = client.get(reverse("reports:csv", args=[demo.pk, report.pk])).content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:6] == [
        "code_id",
        "code",
        "folder",
        "krippendorff_alpha",
        "windows_compared",
        "reason",
    ]
    first = report.results["codes"][0]
    assert rows[1][:3] == [str(first["id"]), first["name"], first["folder"]]
    assert rows[1][4] == str(first["units"])
    assert rows[1][6:] == [str(n) for n in first["present"]]
    response = client.get(reverse("reports:xlsx", args=[demo.pk, report.pk]))
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Codes", "Presence"]
    presence = list(book["Presence"].iter_rows(values_only=True))
    assert presence[0] == ("code_id", "code", "window", "window_start", "observer", "present")
    observers, windows = report.results["observers"], report.results["windows"]
    assert len(presence) - 1 == len(report.results["codes"]) * len(observers) * len(windows)
    # The first code's values for the first observer, window by window.
    values = [row[5] for row in presence[1 : len(windows) + 1]]
    assert values == [None if v is None else v for v in first["presence"][0]]


def test_the_page_shows_the_report_and_the_compare_page_offers_it_to_pis_only(
    client, demo, django_capture_on_commit_callbacks
):
    meeting, report = _stored(demo, django_capture_on_commit_callbacks)
    client.force_login(_pi(demo))
    page = client.get(reverse("reports:detail", args=[demo.pk, report.pk])).content.decode()
    assert "Agreement across observers: report" in page
    assert "Observers of “Learning Community Event 3”, over 10-minute windows" in page
    compare = reverse("meetings:compare", args=[demo.pk, meeting.pk])
    assert "Store these figures as a report" in client.get(compare).content.decode()
    client.force_login(demo.memberships.get(user__username="amira").user)
    assert "Store these figures as a report" not in client.get(compare).content.decode()


def test_storing_from_the_page_queues_a_report_and_sends_it(
    client, demo, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "coding.reports.send_report", lambda pk, attempt: sent.append((pk, attempt))
    )
    meeting = demo.meetings.get()
    client.force_login(_pi(demo))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("meetings:observer_report", args=[demo.pk, meeting.pk]),
            {"window": "agenda", "mode": "previous"},
        )
    report = AgreementReport.objects.filter(kind="observers").latest("pk")  # not the demo's own
    assert response["Location"] == reverse("reports:detail", args=[demo.pk, report.pk])
    assert (report.parameters["window"], report.parameters["mode"]) == ("agenda", "previous")
    assert sent == [(report.pk, 1)]
