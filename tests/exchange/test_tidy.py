import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from coding.models import CodingRound
from exchange import tidy
from projects.access import get_project_for
from tests.factories import ExcerptFactory, MembershipFactory, UserFactory

from .tidy_study import HEADER, build_study, expected_rows


@pytest.fixture
def study(project, users, meeting):
    return build_study(project, users, meeting)


def _load(user, project, filters=None):
    return tidy.load(user=user, project=get_project_for(user, project.pk), filters=filters)


def _parse(text):
    return list(csv.reader(io.StringIO(text)))


def test_excerpts_csv_rows_exact(study, project, users):
    text = tidy.excerpts_csv(_load(users["pi"], project))
    assert _parse(text) == [HEADER, *expected_rows(study)]
    # Quoted, with the line break kept inside the cell and quotes doubled; no BOM, \n line ends.
    assert '"Grace said: ""We are here, not marked.""\nNods."' in text
    assert text.startswith("project,meeting,meeting_start,")
    assert "\r" not in text


def test_excerpts_csv_has_one_row_per_excerpt_and_code(study, project, users):
    rows = _load(users["pi"], project).rows
    assert [(row.excerpt_guid, row.code) for row in rows[:2]] == [
        (str(study.quote.guid), "Validation"),
        (str(study.quote.guid), "Protest"),
    ]
    assert str(study.old.guid) not in {row.excerpt_guid for row in rows}


def test_load_reads_in_a_constant_number_of_queries(
    study, project, users, django_assert_num_queries
):
    coder_project = get_project_for(users["coder"], project.pk)
    # Latest fieldnotes, codes, excerpt codes, time markers, agenda.
    with django_assert_num_queries(5):
        tidy.load(user=users["coder"], project=coder_project)
    for start in (0, 30, 60):
        ExcerptFactory(fieldnote=study.bea, coder=users["coder"], start=start % 40, end=42)
    with django_assert_num_queries(5):
        tidy.load(user=users["coder"], project=coder_project)


def test_filters_narrow_rows(study, project, users, meeting):
    pi = users["pi"]
    by_coder = _load(pi, project, tidy.Filters(coders=(users["pi"].pk,))).rows
    assert [(row.coder, row.start) for row in by_coder] == [("the-pi", 41)]
    by_code = _load(pi, project, tidy.Filters(codes=(study.validation.pk,))).rows
    assert [(row.fieldnote, row.start) for row in by_code] == [
        ("Ann's notes", 15),
        ("Bea's notes", 8),
    ]
    by_note = _load(pi, project, tidy.Filters(fieldnotes=(study.bea.pk,))).rows
    assert [row.start for row in by_note] == [8, 21]
    assert _load(pi, project, tidy.Filters(meetings=(meeting.pk + 99,))).rows == []


def test_filters_from_query_ignore_nonsense():
    from django.http import QueryDict

    query = QueryDict("meeting=3&meeting=x&coder=2&code=5&code=4&fieldnote=")
    assert tidy.Filters.from_query(query) == tidy.Filters(
        meetings=(3,), fieldnotes=(), coders=(2,), codes=(4, 5)
    )


def test_matrix_counts_excerpts_and_characters(study, project, users):
    data = _load(users["pi"], project)
    assert _parse(tidy.matrix_csv(data, "excerpts")) == [
        ["meeting", "fieldnote", "observer", "Sense-making > Validation", "Protest"],
        ["Learning event", "Ann's notes", "Ann", "1", "2"],
        ["Learning event", "Bea's notes", "Bea", "1", "1"],
        ["Learning event", "Zed's notes", "Zed", "0", "0"],
    ]
    # Protest in Ann's notes: [15, 59) and [41, 71) overlap, so 56 characters, not 44 + 30.
    assert _parse(tidy.matrix_csv(data, "characters"))[1:] == [
        ["Learning event", "Ann's notes", "Ann", "44", "56"],
        ["Learning event", "Bea's notes", "Bea", "6", "7"],
        ["Learning event", "Zed's notes", "Zed", "0", "0"],
    ]


def test_matrix_refuses_an_unknown_measure(study, project, users):
    with pytest.raises(ValueError, match="choose one of excerpts, characters"):
        _load(users["pi"], project).matrix("words")


def test_matrix_with_chosen_codes_has_those_columns(study, project, users):
    data = _load(users["pi"], project, tidy.Filters(codes=(study.protest.pk,)))
    assert _parse(tidy.matrix_csv(data))[0] == ["meeting", "fieldnote", "observer", "Protest"]


def test_workbook_holds_the_same_data(study, project, users):
    data = _load(users["pi"], project)
    body = tidy.workbook_xlsx(
        data,
        exported_by="Pat PI (the-pi)",
        exported_at=datetime(2026, 4, 1, 12, 0, tzinfo=UTC),
        filters_text="None: everything you may see.",
        measure="characters",
    )
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["Excerpts", "Matrix", "About"]

    def sheet_rows(name):
        return [
            ["" if value is None else str(value) for value in row]
            for row in book[name].iter_rows(values_only=True)
        ]

    assert sheet_rows("Excerpts") == _parse(tidy.excerpts_csv(data))
    assert sheet_rows("Matrix") == _parse(tidy.matrix_csv(data, "characters"))
    formula = book["Excerpts"]["O6"]
    assert (formula.value, formula.data_type) == ("=SUM(1)", "s")
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row}
    assert about["Project"] == "Ward study"
    assert about["Exported at"] == "2026-04-01T13:00:00+01:00"
    assert about["Exported by"] == "Pat PI (the-pi)"
    assert about["Filters"] == "None: everything you may see."
    assert about["Matrix cells"] == tidy.MEASURES["characters"]
    assert about["code_path"] == tidy.EXCERPT_MEANINGS["code_path"]


def test_blind_round_hides_other_coders_excerpts(study, project, users):
    other = UserFactory(username="other-coder")
    MembershipFactory(project=project, user=other, role="coder")
    hidden = ExcerptFactory(fieldnote=study.ann, coder=other, start=0, end=5)
    hidden.excerpt_codes.create(code=study.protest)
    coding_round = CodingRound.objects.create(project=project, name="Pilot", blind=True)
    coding_round.fieldnotes.add(study.ann)
    coding_round.coders.add(users["coder"], other)

    seen = {row.excerpt_guid for row in _load(users["coder"], project).rows}
    assert str(hidden.guid) not in seen
    # The PI's excerpt on the blind fieldnote is hidden from the coder too; their own stays.
    assert seen == {str(study.quote.guid), str(study.sat.guid), str(study.formula.guid)}
    assert str(hidden.guid) in {row.excerpt_guid for row in _load(users["pi"], project).rows}
    counts = _parse(tidy.matrix_csv(_load(users["coder"], project)))
    assert counts[1] == ["Learning event", "Ann's notes", "Ann", "1", "1"]

    coding_round.state = CodingRound.State.REVEALED
    coding_round.save()
    assert str(hidden.guid) in {row.excerpt_guid for row in _load(users["coder"], project).rows}


def test_code_rows_give_paths_and_parents(study, project):
    rows = tidy.code_rows(project)
    assert [(row.path, row.parent_guid, row.is_codable) for row in rows] == [
        ("Sense-making", None, False),
        ("Sense-making > Validation", str(study.folder.guid), True),
        ("Protest", None, True),
    ]
