"""Agreement reports: the scope a PI asks for, the background job's life, and what it stores.

A report's life: `request_report` stores the scope and creates the report QUEUED, and once the
transaction commits sends `coding.tasks.run_report(report id, attempt)`. When the job queue
cannot be reached the report is WAITING, and `refresh_report` (called whenever a page looks at
the report) sends it again, at most every RESEND_EVERY. The task claims the report (RUNNING),
`compute_report` loads the study with a fixed number of queries, hands plain spans to
`coding.agreement.study.compare_study` while beating (`progress`, `heartbeat_at`), and stores the
results and the disagreements in one transaction (DONE). A job that meets its report RUNNING
under the same attempt is a redelivery after its worker died, and fails the report instead of
running again a job that may be what kills workers; a RUNNING report whose heartbeat is older
than REPORT_STALL_SECONDS has lost its worker and is failed when a page looks at it. `run_again`
gives the report a new attempt number, so that any copy of an older job does nothing.

Scope decisions: a code counts where it was applied itself. Coding a child code is not coding
its parent: coders choose the most specific code, and counting the child under its parent as
well would count one decision twice. Folders cannot be applied, so they are never compared;
choosing a folder's codes means ticking them. Fieldnotes are compared in their latest version,
the one their excerpts live on.
"""

import csv
import io
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone

from config import jobs
from fieldnotes.models import Fieldnote
from projects.models import Membership, Role

from .agreement.characters import MAX_CODERS, CharacterResult, pool
from .agreement.study import Figures, Text, compare_study
from .codebook import version_for_report
from .models import AgreementReport, Code, CodingRound, Disagreement, ExcerptCode

logger = logging.getLogger(__name__)

Status = AgreementReport.Status

# Column names in the CSV download, for R and pandas.
CSV_NAMES = {
    "percent": "percent_agreement",
    "kappa": "cohen_kappa",
    "alpha": "krippendorff_alpha",
    "unitizing": "unitizing_alpha",
    "segments": "segments_matched_share",
}
MEASURES = {
    "percent": "Percent agreement",
    "kappa": "Cohen's kappa",
    "alpha": "Krippendorff's alpha",
    "unitizing": "Unitizing alpha",
    "segments": "Segments matched",
}
DEFAULT_FLAGS = (0.667, 0.8)
SEND_RETRY_POLICY = jobs.SEND_RETRY_POLICY
# Where each phase ends on the progress bar: loading is one quick read, storing one transaction.
LOADED, COMPUTED = 0.1, 0.9
DISAGREEMENT_BATCH = 2000


def _run_report_task():
    from .tasks import run_report

    return run_report


JOB = jobs.JobLife(AgreementReport, _run_report_task, noun="report")
WAITING_MESSAGE = JOB.waiting_message


# Asking for a report


@dataclass(frozen=True)
class Scope:
    coding_round: CodingRound | None
    fieldnotes: list[int]
    coders: list[int]
    codes: list[int]


def comparable_coders(project):
    """Members whose coding a report may compare: PIs, coders and the consensus coder."""
    return Membership.objects.filter(project=project).filter(
        Q(role__in=(Role.PI, Role.CODER)) | Q(is_consensus=True)
    )


def _ids(items) -> list[int]:
    return list(dict.fromkeys(getattr(item, "pk", item) for item in items))


def _scope(project, coding_round, fieldnotes, coders, codes) -> Scope:
    errors = []
    if coding_round is not None:
        if coding_round.project_id != project.pk:
            raise ValidationError("That coding round belongs to another project.")
        fieldnote_ids = list(coding_round.fieldnotes.order_by("pk").values_list("pk", flat=True))
        coder_ids = list(coding_round.coders.order_by("pk").values_list("pk", flat=True))
        if not fieldnote_ids:
            errors.append(
                "This coding round has no fieldnotes yet, so there is nothing to compare."
            )
    else:
        fieldnote_ids = _ids(fieldnotes or ())
        coder_ids = _ids(coders or ())
        known = set(
            Fieldnote.objects.in_project(project)
            .filter(pk__in=fieldnote_ids)
            .values_list("pk", flat=True)
        )
        if not fieldnote_ids:
            errors.append("Choose at least one fieldnote, or a coding round.")
        elif known != set(fieldnote_ids):
            errors.append("Some of the chosen fieldnotes are not in this project.")
        allowed = set(
            comparable_coders(project).filter(user__in=coder_ids).values_list("user", flat=True)
        )
        if len(coder_ids) < 2:
            errors.append("Choose at least two coders to compare.")
        elif allowed != set(coder_ids):
            errors.append(
                "Only PIs, coders and the consensus coder of this project can be compared."
            )
    if len(coder_ids) > MAX_CODERS:
        errors.append(f"A report compares at most {MAX_CODERS} coders.")
    codable = Code.objects.filter(codebook__project=project, is_codable=True)
    if codes:
        code_ids = _ids(codes)
        if set(codable.filter(pk__in=code_ids).values_list("pk", flat=True)) != set(code_ids):
            errors.append("Some of the chosen codes are not codes of this project's codebook.")
    else:
        code_ids = list(codable.filter(archived=False).values_list("pk", flat=True))
        if not code_ids:
            errors.append("The codebook has no codes to compare yet.")
    if errors:
        raise ValidationError(errors)
    return Scope(coding_round, fieldnote_ids, coder_ids, code_ids)


def _check_options(measures, threshold, flag_below) -> tuple[list[str], float, list[float]]:
    chosen = set(measures)
    measures = [measure for measure in MEASURES if measure in chosen]
    errors = []
    if chosen - set(MEASURES):
        errors.append(f"Unknown measures: {', '.join(sorted(chosen - set(MEASURES)))}.")
    if not measures:
        errors.append("Choose at least one measure.")
    if not 0 < threshold <= 1:
        errors.append("The overlap for segment matching must be above 0 % and at most 100 %.")
    flags = sorted(float(value) for value in flag_below)
    if len(flags) != 2 or not all(0 < value <= 1 for value in flags):
        errors.append("Give two flag thresholds between 0 and 1, such as 0.667 and 0.8.")
    if errors:
        raise ValidationError(errors)
    return measures, float(threshold), flags


def request_report(
    *,
    project,
    user,
    coding_round=None,
    fieldnotes=None,
    coders=None,
    codes=None,
    measures=tuple(MEASURES),
    threshold=0.9,
    exclude_uncoded=False,
    flag_below=DEFAULT_FLAGS,
) -> AgreementReport:
    """A new report, queued; the job is sent once the transaction commits. A round gives the
    fieldnotes and coders; otherwise name the fieldnotes and at least two coders. Codes default
    to every codable code that is not archived."""
    scope = _scope(project, coding_round, fieldnotes, coders, codes)
    measures, threshold, flags = _check_options(measures, threshold, flag_below)
    with transaction.atomic():
        report = AgreementReport.objects.create(
            project=project,
            coding_round=scope.coding_round,
            kind=AgreementReport.Kind.CODERS,
            codebook_version=version_for_report(codebook=project.codebook, user=user),
            parameters={
                "round": scope.coding_round.pk if scope.coding_round else None,
                "fieldnotes": scope.fieldnotes,
                "coders": scope.coders,
                "codes": scope.codes,
                "measures": measures,
                "threshold": threshold,
                "exclude_uncoded": bool(exclude_uncoded),
                "flag_below": flags,
            },
            status=Status.QUEUED,
            created_by=user,
        )
        transaction.on_commit(partial(send_report, report.pk, report.attempt))
    return report


def send_report(report_id: int, attempt: int) -> bool:
    """Hands the job to the queue; never raises. When the queue is unreachable the report
    waits, and `refresh_report` tries again."""
    return JOB.send(report_id, attempt)


def refresh_report(report: AgreementReport) -> AgreementReport:
    """What a page should show: a waiting report is sent again (at most every RESEND_EVERY), a
    running report whose worker stopped beating is failed. Returns the report as it now is."""
    return JOB.refresh(report)


def run_again(*, report, user) -> AgreementReport:
    """A failed report, computed again as a new attempt with the same scope."""
    with transaction.atomic():
        locked = AgreementReport.objects.select_for_update().get(pk=report.pk)
        if locked.status != Status.FAILED:
            raise ValidationError("Only a report that failed can be run again.")
        locked.disagreements.all().delete()
        locked.attempt += 1
        locked.status = Status.QUEUED
        locked.progress = 0.0
        locked.error = ""
        locked.results = None
        locked.timings = {}
        locked.started_at = locked.finished_at = locked.heartbeat_at = None
        locked.codebook_version = version_for_report(codebook=report.project.codebook, user=user)
        locked.save()
        transaction.on_commit(partial(send_report, locked.pk, locked.attempt))
    return locked


# Computing a report


def _claim(report_id: int, attempt: int) -> AgreementReport | None:
    return JOB.claim(report_id, attempt)


def _beat(report, progress: float) -> None:
    """Records progress; stops the computation when the report is no longer this job's."""
    JOB.beat(report, progress)


def _beats(report, begin: float, end: float) -> jobs.Beats:
    """The engine's progress callback, writing at most every 5 % or half a second."""
    return jobs.Beats(lambda progress: _beat(report, progress), begin, end)


@dataclass
class Study:
    texts: list[Text]
    fieldnotes: dict  # latest fieldnote id -> (title, observer name, meeting title, length)
    coders: list[int]
    names: dict  # coder id -> display name
    codes: list[int]
    code_info: dict  # code id -> (name, path)
    spans: dict  # (fieldnote, coder, code, start, end) -> excerpt id
    # Excerpt ids per coder: by (fieldnote, code), by fieldnote, by code, over everything.
    excerpts: dict


def _latest_versions(project, chosen: Iterable[int]) -> list[int]:
    """Each chosen fieldnote's latest version, in the order chosen, without repeats."""
    following = {
        previous: pk
        for pk, previous in Fieldnote.objects.in_project(project)
        .filter(previous_version__isnull=False)
        .values_list("pk", "previous_version_id")
    }
    latest = []
    for pk in chosen:
        while pk in following:
            pk = following[pk]
        latest.append(pk)
    return list(dict.fromkeys(latest))


def _code_paths(rows) -> dict[int, tuple[str, str]]:
    parents = {pk: parent for pk, parent, _ in rows}
    names = {pk: name for pk, _, name in rows}
    paths: dict[int, str] = {}

    def path(pk):
        if pk not in paths:
            parent = parents.get(pk)
            paths[pk] = f"{path(parent)}/{names[pk]}" if parent in names else names[pk]
        return paths[pk]

    return {pk: (names[pk], path(pk)) for pk in names}


def _distinct_names(names: dict, usernames: dict) -> dict:
    """Display names, with the user name added where two coders share a name: the report's
    columns are told apart by them."""
    seen: dict[str, int] = defaultdict(int)
    for name in names.values():
        seen[name] += 1
    return {
        pk: f"{name} ({usernames[pk]})" if seen[name] > 1 and name != usernames[pk] else name
        for pk, name in names.items()
    }


def load_study(report: AgreementReport) -> Study:
    """Everything the engine needs, as plain values, in five queries whatever the study's size:
    the codebook, the fieldnotes' later versions, the fieldnotes' lengths (the texts themselves
    never leave the database), every code applied by the chosen coders, and the coders' names."""
    parameters = report.parameters
    project = report.project
    code_info = _code_paths(
        Code.objects.filter(codebook__project=project).values_list("pk", "parent_id", "name")
    )
    codes = [pk for pk in parameters["codes"] if pk in code_info]
    fieldnote_ids = _latest_versions(project, parameters["fieldnotes"])
    rows = (
        Fieldnote.objects.filter(pk__in=fieldnote_ids)
        .annotate(length=Length("text"))
        .values_list("pk", "title", "observer__name", "meeting__title", "length")
    )
    found = {
        pk: (title, observer, meeting, length) for pk, title, observer, meeting, length in rows
    }
    fieldnote_ids = [pk for pk in fieldnote_ids if pk in found]
    people = (
        get_user_model()
        .objects.filter(pk__in=parameters["coders"])
        .values_list("pk", "first_name", "last_name", "username")
    )
    names, usernames = {}, {}
    for pk, first, last, username in people:
        names[pk], usernames[pk] = f"{first} {last}".strip() or username, username
    coders = [pk for pk in parameters["coders"] if pk in names]
    names = _distinct_names(names, usernames)
    spans: dict[int, list] = {pk: [] for pk in fieldnote_ids}
    ids, excerpts = {}, defaultdict(set)
    applied = ExcerptCode.objects.filter(
        excerpt__fieldnote_id__in=fieldnote_ids,
        excerpt__coder_id__in=coders,
        code_id__in=codes,
    ).values_list(
        "excerpt__fieldnote_id",
        "excerpt__coder_id",
        "code_id",
        "excerpt__start",
        "excerpt__end",
        "excerpt_id",
    )
    for fieldnote, coder, code, start, end, excerpt in applied.iterator(chunk_size=10_000):
        spans[fieldnote].append((coder, code, start, end))
        ids.setdefault((fieldnote, coder, code, start, end), excerpt)
        for key in ((fieldnote, code), fieldnote, ("code", code), None):
            excerpts[key, coder].add(excerpt)
    texts = [Text(pk, found[pk][3], spans[pk]) for pk in fieldnote_ids]
    fieldnotes = {pk: found[pk] for pk in fieldnote_ids}
    return Study(texts, fieldnotes, coders, names, codes, code_info, ids, excerpts)


def compute_report(report_id: int, attempt: int) -> None:
    """Computes and stores one attempt of a report; does nothing when the report is done,
    failed, or has moved on to another attempt."""
    report = _claim(report_id, attempt)
    if report is None:
        return
    try:
        if report.kind == AgreementReport.Kind.OBSERVERS:
            _compute_observers(report)
            return
        began = time.perf_counter()
        study = load_study(report)
        _beat(report, LOADED)
        loaded = time.perf_counter()
        parameters = report.parameters
        result = compare_study(
            study.texts,
            coders=study.coders,
            codes=study.codes,
            exclude_uncoded=parameters["exclude_uncoded"],
            threshold=parameters["threshold"],
            unitizing="unitizing" in parameters["measures"],
            segments=True,  # the disagreements come from segment matching, whatever is shown
            progress=_beats(report, LOADED, COMPUTED),
        )
        computed = time.perf_counter()
        timings = {"load": loaded - began, "compute": computed - loaded}
        _store(report, study, result, timings=timings, began=computed)
    except jobs.Superseded:
        logger.info("Report %s attempt %s was superseded while computing.", report_id, attempt)
    except Exception as error:
        logger.exception("Report %s attempt %s failed.", report_id, attempt)
        JOB.fail(
            report_id,
            attempt,
            f"The report could not be computed ({str(error).rstrip('.')}). Run it again; "
            "if it fails the same way, the message names what to look at.",
        )


def _compute_observers(report) -> None:
    """Agreement across observers of one meeting (`meetings.observer_report`)."""
    from meetings.observer_report import compute_observer_results

    began = time.perf_counter()
    results = compute_observer_results(report, partial(_beat, report))
    with _finishing(report) as current:
        current.results = results
        current.timings = {"load": 0.0, "compute": time.perf_counter() - began, "store": 0.0}


def _store(report, study, result, *, timings, began) -> None:
    results = build_results(study, result, report.parameters)
    with _finishing(report) as current:
        current.disagreements.all().delete()
        if len(study.coders) >= 2:
            _insert_disagreements(disagreement_rows(current.pk, study, result))
        current.results = results
        current.timings = {**timings, "store": time.perf_counter() - began}


def _finishing(report):
    """One transaction in which the caller writes the results of a report this job still owns
    (else Superseded), then marks it done."""
    return JOB.finishing(report, ["results", "timings"])


DISAGREEMENT_COLUMNS = (
    "report",
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
    "resolution",
)


def disagreement_rows(report_id: int, study: Study, result) -> Iterable[tuple]:
    """One row (DISAGREEMENT_COLUMNS) per pair of spans that overlap without matching, and one
    per span nobody matched that is not already part of such a pair (adjudicating the pair
    settles it). A pair whose spans both found a match elsewhere is left out: the coders agree
    on both spans."""
    partial, alone = Disagreement.Kind.PARTIAL.value, Disagreement.Kind.UNMATCHED.value
    for fieldnote, found in result.segments.items():
        unmatched = {segment for segments in found.unmatched.values() for segment in segments}
        paired = set()
        for first, second in found.partial:
            if first not in unmatched and second not in unmatched:
                continue
            paired.update((first, second))
            yield (
                report_id, fieldnote, first.code, partial,
                study.spans.get((fieldnote, *first)), first.coder, first.start, first.end,
                study.spans.get((fieldnote, *second)), second.coder, second.start, second.end,
                "",
            )  # fmt: skip
        for segments in found.unmatched.values():
            for segment in segments:
                if segment not in paired:
                    yield (
                        report_id, fieldnote, segment.code, alone,
                        study.spans.get((fieldnote, *segment)), segment.coder, segment.start,
                        segment.end, None, None, None, None, "",
                    )  # fmt: skip


def _insert_disagreements(rows: Iterable[tuple]) -> None:
    """Rows straight from tuples, without a model instance each: a report of 40,000 excerpts
    has some 12,000 disagreements, and building and saving instances took longer than the
    statistics. PostgreSQL takes them through COPY, other databases as multi-row INSERTs."""
    meta = Disagreement._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in DISAGREEMENT_COLUMNS)
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        width = len(DISAGREEMENT_COLUMNS)
        per_statement = min(DISAGREEMENT_BATCH, connection.features.max_query_params // width)
        one = "(" + ", ".join(["%s"] * width) + ")"
        rows = list(rows)
        for begin in range(0, len(rows), per_statement):
            chunk = rows[begin : begin + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([one] * len(chunk)),
                [value for row in chunk for value in row],
            )


# What a report stores


def _reason(measure: str, figures: Figures, coders: list, exclude_uncoded: bool) -> str:
    """Why a coefficient is undefined, in words a PI can act on."""
    characters = figures.characters
    if len(coders) < 2:
        return "only one coder in this report" if coders else "no coders in this report"
    if not any(characters.coded.values()):
        return "nobody coded it"
    if measure == "kappa" and len(coders) != 2:
        return (
            f"Cohen's kappa compares two coders and this report has {len(coders)}; "
            "see the coder-by-coder table"
        )
    if characters.units == 0:
        return "no text to compare"
    if measure == "unitizing":
        return "no variation: no disagreement could be expected by chance"
    if exclude_uncoded:
        return "no variation: every coder coded every character compared"
    return "no variation: every coder coded the whole text"


def _row(
    figures: Figures, study: Study, parameters: dict, excerpts: list[int], *, whole_text=False
) -> dict:
    """Figures for one cell of the report. Alpha is always kept: the flags are set on it.
    `whole_text`: one fieldnote over all its codes, which has no unitizing alpha of its own."""
    characters = figures.characters
    coders = study.coders
    every = {
        "percent": characters.percent,
        "kappa": characters.cohen_kappa,
        "alpha": characters.alpha,
        "unitizing": figures.unitizing,
        "segments": figures.segment_share,
    }
    measures = list(dict.fromkeys([*parameters["measures"], "alpha"]))
    # Nothing to compare gives no figure at all: with one coder every segment is "unmatched",
    # and where nobody coded, agreement on leaving text alone (100 %) says nothing.
    comparable = len(coders) >= 2 and any(characters.coded.values())
    values = {m: every[m] if comparable else None for m in measures}
    reasons = {
        measure: _reason(measure, figures, coders, parameters["exclude_uncoded"])
        for measure, value in values.items()
        if value is None
    }
    if whole_text and comparable and "unitizing" in values:
        reasons["unitizing"] = "computed per code, not per fieldnote"
    row = {
        "values": values,
        "reasons": reasons,
        "units": characters.units,
        "coded": [characters.coded.get(coder, 0) for coder in coders],
        "excerpts": excerpts,
        "segments": [figures.segments_matched, figures.segments_total],
    }
    who = [coder for coder in coders if characters.coded.get(coder)]
    if len(coders) >= 2 and len(who) == 1:
        row["note"] = f"only {study.names[who[0]]} coded this"
    return row


def _flag(alpha: float | None, flags: list[float]) -> str | None:
    """ "low" below the lower threshold (Krippendorff: do not rely on the code), "tentative"
    below the higher one (tentative conclusions only)."""
    if alpha is None:
        return None
    low, high = flags
    if alpha < low:
        return "low"
    if alpha < high:
        return "tentative"
    return None


def _pooled(per_code: dict, codes: list, coders: list) -> Figures:
    """One fieldnote's figures over all codes (unitizing alpha is per code and overall only)."""
    if not codes:
        return Figures(pool([_nothing(coders)]))
    return Figures(
        pool(per_code[code].characters for code in codes),
        None,
        sum(per_code[code].segments_matched for code in codes),
        sum(per_code[code].segments_total for code in codes),
    )


def _nothing(coders) -> CharacterResult:
    return CharacterResult(tuple(coders), 0, dict.fromkeys(coders, 0), (0,) * (len(coders) + 1))


def build_results(study: Study, result, parameters: dict) -> dict:
    """The report as JSON: figures overall, per code, per fieldnote (over its codes, and per
    code for the codes someone applied there) and per pair of coders; per coder the characters
    coded and the excerpts; for every undefined coefficient the reason."""
    coders = study.coders
    flags = parameters["flag_below"]

    def excerpts(key) -> list[int]:
        return [len(study.excerpts.get((key, coder), ())) for coder in coders]

    codes = []
    for code in study.codes:
        row = _row(result.by_code[code], study, parameters, excerpts(("code", code)))
        name, path = study.code_info[code]
        flag = _flag(row["values"]["alpha"], flags)
        codes.append({"id": code, "name": name, "path": path, "flag": flag, **row})
    fieldnotes = []
    for pk, (title, observer, meeting, length) in study.fieldnotes.items():
        per_code = result.by_text[pk]
        fieldnotes.append(
            {
                "id": pk,
                "title": title,
                "observer": observer,
                "meeting": meeting,
                "length": length,
                **_row(
                    _pooled(per_code, study.codes, coders),
                    study,
                    parameters,
                    excerpts(pk),
                    whole_text=True,
                ),
                "codes": [
                    {"id": code, **_row(per_code[code], study, parameters, excerpts((pk, code)))}
                    for code in study.codes
                    if any(per_code[code].characters.coded.values())
                ],
            }
        )
    pairs = []
    pooled = result.overall.characters
    for i, first in enumerate(coders):
        for second in coders[i + 1 :]:
            pair = pooled.pair(first, second)
            values = {"alpha": pair.alpha, "kappa": pair.cohen_kappa, "percent": pair.percent}
            reason = "no variation: both coded every character compared"
            if not any(pair.coded.values()):
                values = dict.fromkeys(values)
                reason = "neither of them coded anything"
            reasons = {measure: reason for measure, value in values.items() if value is None}
            pairs.append({"first": first, "second": second, "values": values, "reasons": reasons})
    notes = []
    if len(coders) < 2:
        notes.append(
            f"Only one coder ({study.names[coders[0]]}) is in this report, so there is nothing "
            "to compare."
            if coders
            else "No coder is in this report, so there is nothing to compare."
        )
    elif not study.spans:
        notes.append("Nobody in this report has coded these fieldnotes with these codes yet.")
    overall = _row(result.overall, study, parameters, excerpts(None))
    return {
        "coders": [{"id": coder, "name": study.names[coder]} for coder in coders],
        "measures": parameters["measures"],
        "notes": notes,
        "characters": sum(text.length for text in study.texts),
        "overall": {**overall, "flag": _flag(overall["values"]["alpha"], flags)},
        "codes": codes,
        "fieldnotes": fieldnotes,
        "pairs": pairs,
    }


# Reading a stored report: the pages, the trend across rounds and the downloads


@dataclass(frozen=True)
class Cell:
    value: float | None
    text: str  # the value as shown, or a dash
    reason: str = ""  # why there is no value
    url: str = ""  # the disagreements behind it
    detail: str = ""  # what it is made of, such as "12 of 15" segments


def show(measure: str, value: float | None) -> str:
    if value is None:
        return "—"
    if measure in ("percent", "segments"):
        return f"{value * 100:.1f} %"
    return f"{value:.3f}"


def flag_text(flag: str | None, flags: list[float], what: str = "this code") -> str:
    if flag == "low":
        return f"Alpha below {flags[0]:g}: do not rely on {what}"
    if flag == "tentative":
        return f"Alpha below {flags[1]:g}: tentative conclusions only"
    return ""


def shade(value: float | None, flags: list[float]) -> str:
    """The heatmap's CSS class for an alpha: one of four, named for what they mean."""
    if value is None:
        return "agree-none"
    if value < flags[0]:
        return "agree-low"
    if value < flags[1]:
        return "agree-tentative"
    return "agree-good"


def scope_text(report: AgreementReport) -> str:
    parameters = report.parameters or {}
    if report.kind == AgreementReport.Kind.OBSERVERS:
        from meetings.observer_report import window_text

        title = parameters.get("meeting_title", "a meeting")
        return f"Observers of “{title}”, over {window_text(parameters.get('window', ''))}"
    fieldnotes = len(parameters.get("fieldnotes", ()))
    coders = len(parameters.get("coders", ()))
    counts = f"{fieldnotes} fieldnote{'s' * (fieldnotes != 1)}, {coders} coder{'s' * (coders != 1)}"
    if report.coding_round_id:
        return f"Round “{report.coding_round.name}”: {counts}"
    if parameters.get("round"):
        return f"A round since deleted: {counts}"
    return f"Chosen: {counts}"


def elapsed(report: AgreementReport) -> float | None:
    if report.started_at and report.finished_at and report.status == Status.DONE:
        return (report.finished_at - report.started_at).total_seconds()
    return None


def trend(project, *, limit: int = 8) -> dict:
    """Alpha per code in the latest finished reports on coding rounds, oldest first; only each
    report's per-code figures are read, not the rest of its results."""
    rows = list(
        AgreementReport.objects.filter(
            project=project, status=Status.DONE, coding_round__isnull=False
        )
        .order_by("-created_at", "-pk")
        .values_list("pk", "coding_round__name", "created_at", "results__codes")[:limit]
    )
    rows.reverse()
    columns = [{"id": pk, "round": name, "at": at} for pk, name, at, _ in rows]
    codes: dict[int, dict] = {}
    for index, (_, _, _, per_code) in enumerate(rows):
        for code in per_code or ():
            entry = codes.setdefault(
                code["id"], {"path": code["path"], "cells": [None] * len(rows)}
            )
            alpha = code["values"].get("alpha")
            entry["cells"][index] = {
                "text": show("alpha", alpha),
                "reason": code["reasons"].get("alpha", ""),
                # Bars in tenths, as CSS classes: the stylesheet allows no inline widths.
                "bar": None if alpha is None else max(0, min(10, round(alpha * 10))),
            }
    ordered = sorted(codes.values(), key=lambda entry: entry["path"].casefold())
    return {"columns": columns, "codes": ordered}


def _coder_names(results) -> dict[int, str]:
    return {coder["id"]: coder["name"] for coder in results["coders"]}


def csv_rows(report: AgreementReport) -> list[list]:
    """The whole report as one tidy table: a row per figure set, a column per measure."""
    results = report.results
    measures = results["measures"]
    coders = results["coders"]
    header = [
        "level",
        "fieldnote_id",
        "fieldnote",
        "code_id",
        "code",
        "coder",
        "other_coder",
        *(CSV_NAMES[m] for m in measures),
        "segments_matched",
        "segments_total",
        "units_compared",
        "flag",
        "notes",
        *(f"excerpts {coder['name']}" for coder in coders),
        *(f"characters coded {coder['name']}" for coder in coders),
    ]
    names = _coder_names(results)
    paths = {code["id"]: code["path"] for code in results["codes"]}

    def figures(row, with_coders=True):
        values = [_number(row["values"].get(m)) for m in measures]
        notes = "; ".join(
            [*(f"{MEASURES[m]}: {row['reasons'][m]}" for m in measures if m in row["reasons"])]
            + ([row["note"]] if row.get("note") else [])
        )
        tail = [*row["excerpts"], *row["coded"]] if with_coders else []
        return [*values, *row["segments"], row["units"], row.get("flag") or "", notes, *tail]

    rows = [header, ["overall", "", "", "", "", "", "", *figures(results["overall"])]]
    for code in results["codes"]:
        rows.append(["code", "", "", code["id"], code["path"], "", "", *figures(code)])
    for note in results["fieldnotes"]:
        rows.append(["fieldnote", note["id"], note["title"], "", "", "", "", *figures(note)])
        for code in note["codes"]:
            rows.append(
                [
                    "fieldnote and code",
                    note["id"],
                    note["title"],
                    code["id"],
                    paths.get(code["id"], ""),
                    "",
                    "",
                    *figures(code),
                ]
            )
    for pair in results["pairs"]:
        values = [_number(pair["values"].get(m)) for m in measures]
        notes = "; ".join(f"{MEASURES[m]}: {r}" for m, r in pair["reasons"].items())
        rows.append(
            [
                "coder pair",
                "",
                "",
                "",
                "",
                names[pair["first"]],
                names[pair["second"]],
                *values,
                "",
                "",
                "",
                "",
                notes,
            ]
        )
    return rows


def _number(value):
    return "" if value is None else round(value, 6)


def report_csv(report: AgreementReport) -> str:
    if report.kind == AgreementReport.Kind.OBSERVERS:
        from meetings.observer_report import csv_rows as observer_rows

        rows = observer_rows(report)
    else:
        rows = csv_rows(report)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def report_xlsx(report: AgreementReport) -> bytes:
    """Four sheets: Overall (the parameters and the overall figures), Codes, Fieldnotes and
    Coders (every pair, then each coder's totals)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    if report.kind == AgreementReport.Kind.OBSERVERS:
        from meetings.observer_report import observer_xlsx

        return observer_xlsx(report)
    results = report.results
    measures = results["measures"]
    coders = results["coders"]
    labels = [MEASURES[m] for m in measures]
    per_coder = [
        *(f"Excerpts: {coder['name']}" for coder in coders),
        *(f"Characters coded: {coder['name']}" for coder in coders),
    ]
    parameters = report.parameters
    workbook = Workbook()
    overall = workbook.active
    overall.title = "Overall"
    took = elapsed(report)
    for row in [
        ("Report", f"Agreement report {report.pk}"),
        ("Project", report.project.name),
        ("Scope", scope_text(report)),
        ("Coders", ", ".join(coder["name"] for coder in coders)),
        ("Codebook version", str(report.codebook_version) if report.codebook_version else ""),
        ("Ran by", _person(report.created_by)),
        ("Finished", timezone.localtime(report.finished_at).strftime("%Y-%m-%d %H:%M")),
        ("Took (seconds)", round(took, 2) if took is not None else None),
        ("Characters compared", results["characters"]),
        ("Overlap for matching segments", parameters["threshold"]),
        ("Uncoded text counted", "no" if parameters["exclude_uncoded"] else "yes"),
        ("Flag thresholds (alpha)", ", ".join(f"{v:g}" for v in parameters["flag_below"])),
        *(("Note", note) for note in results["notes"]),
        (),
        ("Measure", "Value", "Why there is none"),
        *(
            (MEASURES[m], results["overall"]["values"].get(m), results["overall"]["reasons"].get(m))
            for m in measures
        ),
    ]:
        _append(overall, row)

    def figures(row):
        return [
            *(row["values"].get(m) for m in measures),
            *row["segments"],
            row.get("note", "")
            or "; ".join(f"{MEASURES[m]}: {r}" for m, r in row["reasons"].items() if m in measures),
            *row["excerpts"],
            *row["coded"],
        ]

    flags = parameters["flag_below"]
    codes = workbook.create_sheet("Codes")
    _append(
        codes,
        ["Code", "Path", *labels, "Segments matched", "Segments", "Notes", *per_coder, "Flag"],
    )
    for code in results["codes"]:
        _append(codes, [code["name"], code["path"], *figures(code), flag_text(code["flag"], flags)])
    paths = {code["id"]: code["path"] for code in results["codes"]}
    notes = workbook.create_sheet("Fieldnotes")
    _append(
        notes,
        [
            "Fieldnote",
            "Observer",
            "Meeting",
            "Code",
            *labels,
            "Segments matched",
            "Segments",
            "Notes",
            *per_coder,
        ],
    )
    for note in results["fieldnotes"]:
        where = [note["title"], note["observer"], note["meeting"]]
        _append(notes, [*where, "All codes", *figures(note)])
        for code in note["codes"]:
            _append(notes, [*where, paths.get(code["id"], ""), *figures(code)])
    pairs = workbook.create_sheet("Coders")
    names = _coder_names(results)
    _append(
        pairs,
        [
            "Coder",
            "Other coder",
            "Krippendorff's alpha",
            "Cohen's kappa",
            "Percent agreement",
            "Notes",
        ],
    )
    for pair in results["pairs"]:
        values = pair["values"]
        reasons = "; ".join(f"{MEASURES[m]}: {r}" for m, r in pair["reasons"].items())
        _append(
            pairs,
            [
                names[pair["first"]],
                names[pair["second"]],
                values["alpha"],
                values["kappa"],
                values["percent"],
                reasons,
            ],
        )
    _append(pairs, [])
    _append(pairs, ["Coder", "Excerpts", "Characters coded"])
    for index, coder in enumerate(coders):
        _append(
            pairs,
            [
                coder["name"],
                results["overall"]["excerpts"][index],
                results["overall"]["coded"][index],
            ],
        )
    for sheet in workbook.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _append(sheet, values) -> None:
    sheet.append([None if value == "" else value for value in values])
    for cell in sheet[sheet.max_row]:
        # A name beginning with "=" is text, never a formula that runs when the file opens.
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _person(user) -> str:
    if user is None:
        return "A former member"
    return user.get_full_name() or user.username
