"""Checks of what the database cannot enforce by itself: `manage.py check_integrity`.

Each check is one or two set-based queries, so the whole run costs the same few dozen queries
whatever the size of the study (a second on 40,000 excerpts). The services keep these rules when
they write; this finds rows that broke them anyway (a bulk import, a hand-made SQL fix, a restore
gone wrong), naming each one so that it can be repaired.

Excerpts on an older fieldnote version are always a problem, flagged or not:
`fieldnotes.services.create_version` moves every excerpt to the new version (flagging those whose
text changed), so nothing is ever meant to stay behind on the old one.
"""

from dataclasses import dataclass

from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.db.models.functions import Length

from fieldnotes.models import Fieldnote
from projects.models import Membership, Project, Role

from .models import AgreementReport, Assignment, Code, Disagreement, Excerpt, ExcerptCode


@dataclass(frozen=True)
class Problem:
    """One broken rule: what kind (`what`), the row at fault (`row`, e.g. "excerpt 12"), the
    project it belongs to, and a sentence saying what is wrong with it."""

    what: str
    row: str
    project_id: int | None
    sentence: str

    def __str__(self):
        return f"[{self.what}] {self.sentence}"


def check_integrity(project_id: int | None = None) -> list[Problem]:
    """Every problem found in one project, or in all of them."""
    problems = []
    for check in CHECKS:
        problems.extend(check(project_id))
    return problems


def counts(project_id: int | None = None) -> dict[str, int]:
    """What was checked, for the command's summary."""
    projects = Project.objects.all()
    fieldnotes = Fieldnote.objects.all()
    excerpts = Excerpt.objects.all()
    codings = ExcerptCode.objects.all()
    reports = AgreementReport.objects.all()
    if project_id is not None:
        projects = projects.filter(pk=project_id)
        fieldnotes = fieldnotes.filter(meeting__project_id=project_id)
        excerpts = excerpts.filter(fieldnote__meeting__project_id=project_id)
        codings = codings.filter(excerpt__fieldnote__meeting__project_id=project_id)
        reports = reports.filter(project_id=project_id)
    return {
        "project": projects.count(),
        "fieldnote": fieldnotes.count(),
        "excerpt": excerpts.count(),
        "coding": codings.count(),
        "report": reports.count(),
    }


def _scoped(queryset, path, project_id):
    return queryset if project_id is None else queryset.filter(**{path: project_id})


def excerpts_outside_text(project_id):
    """Each text's length is computed once, against the furthest end of its excerpts: joining
    the text to every excerpt would read (and on PostgreSQL decompress) it once per excerpt."""
    excerpts = _scoped(Excerpt.objects, "fieldnote__meeting__project_id", project_id)
    lengths = dict(
        _scoped(Fieldnote.objects, "meeting__project_id", project_id)
        .annotate(length=Length("text"))
        .values_list("pk", "length")
        .order_by()
    )
    furthest = excerpts.values_list("fieldnote_id").annotate(end=Max("end")).order_by()
    beyond = [pk for pk, end in furthest if end > lengths[pk]]
    rows = (
        excerpts.filter(Q(start__lt=0) | Q(end__lte=F("start")) | Q(fieldnote_id__in=beyond))
        .values_list("pk", "fieldnote_id", "fieldnote__meeting__project_id", "start", "end")
        .order_by("pk")
    )
    for pk, fieldnote_id, project, start, end in rows:
        if 0 <= start < end <= lengths[fieldnote_id]:
            continue
        yield Problem(
            "excerpt-outside-text",
            f"excerpt {pk}",
            project,
            f"Excerpt {pk} spans {start} to {end}, which breaks 0 <= start < end <= "
            f"{lengths[fieldnote_id]} (the length of fieldnote {fieldnote_id}).",
        )


def codings_from_another_codebook(project_id):
    rows = (
        _scoped(ExcerptCode.objects, "excerpt__fieldnote__meeting__project_id", project_id)
        .exclude(code__codebook__project_id=F("excerpt__fieldnote__meeting__project_id"))
        .values_list(
            "pk",
            "excerpt_id",
            "excerpt__fieldnote__meeting__project_id",
            "code_id",
            "code__name",
            "code__codebook__project_id",
        )
        .order_by("pk")
    )
    for pk, excerpt_id, project, code_id, name, other in rows:
        yield Problem(
            "code-from-another-project",
            f"coding {pk}",
            project,
            f"Excerpt {excerpt_id} of project {project} carries code {code_id} ({name!r}) "
            f"from the codebook of project {other}.",
        )


def parents_in_another_codebook(project_id):
    rows = (
        _scoped(Code.objects, "codebook__project_id", project_id)
        .filter(parent__isnull=False)
        .exclude(parent__codebook_id=F("codebook_id"))
        .values_list(
            "pk", "name", "codebook__project_id", "parent_id", "parent__codebook__project_id"
        )
        .order_by("pk")
    )
    for pk, name, project, parent_id, other in rows:
        yield Problem(
            "parent-in-another-codebook",
            f"code {pk}",
            project,
            f"Code {pk} ({name!r}) of project {project} sits under code {parent_id}, which "
            f"belongs to the codebook of project {other}.",
        )


def excerpts_on_older_versions(project_id):
    rows = (
        _scoped(Excerpt.objects, "fieldnote__meeting__project_id", project_id)
        .filter(fieldnote__next_version__isnull=False)
        .values_list(
            "pk",
            "fieldnote_id",
            "fieldnote__version",
            "fieldnote__meeting__project_id",
            "needs_review",
        )
        .order_by("pk")
    )
    for pk, fieldnote_id, version, project, flagged in rows:
        flag = " (flagged for review)" if flagged else ""
        yield Problem(
            "excerpt-on-older-version",
            f"excerpt {pk}",
            project,
            f"Excerpt {pk}{flag} is on version {version} of fieldnote {fieldnote_id}, which has "
            f"been revised; revising moves every excerpt to the latest version.",
        )


def reports_without_their_codebook_version(project_id):
    rows = (
        _scoped(AgreementReport.objects, "project_id", project_id)
        .filter(
            Q(codebook_version__isnull=True)
            | ~Q(codebook_version__codebook__project_id=F("project_id"))
            | Q(status=AgreementReport.Status.DONE, results__isnull=True)
        )
        .values_list(
            "pk",
            "project_id",
            "codebook_version_id",
            "codebook_version__codebook__project_id",
            "status",
            "results",
        )
        .order_by("pk")
    )
    for pk, project, version_id, version_project, status, results in rows:
        row = f"report {pk}"
        if version_id is None:
            yield Problem(
                "report-without-codebook-version",
                row,
                project,
                f"Report {pk} of project {project} names no codebook version.",
            )
        elif version_project != project:
            yield Problem(
                "report-with-foreign-codebook-version",
                row,
                project,
                f"Report {pk} of project {project} names codebook version {version_id}, "
                f"which belongs to project {version_project}.",
            )
        if status == AgreementReport.Status.DONE and results is None:
            yield Problem(
                "done-report-without-results",
                row,
                project,
                f"Report {pk} of project {project} is done but has no results.",
            )


# What a disagreement points to, and the path from that to its project.
_DISAGREEMENT_PARTS = [
    ("code", "code_id", "code__codebook__project_id"),
    ("fieldnote", "fieldnote_id", "fieldnote__meeting__project_id"),
    ("excerpt", "first_excerpt_id", "first_excerpt__fieldnote__meeting__project_id"),
    ("excerpt", "second_excerpt_id", "second_excerpt__fieldnote__meeting__project_id"),
    ("excerpt", "consensus_excerpt_id", "consensus_excerpt__fieldnote__meeting__project_id"),
]


def disagreements_across_projects(project_id):
    foreign = Q()
    for _, field, path in _DISAGREEMENT_PARTS:
        foreign |= Q(**{f"{field}__isnull": False}) & ~Q(**{path: F("report__project_id")})
    fields = [name for _, field, path in _DISAGREEMENT_PARTS for name in (field, path)]
    rows = (
        _scoped(Disagreement.objects, "report__project_id", project_id)
        .filter(foreign)
        .values_list("pk", "report_id", "report__project_id", *fields)
        .order_by("pk")
    )
    for pk, report_id, project, *pairs in rows:
        for (kind, _, _), target, other in zip(
            _DISAGREEMENT_PARTS, pairs[::2], pairs[1::2], strict=True
        ):
            if target is not None and other != project:
                yield Problem(
                    f"disagreement-{kind}-from-another-project",
                    f"disagreement {pk}",
                    project,
                    f"Disagreement {pk} of report {report_id} (project {project}) names {kind} "
                    f"{target} of project {other}.",
                )


def assignments_across_projects(project_id):
    member = Membership.objects.filter(
        project_id=OuterRef("coding_round__project_id"), user_id=OuterRef("coder_id")
    )
    rows = (
        _scoped(Assignment.objects, "coding_round__project_id", project_id)
        .annotate(coder_is_member=Exists(member))
        .filter(
            ~Q(fieldnote__meeting__project_id=F("coding_round__project_id"))
            | Q(coder_is_member=False)
        )
        .values_list(
            "pk",
            "coding_round_id",
            "coding_round__project_id",
            "fieldnote_id",
            "fieldnote__meeting__project_id",
            "coder_id",
            "coder_is_member",
        )
        .order_by("pk")
    )
    for pk, round_id, project, fieldnote_id, other, coder_id, is_member in rows:
        where = f"Assignment {pk} of round {round_id} (project {project})"
        if other != project:
            yield Problem(
                "assignment-fieldnote-from-another-project",
                f"assignment {pk}",
                project,
                f"{where} gives fieldnote {fieldnote_id} of project {other}.",
            )
        if not is_member:
            yield Problem(
                "assignment-coder-not-member",
                f"assignment {pk}",
                project,
                f"{where} is for user {coder_id}, who is not a member of the project.",
            )


def memberships_with_unknown_roles(project_id):
    rows = (
        _scoped(Membership.objects, "project_id", project_id)
        .exclude(role__in=Role.values)
        .values_list("pk", "project_id", "user_id", "role")
        .order_by("pk")
    )
    for pk, project, user_id, role in rows:
        yield Problem(
            "unknown-role",
            f"membership {pk}",
            project,
            f"Membership {pk} gives user {user_id} the unknown role {role!r} in project {project}.",
        )


# Rows whose GUID must be unique within their project, and the path to the project.
_GUID_ROWS = [
    ("fieldnote", Fieldnote, "meeting__project_id"),
    ("excerpt", Excerpt, "fieldnote__meeting__project_id"),
    ("coding", ExcerptCode, "excerpt__fieldnote__meeting__project_id"),
]


def duplicate_guids(project_id):
    for name, model, path in _GUID_ROWS:
        rows = _scoped(model.objects, path, project_id)
        shared = (
            rows.values(path, "guid")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .values_list(path, "guid")
            .order_by()
        )
        shared = set(shared)
        if not shared:
            continue
        holders: dict[tuple, list[int]] = {}
        for pk, project, guid in (
            rows.filter(guid__in={guid for _, guid in shared})
            .values_list("pk", path, "guid")
            .order_by("pk")
        ):
            if (project, guid) in shared:
                holders.setdefault((project, guid), []).append(pk)
        for (project, guid), pks in sorted(holders.items(), key=lambda item: item[1]):
            listed = ", ".join(str(pk) for pk in pks)
            yield Problem(
                f"duplicate-{name}-guid",
                f"{name} {pks[0]}",
                project,
                f"{len(pks)} {name}s of project {project} share the GUID {guid}: {listed}.",
            )


CHECKS = [
    excerpts_outside_text,
    codings_from_another_codebook,
    parents_in_another_codebook,
    excerpts_on_older_versions,
    reports_without_their_codebook_version,
    disagreements_across_projects,
    assignments_across_projects,
    memberships_with_unknown_roles,
    duplicate_guids,
]
