"""Agreement reports as background jobs: scope, sending, computing, storing, faults."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError

from coding import reports, tasks
from coding.agreement.study import Text, compare_study
from coding.models import AgreementReport, CodingRound, Disagreement
from projects.models import Role
from tests.factories import (
    CodeFactory,
    ExcerptFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ObserverFactory,
    UserFactory,
)

Status = AgreementReport.Status
OTHER_TEXT = "Nobody objected. Then a long silence."  # 37 characters


def _excerpt(fieldnote, coder, start, end, *codes):
    excerpt = ExcerptFactory(fieldnote=fieldnote, coder=coder, start=start, end=end)
    for code in codes:
        excerpt.excerpt_codes.create(code=code)
    return excerpt


def record_sends(monkeypatch) -> list:
    """Every job handed to the queue, instead of a broker."""
    calls = []

    def apply_async(args, **options):
        calls.append((args, options))

    monkeypatch.setattr(tasks.run_report, "apply_async", apply_async)
    return calls


def break_broker(monkeypatch) -> None:
    def apply_async(args, **options):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.run_report, "apply_async", apply_async)


@pytest.fixture
def sent(monkeypatch):
    return record_sends(monkeypatch)


@pytest.fixture
def broker_down(monkeypatch):
    break_broker(monkeypatch)


@pytest.fixture
def study(project, users, fieldnote, code):
    return make_study(project, fieldnote, code)


def make_study(project, fieldnote, code) -> dict:
    """Two coders, two codes, two fieldnotes (76 and 37 characters), six excerpts.

    Protest on the first fieldnote: Ada [0, 20) and Bo [0, 18) match (18 of 20 characters);
    Ada [30, 50) and Bo [40, 60) overlap by 10 of 30 (a partial pair). Sense-making: only Ada,
    [60, 70). On the second fieldnote Bo alone codes Protest [0, 16); nobody codes Sense-making.
    """
    ada = UserFactory(username="ada", first_name="Ada", last_name="Lovell")
    bo = UserFactory(username="bo", first_name="Bo", last_name="Chen")
    for person in (ada, bo):
        MembershipFactory(project=project, user=person, role=Role.CODER)
    sense = CodeFactory(codebook=project.codebook, name="Sense-making", parent=None)
    other = FieldnoteFactory(
        meeting=MeetingFactory(project=project, title="Follow-up"),
        observer=ObserverFactory(project=project, name="Ward sister"),
        title="Sister's notes",
        text=OTHER_TEXT,
    )
    excerpts = {
        "ada-match": _excerpt(fieldnote, ada, 0, 20, code),
        "bo-match": _excerpt(fieldnote, bo, 0, 18, code),
        "ada-partial": _excerpt(fieldnote, ada, 30, 50, code),
        "bo-partial": _excerpt(fieldnote, bo, 40, 60, code),
        "ada-sense": _excerpt(fieldnote, ada, 60, 70, sense),
        "bo-other": _excerpt(other, bo, 0, 16, code),
    }
    return {
        "ada": ada,
        "bo": bo,
        "protest": code,
        "sense": sense,
        "first": fieldnote,
        "other": other,
        "excerpts": excerpts,
    }


def _request(project, users, study, **options):
    arguments = {
        "fieldnotes": [study["first"], study["other"]],
        "coders": [study["ada"], study["bo"]],
        "codes": [study["protest"], study["sense"]],
        **options,
    }
    return reports.request_report(project=project, user=users["pi"], **arguments)


def _run(report) -> AgreementReport:
    tasks.run_report(report.pk, report.attempt)
    report.refresh_from_db()
    return report


# Asking for a report


def test_request_report_stores_scope_and_sends_on_commit(
    project, users, study, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = _request(project, users, study, threshold=0.8, exclude_uncoded=True)
    assert report.status == Status.QUEUED
    assert report.kind == AgreementReport.Kind.CODERS
    assert report.created_by == users["pi"]
    assert report.parameters == {
        "round": None,
        "fieldnotes": [study["first"].pk, study["other"].pk],
        "coders": [study["ada"].pk, study["bo"].pk],
        "codes": [study["protest"].pk, study["sense"].pk],
        "measures": ["percent", "kappa", "alpha", "unitizing", "segments"],
        "threshold": 0.8,
        "exclude_uncoded": True,
        "flag_below": [0.667, 0.8],
    }
    assert report.codebook_version.number == 1
    assert report.codebook_version.label == "Automatic, for a report (v1)"
    assert sent == [((report.pk, 1), {"retry": True, "retry_policy": reports.SEND_RETRY_POLICY})]


def test_nothing_is_sent_before_the_transaction_commits(
    project, users, study, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _request(project, users, study)
    assert sent == []
    assert len(callbacks) == 1


def test_request_report_from_a_round_takes_its_fieldnotes_and_coders(project, users, study):
    coding_round = CodingRound.objects.create(project=project, name="Pilot", blind=True)
    coding_round.fieldnotes.set([study["other"], study["first"]])
    coding_round.coders.set([study["bo"], study["ada"]])
    report = reports.request_report(project=project, user=users["pi"], coding_round=coding_round)
    assert report.coding_round == coding_round
    assert report.parameters["round"] == coding_round.pk
    assert report.parameters["fieldnotes"] == sorted([study["first"].pk, study["other"].pk])
    assert report.parameters["coders"] == sorted([study["ada"].pk, study["bo"].pk])
    # Codes default to every codable code that is not archived.
    assert report.parameters["codes"] == [study["protest"].pk, study["sense"].pk]


def test_default_codes_leave_out_folders_and_archived_codes(project, users, study):
    CodeFactory(codebook=project.codebook, name="Folder", is_codable=False)
    CodeFactory(codebook=project.codebook, name="Old", archived=True)
    report = _request(project, users, study, codes=None)
    assert report.parameters["codes"] == [study["protest"].pk, study["sense"].pk]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fieldnotes": []}, "Choose at least one fieldnote, or a coding round."),
        ({"coders": "one"}, "Choose at least two coders to compare."),
        ({"coders": "observer"}, "Only PIs, coders and the consensus coder of this project"),
        ({"coders": "outsider"}, "Only PIs, coders and the consensus coder of this project"),
        ({"fieldnotes": "foreign"}, "Some of the chosen fieldnotes are not in this project."),
        ({"codes": "folder"}, "Some of the chosen codes are not codes of this project's codebook."),
        ({"measures": []}, "Choose at least one measure."),
        ({"threshold": 0}, "The overlap for segment matching must be above 0 % and at most 100 %."),
        ({"flag_below": (0.8, 1.5)}, "Give two flag thresholds between 0 and 1"),
    ],
)
def test_request_report_refuses_a_scope_with_a_reason(project, users, study, change, message):
    arguments = {
        "fieldnotes": [study["first"]],
        "coders": [study["ada"], study["bo"]],
        "codes": [study["protest"]],
    }
    key, value = next(iter(change.items()))
    if value == "one":
        value = [study["ada"]]
    elif value in ("observer", "outsider"):
        value = [study["ada"], users[value]]
    elif value == "foreign":
        value = [FieldnoteFactory()]
    elif value == "folder":
        value = [CodeFactory(codebook=project.codebook, name="Folder", is_codable=False)]
    arguments[key] = value
    with pytest.raises(ValidationError) as raised:
        reports.request_report(project=project, user=users["pi"], **arguments)
    assert any(text.startswith(message) for text in raised.value.messages), raised.value.messages
    assert not AgreementReport.objects.exists()


def test_the_consensus_coder_can_be_compared(project, users, study):
    consensus = UserFactory(username="consensus")
    MembershipFactory(project=project, user=consensus, role=Role.CODER, is_consensus=True)
    report = _request(project, users, study, coders=[study["ada"], consensus])
    assert report.parameters["coders"] == [study["ada"].pk, consensus.pk]


# Computing a report


def test_compute_report_gives_the_engines_figures(project, users, study):
    report = _run(_request(project, users, study))
    assert report.status == Status.DONE
    assert report.progress == 1.0
    assert report.error == ""
    assert set(report.timings) == {"load", "compute", "store"}
    assert report.finished_at >= report.started_at

    ada, bo = study["ada"].pk, study["bo"].pk
    protest, sense = study["protest"].pk, study["sense"].pk
    first, other = study["first"].pk, study["other"].pk
    expected = compare_study(
        [
            Text(
                first,
                76,
                [
                    (ada, protest, 0, 20),
                    (bo, protest, 0, 18),
                    (ada, protest, 30, 50),
                    (bo, protest, 40, 60),
                    (ada, sense, 60, 70),
                ],
            ),
            Text(other, 37, [(bo, protest, 0, 16)]),
        ],
        coders=[ada, bo],
        codes=[protest, sense],
    )
    results = report.results
    assert results["coders"] == [{"id": ada, "name": "Ada Lovell"}, {"id": bo, "name": "Bo Chen"}]
    assert results["characters"] == 113
    assert results["notes"] == []

    by_code = {code["id"]: code for code in results["codes"]}
    figures = expected.by_code[protest]
    assert by_code[protest]["values"] == {
        "percent": figures.characters.percent,
        "kappa": figures.characters.cohen_kappa,
        "alpha": figures.characters.alpha,
        "unitizing": figures.unitizing,
        "segments": figures.segment_share,
    }
    assert by_code[protest]["segments"] == [2, 5]
    assert by_code[protest]["coded"] == [40, 54]
    assert by_code[protest]["excerpts"] == [2, 3]
    assert by_code[protest]["units"] == 113
    assert by_code[protest]["name"] == "Protest"
    assert by_code[protest]["path"] == "Protest"
    assert by_code[protest]["flag"] == "low"
    assert by_code[protest]["reasons"] == {}
    assert "note" not in by_code[protest]

    # Sense-making: only Ada applied it, which the report says beside its figures.
    assert by_code[sense]["values"]["alpha"] == expected.by_code[sense].characters.alpha
    assert by_code[sense]["note"] == "only Ada Lovell coded this"
    assert by_code[sense]["excerpts"] == [1, 0]

    overall = expected.overall
    assert results["overall"]["values"] == {
        "percent": overall.characters.percent,
        "kappa": overall.characters.cohen_kappa,
        "alpha": overall.characters.alpha,
        "unitizing": overall.unitizing,
        "segments": overall.segment_share,
    }
    assert results["overall"]["excerpts"] == [3, 3]
    assert results["overall"]["segments"] == [2, 6]


def test_figures_for_one_fieldnote_and_code_are_exact(project, users, study):
    """Protest on the first fieldnote, by hand: Ada coded 40 characters, Bo 38, both 28, Ada
    only 12, Bo only 10, neither 26 of 76. Percent 54/76; chance agreement (40*38 + 36*38)/76²
    = 1/2, so kappa = (54/76 - 1/2) / (1/2) = 8/19."""
    report = _run(_request(project, users, study))
    notes = {note["id"]: note for note in report.results["fieldnotes"]}
    first = notes[study["first"].pk]
    assert (first["title"], first["observer"], first["meeting"], first["length"]) == (
        "Observer's notes",
        "The observer",
        "Learning event",
        76,
    )
    cell = {code["id"]: code for code in first["codes"]}[study["protest"].pk]
    assert cell["values"]["percent"] == pytest.approx(54 / 76)
    assert cell["values"]["kappa"] == pytest.approx(8 / 19)
    assert cell["coded"] == [40, 38]
    assert cell["excerpts"] == [2, 2]
    assert cell["segments"] == [2, 4]
    # On the second fieldnote only Protest was applied; Sense-making is not listed there.
    second = notes[study["other"].pk]
    assert [code["id"] for code in second["codes"]] == [study["protest"].pk]
    assert second["codes"][0]["note"] == "only Bo Chen coded this"
    # A fieldnote over all its codes has no unitizing alpha of its own, and says so.
    assert second["reasons"]["unitizing"] == "computed per code, not per fieldnote"


def test_pairs_of_coders_pool_every_code(project, users, study):
    report = _run(_request(project, users, study))
    pooled = compare_study(
        reports.load_study(report).texts,
        coders=[study["ada"].pk, study["bo"].pk],
        codes=[study["protest"].pk, study["sense"].pk],
    ).overall.characters.pair(study["ada"].pk, study["bo"].pk)
    assert report.results["pairs"] == [
        {
            "first": study["ada"].pk,
            "second": study["bo"].pk,
            "values": {
                "alpha": pooled.alpha,
                "kappa": pooled.cohen_kappa,
                "percent": pooled.percent,
            },
            "reasons": {},
        }
    ]


def test_disagreements_are_stored_with_their_excerpts(project, users, study):
    report = _run(_request(project, users, study))
    excerpts = study["excerpts"]
    rows = list(
        Disagreement.objects.filter(report=report)
        .order_by("fieldnote", "code", "first_start")
        .values_list(
            "fieldnote",
            "code",
            "kind",
            "first_excerpt",
            "first_coder",
            "first_start",
            "first_end",
            "second_excerpt",
            "second_coder",
            "second_start",
            "second_end",
        )
    )
    first, other = study["first"].pk, study["other"].pk
    protest, sense = study["protest"].pk, study["sense"].pk
    ada, bo = study["ada"].pk, study["bo"].pk
    assert rows == [
        (first, protest, "partial", excerpts["ada-partial"].pk, ada, 30, 50,
         excerpts["bo-partial"].pk, bo, 40, 60),
        (first, sense, "unmatched", excerpts["ada-sense"].pk, ada, 60, 70,
         None, None, None, None),
        (other, protest, "unmatched", excerpts["bo-other"].pk, bo, 0, 16,
         None, None, None, None),
    ]  # fmt: skip


def test_a_partial_pair_whose_spans_matched_elsewhere_is_no_disagreement(project, users, study):
    """Ada [30, 50) also matches Bo's [30, 49), so her overlap with Bo's [40, 60) is only one
    more pairing; Bo's [40, 60) stays unmatched, and is listed once, as the partial pair."""
    _excerpt(study["first"], study["bo"], 30, 49, study["protest"])
    report = _run(_request(project, users, study))
    partial = Disagreement.objects.filter(report=report, kind="partial")
    assert list(partial.values_list("first_start", "second_start", "second_end")) == [(30, 40, 60)]
    unmatched = Disagreement.objects.filter(
        report=report, kind="unmatched", code=study["protest"], fieldnote=study["first"]
    )
    assert not unmatched.exists()


def test_later_versions_of_fieldnotes_are_compared(project, users, study):
    first = study["first"]
    newer = FieldnoteFactory(
        meeting=first.meeting, observer=first.observer, title="Observer's notes", version=2,
        previous_version=first, text=first.text + " More.",
    )  # fmt: skip
    _excerpt(newer, study["ada"], 0, 10, study["protest"])
    _excerpt(newer, study["bo"], 0, 10, study["protest"])
    report = _run(_request(project, users, study))
    assert [note["id"] for note in report.results["fieldnotes"]] == [newer.pk, study["other"].pk]
    assert report.results["fieldnotes"][0]["length"] == 82
    assert report.results["fieldnotes"][0]["segments"] == [2, 2]


def test_one_coder_is_done_with_reasons_not_zeros(project, users, study):
    coding_round = CodingRound.objects.create(project=project, name="Solo", blind=False)
    coding_round.fieldnotes.set([study["first"]])
    coding_round.coders.set([study["ada"]])
    report = reports.request_report(project=project, user=users["pi"], coding_round=coding_round)
    report = _run(report)
    assert report.status == Status.DONE
    results = report.results
    assert results["notes"] == [
        "Only one coder (Ada Lovell) is in this report, so there is nothing to compare."
    ]
    for row in [results["overall"], *results["codes"], *results["fieldnotes"]]:
        assert set(row["values"].values()) == {None}
        assert set(row["reasons"].values()) == {"only one coder in this report"}
    assert results["pairs"] == []
    assert not report.disagreements.exists()


def test_no_excerpts_is_done_with_reasons(project, users, study):
    report = _run(
        _request(
            project,
            users,
            study,
            fieldnotes=[
                FieldnoteFactory(
                    meeting=study["first"].meeting,
                    observer=study["first"].observer,
                    text="Quiet day.",
                )
            ],
        )
    )
    assert report.status == Status.DONE
    results = report.results
    assert results["notes"] == [
        "Nobody in this report has coded these fieldnotes with these codes yet."
    ]
    assert results["overall"]["values"] == dict.fromkeys(
        ["percent", "kappa", "alpha", "unitizing", "segments"]
    )
    assert set(results["overall"]["reasons"].values()) == {"nobody coded it"}
    assert results["overall"]["flag"] is None
    assert results["pairs"][0]["values"] == {"alpha": None, "kappa": None, "percent": None}
    assert results["pairs"][0]["reasons"] == dict.fromkeys(
        ["alpha", "kappa", "percent"], "neither of them coded anything"
    )


def test_no_variation_is_explained(project, users, study):
    whole = FieldnoteFactory(
        meeting=study["first"].meeting, observer=study["first"].observer, text="All of it."
    )
    for person in (study["ada"], study["bo"]):
        _excerpt(whole, person, 0, 10, study["protest"])
    report = _run(_request(project, users, study, fieldnotes=[whole], codes=[study["protest"]]))
    code = report.results["codes"][0]
    assert code["values"]["percent"] == 1.0
    assert code["values"]["segments"] == 1.0
    assert code["values"]["unitizing"] == 1.0  # identical units agree perfectly on a continuum
    assert code["reasons"] == {
        "kappa": "no variation: every coder coded the whole text",
        "alpha": "no variation: every coder coded the whole text",
    }


def test_kappa_with_three_coders_points_to_the_pairs(project, users, study):
    cai = UserFactory(username="cai", first_name="Cai", last_name="")
    MembershipFactory(project=project, user=cai, role=Role.CODER)
    report = _run(_request(project, users, study, coders=[study["ada"], study["bo"], cai]))
    assert report.results["overall"]["reasons"]["kappa"] == (
        "Cohen's kappa compares two coders and this report has 3; see the coder-by-coder table"
    )
    assert len(report.results["pairs"]) == 3


def test_only_the_chosen_measures_are_stored(project, users, study):
    report = _run(_request(project, users, study, measures=["alpha", "percent"]))
    # Alpha is always kept (the flags are set on it); the order is the fixed one.
    assert report.results["measures"] == ["percent", "alpha"]
    assert set(report.results["overall"]["values"]) == {"percent", "alpha"}


def test_coders_sharing_a_name_are_told_apart(project, users, study):
    study["bo"].first_name, study["bo"].last_name = "Ada", "Lovell"
    study["bo"].save()
    report = _run(_request(project, users, study))
    assert [c["name"] for c in report.results["coders"]] == ["Ada Lovell (ada)", "Ada Lovell (bo)"]


def test_compute_report_reads_a_fixed_number_of_queries(project, users, study):
    def queries(fieldnotes):
        report = _request(project, users, study, fieldnotes=fieldnotes)
        with CaptureQueriesContext(connection) as captured:
            _run(report)
        beats = [q for q in captured if 'SET "progress"' in q["sql"]]
        return len(captured) - len(beats), len(beats)

    many = [study["first"], study["other"]]
    for index in range(40):
        note = FieldnoteFactory(
            meeting=study["first"].meeting, observer=study["first"].observer, text="x" * 50
        )
        _excerpt(note, study["ada"], 0, 10 + index % 5, study["protest"])
        _excerpt(note, study["bo"], 2, 12, study["protest"])
        many.append(note)
    few_other, few_beats = queries([study["first"], study["other"]])
    many_other, many_beats = queries(many)
    assert few_other == many_other
    # One beat after loading, then one per text up to one per 5 % of the texts (and one per
    # half second for slow texts, which these are not).
    assert few_beats == 1 + 2
    assert many_beats == 1 + 21


def test_progress_and_heartbeat_are_written_while_computing(project, users, study, monkeypatch):
    seen = []
    real = reports._beat

    def watch(report, progress):
        real(report, progress)
        seen.append(AgreementReport.objects.values_list("progress", "status").get(pk=report.pk))

    monkeypatch.setattr(reports, "_beat", watch)
    _run(_request(project, users, study))
    assert seen == [
        (pytest.approx(0.1), "running"),
        (pytest.approx(0.5), "running"),
        (pytest.approx(0.9), "running"),
    ]


# Faults


def test_broker_down_leaves_the_report_waiting(
    project, users, study, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = _request(project, users, study)
    report.refresh_from_db()
    assert report.status == Status.WAITING
    assert report.error == reports.WAITING_MESSAGE
    assert report.heartbeat_at is not None


def test_a_waiting_report_is_sent_again_at_most_every_ten_seconds(
    project, users, study, monkeypatch, django_capture_on_commit_callbacks
):
    tries = []

    def apply_async(args, **options):
        tries.append(args)
        if len(tries) < 3:
            raise OSError("Connection refused")

    monkeypatch.setattr(tasks.run_report, "apply_async", apply_async)
    with django_capture_on_commit_callbacks(execute=True):
        report = _request(project, users, study)
    report.refresh_from_db()
    assert (report.status, len(tries)) == (Status.WAITING, 1)
    reports.refresh_report(report)  # too soon: not sent again
    assert len(tries) == 1
    AgreementReport.objects.filter(pk=report.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=11)
    )
    report.refresh_from_db()
    assert reports.refresh_report(report).status == Status.WAITING
    assert len(tries) == 2
    AgreementReport.objects.filter(pk=report.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=11)
    )
    report.refresh_from_db()
    report = reports.refresh_report(report)
    assert (report.status, report.error, len(tries)) == (Status.QUEUED, "", 3)
    assert tries[-1] == (report.pk, 1)


def test_a_silent_running_report_is_failed_when_looked_at(project, users, study, settings):
    settings.REPORT_STALL_SECONDS = 120
    report = _request(project, users, study)
    AgreementReport.objects.filter(pk=report.pk).update(
        status=Status.RUNNING, progress=0.37, heartbeat_at=timezone.now() - timedelta(seconds=100)
    )
    report.refresh_from_db()
    assert reports.refresh_report(report).status == Status.RUNNING
    AgreementReport.objects.filter(pk=report.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=121)
    )
    report.refresh_from_db()
    report = reports.refresh_report(report)
    assert report.status == Status.FAILED
    assert report.error == (
        "The worker running this report stopped responding at 37 % (no sign of it for 120 "
        "seconds): it may have been stopped or run out of memory. Run it again."
    )
    report.refresh_from_db()
    assert report.status == Status.FAILED


def test_a_redelivered_job_fails_the_report_instead_of_running_it_again(project, users, study):
    report = _request(project, users, study)
    # The first delivery claimed it and got to 42 % before its worker died.
    AgreementReport.objects.filter(pk=report.pk).update(
        status=Status.RUNNING, progress=0.42, heartbeat_at=timezone.now()
    )
    report = _run(report)
    assert report.status == Status.FAILED
    assert report.error == (
        "The worker running this report stopped at 42 % (it may have run out of memory or been "
        "restarted). Run it again."
    )
    assert report.results is None


def test_the_task_does_nothing_for_a_done_report_or_another_attempt(project, users, study):
    report = _run(_request(project, users, study))
    finished = report.finished_at
    tasks.run_report(report.pk, report.attempt)
    tasks.run_report(report.pk, report.attempt + 1)
    report.refresh_from_db()
    assert (report.status, report.finished_at) == (Status.DONE, finished)
    assert report.disagreements.count() == 3
    tasks.run_report(report.pk + 1000, 1)  # a deleted report: nothing to do


def test_run_again_starts_a_new_attempt_that_completes(
    project, users, study, sent, django_capture_on_commit_callbacks
):
    report = _request(project, users, study)
    AgreementReport.objects.filter(pk=report.pk).update(
        status=Status.FAILED, progress=0.42, error="The worker stopped.", results={"old": 1}
    )
    Disagreement.objects.create(
        report=report, fieldnote=study["first"], code=study["protest"], kind="unmatched",
        first_coder=study["ada"], first_start=0, first_end=5,
    )  # fmt: skip
    report.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        again = reports.run_again(report=report, user=users["pi"])
    assert (again.attempt, again.status, again.progress, again.error, again.results) == (
        2,
        Status.QUEUED,
        0.0,
        "",
        None,
    )
    assert not again.disagreements.exists()
    assert sent[-1][0] == (report.pk, 2)
    tasks.run_report(report.pk, 1)  # a copy of the first attempt's job: ignored
    again.refresh_from_db()
    assert again.status == Status.QUEUED
    again = _run(again)
    assert again.status == Status.DONE
    assert again.disagreements.count() == 3


def test_only_a_failed_report_runs_again(project, users, study):
    report = _run(_request(project, users, study))
    with pytest.raises(ValidationError, match=r"Only a report that failed can be run again\."):
        reports.run_again(report=report, user=users["pi"])


def test_a_report_moved_on_while_computing_is_left_alone(project, users, study, monkeypatch):
    report = _request(project, users, study)
    real = reports.load_study

    def load_then_run_again(report):
        study_ = real(report)
        AgreementReport.objects.filter(pk=report.pk).update(status=Status.FAILED, attempt=2)
        return study_

    monkeypatch.setattr(reports, "load_study", load_then_run_again)
    tasks.run_report(report.pk, 1)
    report.refresh_from_db()
    assert (report.status, report.attempt, report.results) == (Status.FAILED, 2, None)
    assert not report.disagreements.exists()


def test_an_error_while_computing_fails_the_report_with_its_message(
    project, users, study, monkeypatch
):
    def broken(*args, **kwargs):
        raise ValueError("The span 5–3 of coder 7, code 2 ends before it starts.")

    monkeypatch.setattr(reports, "compare_study", broken)
    report = _run(_request(project, users, study))
    assert report.status == Status.FAILED
    assert report.error == (
        "The report could not be computed (The span 5–3 of coder 7, code 2 ends before it "
        "starts). Run it again; if it fails the same way, the message names what to look at."
    )
