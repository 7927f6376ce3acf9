"""`manage.py check_integrity`: the demo study is clean, and each kind of damage, made behind the
services' backs with `QuerySet.update` or raw SQL, is named in its own sentence."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from coding.codebook import version_for_report
from coding.integrity import check_integrity
from coding.models import (
    AgreementReport,
    Assignment,
    Code,
    CodingRound,
    Disagreement,
    Excerpt,
    ExcerptCode,
)
from fieldnotes.models import Fieldnote
from fieldnotes.services import create_version
from projects.demo import load_demo_study
from projects.models import Membership

from .factories import (
    CodeFactory,
    ExcerptFactory,
    FieldnoteFactory,
    MeetingFactory,
    ProjectFactory,
    UserFactory,
)


def run(*args):
    """The command's output and exit status."""
    out = StringIO()
    try:
        call_command("check_integrity", *args, stdout=out)
    except CommandError as error:
        return out.getvalue() + f"{error}\n", error.returncode
    return out.getvalue(), 0


def sentences():
    return [problem.sentence for problem in check_integrity()]


@pytest.fixture
def other(db):
    """Another project, with a fieldnote, an excerpt and a code of its own."""
    project = ProjectFactory(name="Other study")
    fieldnote = FieldnoteFactory(meeting=MeetingFactory(project=project))
    excerpt = ExcerptFactory(fieldnote=fieldnote, coder=UserFactory(username="elsewhere"))
    code = CodeFactory(codebook=project.codebook, name="Elsewhere")
    excerpt.excerpt_codes.create(code=code)
    return {"project": project, "fieldnote": fieldnote, "excerpt": excerpt, "code": code}


@pytest.fixture
def report(project, users, fieldnote, code, excerpt):
    """A finished report of the project, with one disagreement about the coder's excerpt."""
    report = AgreementReport.objects.create(
        project=project,
        kind=AgreementReport.Kind.CODERS,
        codebook_version=version_for_report(codebook=project.codebook),
        status=AgreementReport.Status.DONE,
        results={"overall": {}},
    )
    Disagreement.objects.create(
        report=report,
        fieldnote=fieldnote,
        code=code,
        kind=Disagreement.Kind.UNMATCHED,
        first_excerpt=excerpt,
        first_coder=users["coder"],
        first_start=0,
        first_end=5,
    )
    return report


def test_demo_study_is_clean(db):
    project = load_demo_study()
    clean = "No problems found in 1 project (6 fieldnotes, 145 excerpts, 272 codings, 2 reports).\n"
    assert run() == (clean, 0)
    assert run("--project", str(project.pk)) == (clean, 0)


def test_project_option_checks_that_project_only(excerpt, other):
    Excerpt.objects.filter(pk=other["excerpt"].pk).update(end=999)
    project = excerpt.fieldnote.meeting.project
    assert run("--project", str(project.pk)) == (
        "No problems found in 1 project (1 fieldnote, 1 excerpt, 1 coding, 0 reports).\n",
        0,
    )
    output, status = run("--project", str(other["project"].pk))
    assert status == 1
    assert output.endswith("1 problem found in 1 project.\n")


def test_unknown_project_is_named(db):
    assert run("--project", "999999") == ("There is no project with id 999999.\n", 1)


def test_queries_do_not_grow_with_the_rows(excerpt, other, django_assert_num_queries):
    with django_assert_num_queries(13):
        check_integrity()
    for start in range(1, 30):
        ExcerptFactory(fieldnote=excerpt.fieldnote, coder=excerpt.coder, start=start, end=40)
    with django_assert_num_queries(13):
        check_integrity()


def test_excerpt_beyond_its_text(excerpt):
    Excerpt.objects.filter(pk=excerpt.pk).update(start=60, end=999)
    length = len(excerpt.fieldnote.text)
    output, status = run()
    assert (output, status) == (
        f"[excerpt-outside-text] Excerpt {excerpt.pk} spans 60 to 999, which breaks "
        f"0 <= start < end <= {length} (the length of fieldnote {excerpt.fieldnote_id}).\n"
        "1 problem found in 2 projects.\n",
        1,
    )


def test_excerpt_ending_exactly_at_the_end_of_its_text_is_fine(excerpt):
    Excerpt.objects.filter(pk=excerpt.pk).update(end=len(excerpt.fieldnote.text))
    assert check_integrity() == []


def test_length_is_counted_in_code_points(fieldnote, users):
    Fieldnote.objects.filter(pk=fieldnote.pk).update(text="Café 😀 ok")
    ExcerptFactory(fieldnote=fieldnote, coder=users["coder"], start=5, end=6)
    ok = ExcerptFactory(fieldnote=fieldnote, coder=users["coder"], start=7, end=9)
    assert check_integrity() == []
    Excerpt.objects.filter(pk=ok.pk).update(end=10)
    assert sentences() == [
        f"Excerpt {ok.pk} spans 7 to 10, which breaks 0 <= start < end <= 9 "
        f"(the length of fieldnote {fieldnote.pk})."
    ]


def test_code_from_another_project(excerpt, code, other):
    ExcerptCode.objects.filter(excerpt=excerpt).update(code=other["code"])
    project = excerpt.fieldnote.meeting.project_id
    assert sentences() == [
        f"Excerpt {excerpt.pk} of project {project} carries code {other['code'].pk} "
        f"('Elsewhere') from the codebook of project {other['project'].pk}."
    ]


def test_parent_in_another_codebook(code, other):
    Code.objects.filter(pk=code.pk).update(parent=other["code"])
    assert sentences() == [
        f"Code {code.pk} ('Protest') of project {code.codebook.project_id} sits under code "
        f"{other['code'].pk}, which belongs to the codebook of project {other['project'].pk}."
    ]


@pytest.mark.parametrize("flagged", [False, True])
def test_excerpt_left_on_an_older_version(excerpt, flagged):
    old = excerpt.fieldnote
    create_version(fieldnote=old, text=old.text + " More.", source_name="", source_format="paste")
    assert check_integrity() == []
    Excerpt.objects.filter(pk=excerpt.pk).update(fieldnote=old, needs_review=flagged)
    flag = " (flagged for review)" if flagged else ""
    assert sentences() == [
        f"Excerpt {excerpt.pk}{flag} is on version 1 of fieldnote {old.pk}, which has been "
        "revised; revising moves every excerpt to the latest version."
    ]


def test_report_without_a_codebook_version(report):
    AgreementReport.objects.filter(pk=report.pk).update(codebook_version=None)
    assert sentences() == [
        f"Report {report.pk} of project {report.project_id} names no codebook version."
    ]


def test_report_with_another_projects_codebook_version(report, other):
    version = version_for_report(codebook=other["project"].codebook)
    AgreementReport.objects.filter(pk=report.pk).update(codebook_version=version)
    assert sentences() == [
        f"Report {report.pk} of project {report.project_id} names codebook version "
        f"{version.pk}, which belongs to project {other['project'].pk}."
    ]


def test_done_report_without_results(report):
    assert check_integrity() == []
    AgreementReport.objects.filter(pk=report.pk).update(results=None)
    assert sentences() == [
        f"Report {report.pk} of project {report.project_id} is done but has no results."
    ]
    AgreementReport.objects.filter(pk=report.pk).update(status=AgreementReport.Status.QUEUED)
    assert check_integrity() == []


@pytest.mark.parametrize(
    "field, kind",
    [
        ("code", "code"),
        ("fieldnote", "fieldnote"),
        ("first_excerpt", "excerpt"),
        ("second_excerpt", "excerpt"),
        ("consensus_excerpt", "excerpt"),
    ],
)
def test_disagreement_pointing_into_another_project(report, other, field, kind):
    disagreement = report.disagreements.get()
    target = other[kind]
    Disagreement.objects.filter(pk=disagreement.pk).update(**{field: target})
    problems = check_integrity()
    assert [(p.what, p.row) for p in problems] == [
        (f"disagreement-{kind}-from-another-project", f"disagreement {disagreement.pk}")
    ]
    assert problems[0].sentence == (
        f"Disagreement {disagreement.pk} of report {report.pk} (project {report.project_id}) "
        f"names {kind} {target.pk} of project {other['project'].pk}."
    )


@pytest.fixture
def assignment(project, users, fieldnote):
    coding_round = CodingRound.objects.create(project=project, name="Pilot")
    return Assignment.objects.create(
        coding_round=coding_round, fieldnote=fieldnote, coder=users["coder"]
    )


def test_assignment_of_another_projects_fieldnote(assignment, other):
    Assignment.objects.filter(pk=assignment.pk).update(fieldnote=other["fieldnote"])
    assert sentences() == [
        f"Assignment {assignment.pk} of round {assignment.coding_round_id} (project "
        f"{assignment.coding_round.project_id}) gives fieldnote {other['fieldnote'].pk} of "
        f"project {other['project'].pk}."
    ]


def test_assignment_for_someone_not_in_the_project(assignment, users):
    Assignment.objects.filter(pk=assignment.pk).update(coder=users["outsider"])
    assert sentences() == [
        f"Assignment {assignment.pk} of round {assignment.coding_round_id} (project "
        f"{assignment.coding_round.project_id}) is for user {users['outsider'].pk}, who is not "
        "a member of the project."
    ]


def test_membership_with_an_unknown_role(project, users):
    membership = Membership.objects.get(project=project, user=users["coder"])
    table = Membership._meta.db_table
    with connection.cursor() as cursor:
        # The database refuses an unknown role itself; lift its check to make the damage.
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT membership_role_known")
        else:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        try:
            cursor.execute(f"UPDATE {table} SET role = 'boss' WHERE id = %s", [membership.pk])
        finally:
            if connection.vendor != "postgresql":
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
    assert sentences() == [
        f"Membership {membership.pk} gives user {users['coder'].pk} the unknown role 'boss' in "
        f"project {project.pk}."
    ]


def test_duplicate_guids_within_a_project(excerpt, fieldnote, code, users):
    second_note = FieldnoteFactory(meeting=fieldnote.meeting)
    second = ExcerptFactory(fieldnote=fieldnote, coder=users["coder"], start=6, end=9)
    second.excerpt_codes.create(code=code)
    Fieldnote.objects.filter(pk=second_note.pk).update(guid=fieldnote.guid)
    Excerpt.objects.filter(pk=second.pk).update(guid=excerpt.guid)
    first_coding = excerpt.excerpt_codes.get()
    second_coding = second.excerpt_codes.get()
    ExcerptCode.objects.filter(pk=second_coding.pk).update(guid=first_coding.guid)
    project = fieldnote.meeting.project_id
    assert sentences() == [
        f"2 fieldnotes of project {project} share the GUID {fieldnote.guid}: "
        f"{fieldnote.pk}, {second_note.pk}.",
        f"2 excerpts of project {project} share the GUID {excerpt.guid}: "
        f"{excerpt.pk}, {second.pk}.",
        f"2 codings of project {project} share the GUID {first_coding.guid}: "
        f"{first_coding.pk}, {second_coding.pk}.",
    ]


def test_the_same_guid_in_two_projects_is_fine(excerpt, other):
    """A copy of a project imported on the same server keeps its GUIDs."""
    Excerpt.objects.filter(pk=other["excerpt"].pk).update(guid=excerpt.guid)
    Fieldnote.objects.filter(pk=other["fieldnote"].pk).update(guid=excerpt.fieldnote.guid)
    assert check_integrity() == []


def test_every_problem_is_listed_before_the_summary(excerpt, code, other):
    Excerpt.objects.filter(pk=excerpt.pk).update(end=999)
    Code.objects.filter(pk=code.pk).update(parent=other["code"])
    output, status = run()
    lines = output.splitlines()
    assert status == 1
    assert [line.split("]")[0] for line in lines[:-1]] == [
        "[excerpt-outside-text",
        "[parent-in-another-codebook",
    ]
    assert lines[-1] == "2 problems found in 3 projects."
