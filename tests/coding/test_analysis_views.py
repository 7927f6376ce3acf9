"""Retrieval of a code's excerpts, its CSV, and the co-occurrence page."""

from datetime import datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coding.models import Code, CodingRound
from fieldnotes.models import TimeMarker
from tests.factories import (
    LONDON,
    CodeFactory,
    ExcerptFactory,
    FieldnoteFactory,
    MeetingFactory,
    ObserverFactory,
    ProjectFactory,
)

HX = {"HX-Request": "true"}
OTHER_TEXT = "Nobody objected. Then a long silence."


def _excerpt(fieldnote, coder, start, end, *codes, memo="", unsure=False):
    excerpt = ExcerptFactory(
        fieldnote=fieldnote, coder=coder, start=start, end=end, memo=memo, unsure=unsure
    )
    for code in codes:
        excerpt.excerpt_codes.create(code=code)
    return excerpt


@pytest.fixture
def study(project, users, meeting, fieldnote, code):
    """Two meetings, two fieldnotes, three codes and eight excerpts by three people.

    The fixture's fieldnote (76 characters) has time markers at 09:30 (offset 0) and 09:45
    (offset 27); the other fieldnote (37 characters) has none.
    """
    sense = CodeFactory(codebook=project.codebook, name="Sense-making", colour="#1e6b3a")
    doubt = CodeFactory(codebook=project.codebook, name="Doubt", parent=code, colour="#6b4fa0")
    later = MeetingFactory(
        project=project, title="Follow-up", starts_at=datetime(2026, 4, 2, 14, 0, tzinfo=LONDON)
    )
    sister = ObserverFactory(project=project, name="Ward sister")
    other = FieldnoteFactory(
        meeting=later, observer=sister, title="Sister's notes", text=OTHER_TEXT
    )
    for offset, text, minute in ((0, "09:30", 30), (27, "09:45", 45)):
        TimeMarker.objects.create(
            fieldnote=fieldnote,
            offset=offset,
            end=offset + 5,
            text=text,
            kind="clock",
            moment=datetime(2026, 3, 10, 9, minute, tzinfo=LONDON),
            confirmed=True,
        )
    pi, coder, observer = users["pi"], users["coder"], users["observer"]
    return SimpleNamespace(
        protest=code,
        sense=sense,
        doubt=doubt,
        later=later,
        sister=sister,
        other=other,
        # "The meeting opened."
        a=_excerpt(fieldnote, coder, 6, 25, code, memo="Opening words, said twice", unsure=True),
        # "meeting opened.\n\n09" overlaps a.
        b=_excerpt(fieldnote, observer, 10, 30, sense),
        # "Grace" overlaps nothing.
        f=_excerpt(fieldnote, coder, 33, 38, code),
        # "We are not here to be marked." carries both codes.
        c=_excerpt(fieldnote, pi, 46, 75, code, sense),
        # "Nobody objected." on the other fieldnote.
        d=_excerpt(other, coder, 0, 16, doubt),
        e=_excerpt(other, pi, 5, 11, sense),
        # Overlaps d, not e: [12, 20) starts where e has ended.
        h=_excerpt(other, pi, 12, 20, doubt),
    )


def _blind(project, fieldnote):
    blind = CodingRound.objects.create(project=project, name="Pilot", blind=True)
    blind.fieldnotes.add(fieldnote)
    return blind


def _retrieval(project, code, **query):
    return reverse("analysis:retrieval", args=[project.pk, code.pk]), query


def _hit_ids(response):
    return [hit.id for hit in response.context["hits"]]


# --- retrieval -------------------------------------------------------------------------------


def test_retrieval_lists_excerpts_in_meeting_and_text_order(login, users, project, study):
    url, _ = _retrieval(project, study.protest)
    response = login(users["pi"]).get(url)
    assert response.status_code == 200
    assert _hit_ids(response) == [study.a.pk, study.f.pk, study.c.pk]


def test_retrieval_shows_context_moment_and_link(login, users, project, fieldnote, study):
    url, _ = _retrieval(project, study.protest)
    response = login(users["pi"]).get(url)
    first, grace, marked = response.context["hits"]
    assert (first.context.before, first.context.text, first.context.after) == (
        "09:30 ",
        "The meeting opened.",
        '\n\n09:45 Grace said: "We are not here to be marked."',
    )
    assert (first.context.cut_before, first.context.cut_after) == (False, False)
    assert [hit.moment for hit in (first, grace, marked)] == [
        datetime(2026, 3, 10, 9, 30, tzinfo=LONDON),
        datetime(2026, 3, 10, 9, 45, tzinfo=LONDON),
        datetime(2026, 3, 10, 9, 45, tzinfo=LONDON),
    ]
    content = response.content.decode()
    link = f"/projects/{project.pk}/fieldnotes/{fieldnote.pk}/code/#excerpt-{study.c.pk}"
    assert f'<a href="{link}"><mark>We are not here to be marked.</mark></a>' in content
    assert '<time datetime="2026-03-10T09:30:00+00:00">Tue 10 Mar, 09:30</time>' in content
    assert "<strong>Memo:</strong> Opening words, said twice" in content
    assert '<span class="badge">unsure</span>' in content


def test_retrieval_of_an_excerpt_before_any_marker_is_untimed(login, users, project, study):
    url, _ = _retrieval(project, study.doubt)
    response = login(users["pi"]).get(url)
    assert [(hit.id, hit.moment) for hit in response.context["hits"]] == [
        (study.d.pk, None),
        (study.h.pk, None),
    ]
    assert '<span class="muted">untimed</span>' in response.content.decode()


def test_retrieval_includes_sub_codes_when_asked(login, users, project, study):
    url, _ = _retrieval(project, study.protest)
    response = login(users["pi"]).get(url, {"children": "1"})
    assert _hit_ids(response) == [study.a.pk, study.f.pk, study.c.pk, study.d.pk, study.h.pk]


def test_retrieval_of_a_folder_includes_its_codes(login, users, project, study):
    Code.objects.filter(pk=study.protest.pk).update(is_codable=False)
    url, _ = _retrieval(project, study.protest)
    response = login(users["pi"]).get(url)
    assert _hit_ids(response) == [study.a.pk, study.f.pk, study.c.pk, study.d.pk, study.h.pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"coder": "coder"}, ["a", "f", "d"]),
        ({"coder": "pi"}, ["c", "h"]),
        ({"meeting": "later"}, ["d", "h"]),
        ({"observer": "sister"}, ["d", "h"]),
        ({"fieldnote": "other"}, ["d", "h"]),
        ({"meeting": "later", "coder": "coder"}, ["d"]),
        ({"meeting": "not-a-number"}, ["a", "f", "c", "d", "h"]),
    ],
)
def test_retrieval_filters(login, users, project, meeting, study, query, expected):
    things = {"later": study.later, "sister": study.sister, "other": study.other}
    params = {"children": "1"}
    for name, value in query.items():
        if name == "coder":
            value = users[value].pk
        elif value in things:
            value = things[value].pk
        params[name] = value
    url, _ = _retrieval(project, study.protest)
    response = login(users["pi"]).get(url, params)
    assert _hit_ids(response) == [getattr(study, name).pk for name in expected]


def test_retrieval_with_another_code_keeps_overlapping_excerpts(login, users, project, study):
    url, _ = _retrieval(project, study.protest)
    response = login(users["pi"]).get(url, {"with": study.sense.pk})
    # a overlaps b; c carries Sense-making itself; f ("Grace") overlaps nothing.
    assert _hit_ids(response) == [study.a.pk, study.c.pk]
    content = response.content.decode()
    assert "Only excerpts overlapping an excerpt coded" in content
    assert f'<input type="hidden" name="with" value="{study.sense.pk}">' in content


def test_retrieval_csv_has_exact_rows(login, users, project, study):
    url = reverse("analysis:retrieval_csv", args=[project.pk, study.protest.pk])
    response = login(users["pi"]).get(url, {"children": "1"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="ward-study-protest-excerpts.csv"'
    )
    s = study
    assert response.content.decode("utf-8") == (
        "code_path,excerpt_id,meeting,fieldnote,observer,coder,start,end,moment,text,memo,unsure\n"
        f"Protest,{s.a.pk},Learning event,Observer's notes,The observer,the-coder,6,25,"
        '2026-03-10T09:30:00+00:00,The meeting opened.,"Opening words, said twice",true\n'
        f"Protest,{s.f.pk},Learning event,Observer's notes,The observer,the-coder,33,38,"
        "2026-03-10T09:45:00+00:00,Grace,,false\n"
        f"Protest,{s.c.pk},Learning event,Observer's notes,The observer,the-pi,46,75,"
        "2026-03-10T09:45:00+00:00,We are not here to be marked.,,false\n"
        f"Protest/Doubt,{s.d.pk},Follow-up,Sister's notes,Ward sister,the-coder,0,16,,"
        "Nobody objected.,,false\n"
        f"Protest/Doubt,{s.h.pk},Follow-up,Sister's notes,Ward sister,the-pi,12,20,,"
        "ted. The,,false\n"
    )


def test_retrieval_csv_follows_the_filters(login, users, project, study):
    url = reverse("analysis:retrieval_csv", args=[project.pk, study.protest.pk])
    response = login(users["pi"]).get(url, {"with": study.sense.pk, "coder": users["pi"].pk})
    lines = response.content.decode().splitlines()
    assert [line.split(",")[1] for line in lines] == ["excerpt_id", str(study.c.pk)]


def test_retrieval_csv_keeps_accents_and_emoji(login, users, project, meeting, code):
    observer = ObserverFactory(project=project, name="Zoë")
    note = FieldnoteFactory(meeting=meeting, observer=observer, title="Café", text="Déjà vu 😀 ok")
    excerpt = _excerpt(note, users["coder"], 5, 9, code)
    url = reverse("analysis:retrieval_csv", args=[project.pk, code.pk])
    response = login(users["pi"]).get(url)
    assert response.content.decode("utf-8").splitlines()[1] == (
        f"Protest,{excerpt.pk},Learning event,Café,Zoë,the-coder,5,9,,vu 😀,,false"
    )


def test_retrieval_of_a_code_of_another_project_is_404(login, users, project):
    foreign = CodeFactory(codebook=ProjectFactory().codebook)
    url, _ = _retrieval(project, foreign)
    assert login(users["pi"]).get(url).status_code == 404


def test_retrieval_pages_keep_the_filters(login, users, project, fieldnote, code, monkeypatch):
    monkeypatch.setattr("coding.views_analysis.PAGE_SIZE", 2)
    for start in range(5):
        _excerpt(fieldnote, users["coder"], start, start + 1, code)
    url, _ = _retrieval(project, code)
    response = login(users["pi"]).get(url, {"coder": users["coder"].pk, "page": "3"})
    assert [hit.start for hit in response.context["hits"]] == [4]
    content = response.content.decode()
    assert f'href="?coder={users["coder"].pk}&amp;page=2"' in content
    assert "5 excerpts, 5–5 shown" in content


# --- blind coding rounds ---------------------------------------------------------------------


def test_blind_round_hides_other_coders_excerpts_from_a_coder(
    login, users, project, fieldnote, study
):
    _blind(project, fieldnote)
    client = login(users["coder"])
    url, _ = _retrieval(project, study.sense)
    assert _hit_ids(client.get(url)) == [study.e.pk]
    csv_url = reverse("analysis:retrieval_csv", args=[project.pk, study.sense.pk])
    rows = client.get(csv_url).content.decode().splitlines()
    assert [row.split(",")[1] for row in rows] == ["excerpt_id", str(study.e.pk)]
    assert _hit_ids(client.get(_retrieval(project, study.protest)[0])) == [study.a.pk, study.f.pk]
    result = client.get(reverse("analysis:cooccurrence", args=[project.pk])).context["result"]
    assert _matrix(result) == {
        "Protest": [2, 0, 0],
        "Doubt": [0, 2, 1],
        "Sense-making": [0, 1, 1],
    }
    assert result.excerpts == 5


def test_blind_round_hides_nothing_from_the_pi(login, users, project, fieldnote, study):
    _blind(project, fieldnote)
    client = login(users["pi"])
    assert _hit_ids(client.get(_retrieval(project, study.sense)[0])) == [
        study.b.pk,
        study.c.pk,
        study.e.pk,
    ]
    result = client.get(reverse("analysis:cooccurrence", args=[project.pk])).context["result"]
    assert _matrix(result)["Sense-making"] == [2, 1, 3]


# --- co-occurrence ---------------------------------------------------------------------------


def _matrix(result):
    return {row.code.name: [cell.count for cell in row.cells] for row in result.matrix}


def test_cooccurrence_matrix_counts_overlapping_pairs(login, users, project, study):
    response = login(users["pi"]).get(reverse("analysis:cooccurrence", args=[project.pk]))
    result = response.context["result"]
    assert [code.name for code in result.codes] == ["Protest", "Doubt", "Sense-making"]
    # Protest with Sense-making: (a, b) overlap, and c carries both. Doubt with Sense-making:
    # (d, e); h starts where e ends.
    assert _matrix(result) == {
        "Protest": [3, 0, 2],
        "Doubt": [0, 2, 1],
        "Sense-making": [2, 1, 3],
    }
    levels = {row.code.name: [cell.level for cell in row.cells] for row in result.matrix}
    assert levels == {"Protest": [0, 0, 2], "Doubt": [0, 0, 1], "Sense-making": [2, 1, 0]}


def test_cooccurrence_cells_link_to_their_excerpts(login, users, project, study):
    client = login(users["pi"])
    query = {"coder": users["pi"].pk}
    response = client.get(reverse("analysis:cooccurrence", args=[project.pk]), query)
    protest_row = response.context["result"].matrix[0]
    retrieval = reverse("analysis:retrieval", args=[project.pk, study.protest.pk])
    assert [cell.url for cell in protest_row.cells] == [
        f"{retrieval}?coder={users['pi'].pk}",
        "",
        f"{retrieval}?coder={users['pi'].pk}&with={study.sense.pk}",
    ]
    assert _matrix(response.context["result"])["Protest"] == [1, 0, 1]
    content = response.content.decode()
    expected = f"{retrieval}?coder={users['pi'].pk}&amp;with={study.sense.pk}"
    assert f'<td class="num heat-1"><a href="{expected}">1</a></td>' in content
    assert '<td class="num zero">0</td>' in content
    followed = client.get(protest_row.cells[2].url)
    assert _hit_ids(followed) == [study.c.pk]


def test_cooccurrence_by_fieldnote_counts_and_shares(login, users, project, fieldnote, study):
    response = login(users["pi"]).get(reverse("analysis:cooccurrence", args=[project.pk]))
    result = response.context["result"]
    assert [note["title"] for note in result.fieldnotes] == ["Observer's notes", "Sister's notes"]
    table = {
        row.code.name: [(cell.count, cell.share) for cell in row.cells]
        for row in result.by_fieldnote
    }
    assert table == {
        # a, f and c: 19 + 5 + 29 = 53 of 76 characters.
        "Protest": [(3, "69.7%"), (0, "0.0%")],
        # d [0, 16) and h [12, 20) overlap: 20 of 37 characters.
        "Doubt": [(0, "0.0%"), (2, "54.1%")],
        # b [10, 30) and c [46, 75): 49 of 76; e [5, 11): 6 of 37.
        "Sense-making": [(2, "64.5%"), (1, "16.2%")],
    }
    cell = result.by_fieldnote[1].cells[1]
    retrieval = reverse("analysis:retrieval", args=[project.pk, study.doubt.pk])
    assert cell.url == f"{retrieval}?fieldnote={study.other.pk}"
    assert _hit_ids(login(users["pi"]).get(cell.url)) == [study.d.pk, study.h.pk]


def test_cooccurrence_filters_by_meeting(login, users, project, study):
    url = reverse("analysis:cooccurrence", args=[project.pk])
    response = login(users["pi"]).get(url, {"meeting": study.later.pk})
    result = response.context["result"]
    assert _matrix(result) == {
        "Protest": [0, 0, 0],
        "Doubt": [0, 2, 1],
        "Sense-making": [0, 1, 1],
    }
    assert [note["title"] for note in result.fieldnotes] == ["Sister's notes"]


def test_archived_codes_show_only_with_visible_excerpts(login, users, project, study):
    CodeFactory(codebook=project.codebook, name="Retired", archived=True)
    Code.objects.filter(pk=study.doubt.pk).update(archived=True)
    response = login(users["pi"]).get(reverse("analysis:cooccurrence", args=[project.pk]))
    assert [code.name for code in response.context["result"].codes] == [
        "Protest",
        "Doubt",
        "Sense-making",
    ]


# --- access, htmx and queries ----------------------------------------------------------------


def _urls(project, code):
    return {
        "retrieval": reverse("analysis:retrieval", args=[project.pk, code.pk]),
        "retrieval_csv": reverse("analysis:retrieval_csv", args=[project.pk, code.pk]),
        "cooccurrence": reverse("analysis:cooccurrence", args=[project.pk]),
    }


@pytest.mark.parametrize("name", ["retrieval", "retrieval_csv", "cooccurrence"])
@pytest.mark.parametrize(
    ("role", "status"), [("pi", 200), ("coder", 200), ("observer", 200), ("lay", 403)]
)
def test_access_by_role(login, users, project, excerpt, code, name, role, status):
    response = login(users[role]).get(_urls(project, code)[name])
    assert response.status_code == status


@pytest.mark.parametrize("name", ["retrieval", "retrieval_csv", "cooccurrence"])
def test_outsiders_get_404(login, users, project, code, name):
    assert login(users["outsider"]).get(_urls(project, code)[name]).status_code == 404


@pytest.mark.parametrize("name", ["retrieval", "retrieval_csv", "cooccurrence"])
def test_anonymous_users_are_sent_to_log_in(client, project, code, name):
    response = client.get(_urls(project, code)[name])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["retrieval", "cooccurrence"])
def test_htmx_gets_only_the_results(login, users, project, excerpt, code, name):
    response = login(users["coder"]).get(_urls(project, code)[name], headers=HX)
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results">')
    assert "<h1>" not in content
    assert response["Vary"] == "HX-Request, Cookie"


def test_post_is_not_allowed(login, users, project, code):
    assert login(users["pi"]).post(_urls(project, code)["retrieval"]).status_code == 405


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("retrieval", {}),
        ("retrieval", {"with": "other"}),
        ("retrieval_csv", {"children": "1"}),
        ("cooccurrence", {}),
    ],
)
def test_queries_do_not_grow_with_excerpts(
    login, users, project, fieldnote, code, django_assert_max_num_queries, name, query
):
    other = CodeFactory(codebook=project.codebook, name="Other")
    query = {key: other.pk if value == "other" else value for key, value in query.items()}
    TimeMarker.objects.create(fieldnote=fieldnote, offset=0, end=5, text="09:30", kind="clock")
    client = login(users["coder"])
    url = _urls(project, code)[name]

    def add(count, first):
        for start in range(first, first + count):
            coder = users["coder"] if start % 2 else users["pi"]
            _excerpt(fieldnote, coder, start, start + 3, code, other)

    add(5, 0)
    with CaptureQueriesContext(connection) as five:
        assert client.get(url, query).status_code == 200
    add(45, 5)
    with django_assert_max_num_queries(len(five)) as fifty:
        assert client.get(url, query).status_code == 200
    assert len(fifty) == len(five)
