"""The report pages: list and trend, the form, live progress, the report, downloads, print."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from coding import reports
from coding.models import AgreementReport, CodingRound
from tests.factories import FieldnoteFactory

from .test_reports import _excerpt, _request, _run, break_broker, make_study, record_sends

Status = AgreementReport.Status
HX = {"HX-Request": "true"}


@pytest.fixture
def study(project, users, fieldnote, code):
    return make_study(project, fieldnote, code)


@pytest.fixture
def sent(monkeypatch):
    return record_sends(monkeypatch)


@pytest.fixture
def broker_down(monkeypatch):
    break_broker(monkeypatch)


@pytest.fixture
def pi(login, users):
    return login(users["pi"])


def _url(name, report, **extra):
    return reverse(f"reports:{name}", args=[report.project_id, report.pk])


def _queue(report, **filters):
    base = reverse("adjudication:queue", args=[report.project_id, report.pk])
    query = "&amp;".join(f"{key}={value}" for key, value in filters.items())
    return f"{base}?{query}" if query else base


@pytest.fixture
def done(project, users, study):
    return _run(_request(project, users, study))


# The list


def test_list_shows_every_report_with_scope_status_and_duration(pi, project, users, study, done):
    AgreementReport.objects.filter(pk=done.pk).update(
        started_at=timezone.now() - timedelta(seconds=3), finished_at=timezone.now()
    )
    waiting = _request(project, users, study, coders=[study["ada"], study["bo"]])
    AgreementReport.objects.filter(pk=waiting.pk).update(
        status=Status.WAITING, heartbeat_at=timezone.now()
    )
    response = pi.get(reverse("reports:list", args=[project.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="{_url("detail", done)}">Report {done.pk}</a>' in html
    assert "Chosen: 2 fieldnotes, 2 coders" in html
    assert '<span class="status status-done">Done</span>' in html
    assert '<span class="status status-waiting">Waiting for the job queue</span>' in html
    assert '<td class="num">3.0 s</td>' in html
    assert "The trend appears once a report on a coding round has finished." in html
    assert response.context["section"] == "reports"


def test_trend_shows_alpha_per_code_across_rounds_oldest_first(pi, project, users, study):
    alphas = []
    for name in ("Pilot", "Second"):
        coding_round = CodingRound.objects.create(project=project, name=name, blind=False)
        coding_round.fieldnotes.set([study["first"], study["other"]])
        coding_round.coders.set([study["ada"], study["bo"]])
        report = _run(
            reports.request_report(project=project, user=users["pi"], coding_round=coding_round)
        )
        alphas.append({code["id"]: code["values"]["alpha"] for code in report.results["codes"]})
        # The second round agrees better on Protest.
        _excerpt(study["other"], study["ada"], 0, 16, study["protest"])
    response = pi.get(reverse("reports:list", args=[project.pk]))
    trend = response.context["trend"]
    assert [column["round"] for column in trend["columns"]] == ["Pilot", "Second"]
    assert [code["path"] for code in trend["codes"]] == ["Protest", "Sense-making"]
    protest = trend["codes"][0]["cells"]
    assert [cell["text"] for cell in protest] == [
        f"{alphas[0][study['protest'].pk]:.3f}",
        f"{alphas[1][study['protest'].pk]:.3f}",
    ]
    assert [cell["bar"] for cell in protest] == [
        round(alphas[0][study["protest"].pk] * 10),
        round(alphas[1][study["protest"].pk] * 10),
    ]
    # A negative alpha draws an empty bar; its value is still written.
    assert trend["codes"][1]["cells"][0]["bar"] == 0
    html = response.content.decode()
    assert f'<span class="bar-fill bar-{protest[1]["bar"]}"></span>' in html
    assert "style=" not in html


# The form


def test_form_preselects_the_round_from_the_address(pi, project, study):
    first = CodingRound.objects.create(project=project, name="Pilot", blind=False)
    second = CodingRound.objects.create(project=project, name="Second", blind=False)
    response = pi.get(reverse("reports:create", args=[project.pk]) + f"?round={second.pk}")
    html = response.content.decode()
    assert f'<option value="{second.pk}" selected>Second</option>' in html
    assert f'<option value="{first.pk}">Pilot</option>' in html
    assert 'name="scope" value="round" checked' in html
    # Every codable code is ticked to begin with, and every measure.
    for code in (study["protest"], study["sense"]):
        assert f'name="codes" value="{code.pk}" checked' in html
    for measure in reports.MEASURES:
        assert f'name="measures" value="{measure}" checked' in html
    assert 'name="threshold" value="90"' in html


def test_posting_a_round_creates_the_report_and_sends_it(
    pi, project, study, sent, django_capture_on_commit_callbacks
):
    coding_round = CodingRound.objects.create(project=project, name="Pilot", blind=False)
    coding_round.fieldnotes.set([study["first"]])
    coding_round.coders.set([study["ada"], study["bo"]])
    data = {
        "scope": "round",
        "coding_round": coding_round.pk,
        "codes": [study["protest"].pk],
        "measures": ["alpha", "segments"],
        "threshold": "80",
        "flag_low": "0.6",
        "flag_high": "0.75",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = pi.post(reverse("reports:create", args=[project.pk]), data)
    report = AgreementReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("detail", report)
    assert report.coding_round == coding_round
    assert report.parameters["codes"] == [study["protest"].pk]
    assert report.parameters["measures"] == ["alpha", "segments"]
    assert report.parameters["threshold"] == 0.8
    assert report.parameters["exclude_uncoded"] is True  # "count uncoded text" was not ticked
    assert report.parameters["flag_below"] == [0.6, 0.75]
    assert sent[0][0] == (report.pk, 1)


def test_posting_chosen_fieldnotes_needs_two_coders(pi, project, study):
    data = {
        "scope": "chosen",
        "fieldnotes": [study["first"].pk],
        "coders": [study["ada"].pk],
        "codes": [study["protest"].pk],
        "measures": ["alpha"],
        "threshold": "90",
        "count_uncoded": "on",
        "flag_low": "0.667",
        "flag_high": "0.8",
    }
    response = pi.post(reverse("reports:create", args=[project.pk]), data)
    assert response.status_code == 400
    assert "Choose at least two coders to compare." in response.content.decode()
    assert not AgreementReport.objects.exists()
    # What was chosen stays chosen.
    assert f'name="fieldnotes" value="{study["first"].pk}" checked' in response.content.decode()


def test_posting_a_round_without_choosing_one_is_refused(pi, project, study):
    response = pi.post(reverse("reports:create", args=[project.pk]), {"scope": "round"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a coding round, or choose fieldnotes and coders." in html
    assert "Choose at least one measure." in html


# Progress


def test_a_queued_report_shows_a_polled_progress_bar(pi, project, users, study):
    report = _request(project, users, study)
    html = pi.get(_url("detail", report)).content.decode()
    assert f'hx-get="{_url("progress", report)}" hx-trigger="every 1s"' in html
    assert "<strong>Queued:</strong> waiting for a worker to start it." in html
    assert '<progress max="100" value="0"' in html


def test_progress_fragment_follows_the_running_report(pi, project, users, study):
    report = _request(project, users, study)
    AgreementReport.objects.filter(pk=report.pk).update(
        status=Status.RUNNING, progress=0.456, heartbeat_at=timezone.now()
    )
    response = pi.get(_url("progress", report), headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="report-progress"')
    assert "<strong>Running:</strong> 46 % done." in html
    assert '<progress max="100" value="46"' in html
    assert "<h1>" not in html


def test_progress_asks_the_page_to_reload_when_the_report_is_done(pi, done):
    response = pi.get(_url("progress", done), headers=HX)
    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    # Outside htmx the fragment's address leads to the report.
    response = pi.get(_url("progress", done))
    assert (response.status_code, response["Location"]) == (302, _url("detail", done))


def test_polling_a_waiting_report_sends_it_again(
    pi, project, users, study, sent, django_capture_on_commit_callbacks
):
    report = _request(project, users, study)
    AgreementReport.objects.filter(pk=report.pk).update(
        status=Status.WAITING,
        error=reports.WAITING_MESSAGE,
        heartbeat_at=timezone.now() - timedelta(seconds=30),
    )
    response = pi.get(_url("progress", report), headers=HX)
    assert "<strong>Queued:</strong>" in response.content.decode()
    assert sent == [((report.pk, 1), {"retry": True, "retry_policy": reports.SEND_RETRY_POLICY})]
    report.refresh_from_db()
    assert (report.status, report.error) == (Status.QUEUED, "")


def test_a_waiting_report_says_so(pi, project, users, study, broker_down):
    report = _request(project, users, study)
    AgreementReport.objects.filter(pk=report.pk).update(
        status=Status.WAITING, heartbeat_at=timezone.now() - timedelta(seconds=30)
    )
    html = pi.get(_url("detail", report)).content.decode()
    assert (
        "<strong>Waiting for the job queue:</strong> the report will start when it is reachable."
        in html
    )


def test_a_stalled_report_shows_as_failed_with_run_again(pi, project, users, study, settings):
    settings.REPORT_STALL_SECONDS = 60
    report = _request(project, users, study)
    AgreementReport.objects.filter(pk=report.pk).update(
        status=Status.RUNNING, progress=0.5, heartbeat_at=timezone.now() - timedelta(seconds=61)
    )
    response = pi.get(_url("progress", report), headers=HX)
    assert response["HX-Refresh"] == "true"
    html = pi.get(_url("detail", report)).content.decode()
    assert "The worker running this report stopped responding at 50 %" in html
    assert f'<form method="post" action="{_url("run_again", report)}">' in html
    assert '<button type="submit">Run again</button>' in html


def test_run_again_restarts_a_failed_report(
    pi, project, users, study, sent, django_capture_on_commit_callbacks
):
    report = _request(project, users, study)
    AgreementReport.objects.filter(pk=report.pk).update(status=Status.FAILED, error="Stopped.")
    with django_capture_on_commit_callbacks(execute=True):
        response = pi.post(_url("run_again", report), follow=True)
    report.refresh_from_db()
    assert (report.status, report.attempt) == (Status.QUEUED, 2)
    assert sent[-1][0] == (report.pk, 2)
    assert "The report is running again." in response.content.decode()


def test_run_again_refuses_a_finished_report(pi, done):
    response = pi.post(_url("run_again", done), follow=True)
    assert "Only a report that failed can be run again." in response.content.decode()
    done.refresh_from_db()
    assert (done.status, done.attempt) == (Status.DONE, 1)


# The report


def test_report_shows_figures_that_link_to_their_disagreements(pi, done, study):
    response = pi.get(_url("detail", done))
    html = response.content.decode()
    protest, sense = study["protest"].pk, study["sense"].pk
    first, other = study["first"].pk, study["other"].pk
    codes = {code["id"]: code for code in done.results["codes"]}
    alpha = codes[protest]["values"]["alpha"]
    assert f'<a href="{_queue(done, code=protest)}">{alpha:.3f}</a>' in html
    # A fieldnote's code: both filters.
    cell = next(c for c in done.results["fieldnotes"][0]["codes"] if c["id"] == protest)
    assert (
        f'<a href="{_queue(done, code=protest, fieldnote=first)}">{cell["values"]["kappa"]:.3f}</a>'
    ) in html
    # A fieldnote over all codes, and the excerpts per coder.
    assert f'<a href="{_queue(done, fieldnote=other)}">0</a>' in html
    assert f'<a href="{_queue(done, code=sense)}">1</a>' in html
    # Segments: the share and what it is made of.
    assert '40.0 %</a><br><span class="muted">2 of 5</span>' in html
    # Flags in words as well as colour.
    assert '<span class="flag flag-low">Alpha below 0.667: do not rely on this code</span>' in html
    assert "only Ada Lovell coded this" in html
    # The coder-by-coder heatmap is a table with classes, never inline styles.
    pair = done.results["pairs"][0]["values"]
    assert (
        f'<td class="num agree-low">α {pair["alpha"]:.3f}<br><span class="kappa">'
        f"κ {pair['kappa']:.3f}</span></td>"
    ) in html
    assert "style=" not in html
    # How it was made.
    assert "<dt>Codebook version</dt><dd>v1 Automatic, for a report (v1)</dd>" in html
    assert "Percent agreement, Cohen&#x27;s kappa, Krippendorff&#x27;s alpha" in html
    assert "<dd>at least 90 %</dd>" in html
    assert f'href="{_url("csv", done)}"' in html
    assert f'href="{_url("xlsx", done)}"' in html
    assert f'href="{_url("print", done)}"' in html


def test_report_with_one_coder_explains_instead_of_showing_zeros(pi, project, users, study):
    report = _run(
        _request(project, users, study, coders=[study["ada"], study["bo"]], codes=[study["sense"]])
    )
    AgreementReport.objects.filter(pk=report.pk).update(results=None, status=Status.QUEUED)
    report.parameters["coders"] = [study["ada"].pk]
    AgreementReport.objects.filter(pk=report.pk).update(parameters=report.parameters)
    report = _run(AgreementReport.objects.get(pk=report.pk))
    html = pi.get(_url("detail", report)).content.decode()
    assert "Only one coder (Ada Lovell) is in this report, so there is nothing to compare." in html
    assert "only one coder in this report" in html
    assert "There is only one coder, so there are no pairs to compare." in html


def test_report_page_reads_a_fixed_number_of_queries(pi, project, users, study):
    def count(fieldnotes):
        report = _run(_request(project, users, study, fieldnotes=fieldnotes))
        with CaptureQueriesContext(connection) as queries:
            assert pi.get(_url("detail", report)).status_code == 200
        return len(queries)

    few = count([study["first"]])
    more = [FieldnoteFactory(meeting=study["first"].meeting) for _ in range(5)]
    for note in more:
        _excerpt(note, study["ada"], 0, 9, study["protest"])
    assert count([study["first"], *more]) == few


# Downloads and print


def test_csv_has_every_figure_cell_by_cell(pi, done, study):
    response = pi.get(_url("csv", done))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="ward-study-agreement-report-{done.pk}.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "level",
        "fieldnote_id",
        "fieldnote",
        "code_id",
        "code",
        "coder",
        "other_coder",
        "percent_agreement",
        "cohen_kappa",
        "krippendorff_alpha",
        "unitizing_alpha",
        "segments_matched_share",
        "segments_matched",
        "segments_total",
        "units_compared",
        "flag",
        "notes",
        "excerpts Ada Lovell",
        "excerpts Bo Chen",
        "characters coded Ada Lovell",
        "characters coded Bo Chen",
    ]
    results = done.results

    def figures(row):
        values = row["values"]
        keys = ["percent", "kappa", "alpha", "unitizing", "segments"]
        return ["" if values[k] is None else str(round(values[k], 6)) for k in keys]

    overall = results["overall"]
    assert rows[1] == [
        "overall", "", "", "", "", "", "", *figures(overall),
        "2", "6", "226", "low", "", "3", "3", "50", "54",
    ]  # fmt: skip
    protest, sense = study["protest"].pk, study["sense"].pk
    by_code = {code["id"]: code for code in results["codes"]}
    assert rows[2] == [
        "code", "", "", str(protest), "Protest", "", "", *figures(by_code[protest]),
        "2", "5", "113", "low", "", "2", "3", "40", "54",
    ]  # fmt: skip
    assert rows[3][:5] == ["code", "", "", str(sense), "Sense-making"]
    assert rows[3][16] == "only Ada Lovell coded this"
    first = study["first"].pk
    assert rows[4][:7] == ["fieldnote", str(first), "Observer's notes", "", "", "", ""]
    assert rows[4][10] == ""  # no unitizing alpha for a whole fieldnote
    assert rows[4][16] == "Unitizing alpha: computed per code, not per fieldnote"
    assert rows[5][:5] == ["fieldnote and code", str(first), "Observer's notes", str(protest),
                           "Protest"]  # fmt: skip
    assert rows[5][7:9] == [str(round(54 / 76, 6)), str(round(8 / 19, 6))]
    assert [row[0] for row in rows[6:]] == [
        "fieldnote and code",
        "fieldnote",
        "fieldnote and code",
        "coder pair",
    ]
    pair = results["pairs"][0]["values"]
    assert rows[-1] == [
        "coder pair", "", "", "", "", "Ada Lovell", "Bo Chen",
        str(round(pair["percent"], 6)), str(round(pair["kappa"], 6)),
        str(round(pair["alpha"], 6)), "", "", "", "", "", "", "",
    ]  # fmt: skip


def test_xlsx_has_four_sheets_cell_by_cell(pi, done, study):
    response = pi.get(_url("xlsx", done))
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Overall", "Codes", "Fieldnotes", "Coders"]
    results = done.results
    overall = workbook["Overall"]
    rows = [tuple(row) for row in overall.iter_rows(values_only=True)]
    assert rows[0] == ("Report", f"Agreement report {done.pk}", None)
    assert rows[1] == ("Project", "Ward study", None)
    assert rows[2] == ("Scope", "Chosen: 2 fieldnotes, 2 coders", None)
    assert rows[3] == ("Coders", "Ada Lovell, Bo Chen", None)
    assert rows[4] == ("Codebook version", "v1 Automatic, for a report (v1)", None)
    assert rows[5] == ("Ran by", users_name(done), None)
    assert rows[8] == ("Characters compared", 113, None)
    assert rows[9] == ("Overlap for matching segments", 0.9, None)
    assert rows[10] == ("Uncoded text counted", "yes", None)
    assert rows[11] == ("Flag thresholds (alpha)", "0.667, 0.8", None)
    assert rows[13] == ("Measure", "Value", "Why there is none")
    values = results["overall"]["values"]
    assert rows[14:] == [
        ("Percent agreement", pytest.approx(values["percent"]), None),
        ("Cohen's kappa", pytest.approx(values["kappa"]), None),
        ("Krippendorff's alpha", pytest.approx(values["alpha"]), None),
        ("Unitizing alpha", pytest.approx(values["unitizing"]), None),
        ("Segments matched", pytest.approx(values["segments"]), None),
    ]
    codes = [tuple(row) for row in workbook["Codes"].iter_rows(values_only=True)]
    assert codes[0] == (
        "Code", "Path", "Percent agreement", "Cohen's kappa", "Krippendorff's alpha",
        "Unitizing alpha", "Segments matched", "Segments matched", "Segments", "Notes",
        "Excerpts: Ada Lovell", "Excerpts: Bo Chen", "Characters coded: Ada Lovell",
        "Characters coded: Bo Chen", "Flag",
    )  # fmt: skip
    protest = results["codes"][0]["values"]
    assert codes[1] == (
        "Protest", "Protest", *map(pytest.approx, (protest["percent"], protest["kappa"],
        protest["alpha"], protest["unitizing"], protest["segments"])), 2, 5, None, 2, 3, 40, 54,
        "Alpha below 0.667: do not rely on this code",
    )  # fmt: skip
    assert codes[2][0] == "Sense-making"
    assert codes[2][9] == "only Ada Lovell coded this"
    notes = [tuple(row) for row in workbook["Fieldnotes"].iter_rows(values_only=True)]
    assert notes[1][:4] == ("Observer's notes", "The observer", "Learning event", "All codes")
    assert notes[1][7] is None  # unitizing alpha, per code only
    assert notes[2][:4] == ("Observer's notes", "The observer", "Learning event", "Protest")
    assert notes[2][4] == pytest.approx(54 / 76)
    assert notes[2][5] == pytest.approx(8 / 19)
    assert len(notes) == 1 + 3 + 2
    coders = [tuple(row) for row in workbook["Coders"].iter_rows(values_only=True)]
    pair = results["pairs"][0]["values"]
    assert coders == [
        ("Coder", "Other coder", "Krippendorff's alpha", "Cohen's kappa", "Percent agreement",
         "Notes"),
        ("Ada Lovell", "Bo Chen", *map(pytest.approx, (pair["alpha"], pair["kappa"],
         pair["percent"])), None),
        (None, None, None, None, None, None),
        ("Coder", "Excerpts", "Characters coded", None, None, None),
        ("Ada Lovell", 3, 50, None, None, None),
        ("Bo Chen", 3, 54, None, None, None),
    ]  # fmt: skip


def users_name(report):
    return report.created_by.get_full_name() or report.created_by.username


def test_xlsx_writes_formulas_as_text(pi, project, users, study):
    study["protest"].name = '=HYPERLINK("http://example.org")'
    study["protest"].save()
    report = _run(_request(project, users, study))
    workbook = load_workbook(io.BytesIO(pi.get(_url("xlsx", report)).content))
    cell = workbook["Codes"]["A2"]
    assert cell.value == '=HYPERLINK("http://example.org")'
    assert cell.data_type == "s"


def test_downloads_of_an_unfinished_report_lead_back_to_it(pi, project, users, study):
    report = _request(project, users, study)
    for name in ("csv", "xlsx"):
        response = pi.get(_url(name, report), follow=True)
        assert response.redirect_chain == [(_url("detail", report), 302)]
        assert "This report has no results to download yet." in response.content.decode()


def test_print_page_has_the_report_without_the_site_around_it(pi, done):
    response = pi.get(_url("print", done))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Ward study: agreement report" in html
    assert 'class="project-nav"' not in html
    assert '<details class="fieldnote-codes"' in html and " open>" in html
    assert "How this report was made" in html
    assert "<script" not in html
