"""The meeting comparison page and the excerpts behind its cells, as PI, coder, lay member,
outsider and anonymous user, and once through htmx."""

import re

import pytest
from django.urls import reverse

from coding.models import CodingRound

from .test_triangulation import build_small


@pytest.fixture
def small(project, users):
    return build_small(project, users)


def _get(client, small, name="meetings:compare", **params):
    url = reverse(name, args=[small["meeting"].project_id, small["meeting"].pk])
    return client.get(url, params)


def _cell_url(small):
    return reverse("meetings:compare_cell", args=[small["meeting"].project_id, small["meeting"].pk])


def _mark_url(small, note, key):
    return (
        f"/projects/{small['meeting'].project_id}/fieldnotes/{small['notes'][note].pk}/code/"
        f"#excerpt-{small['excerpts'][key].pk}"
    )


def _observer(small, name):
    return small["notes"][name].observer_id


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_compare_page_shows_lanes_marks_and_the_matrix(login, users, small):
    response = _get(login(users["pi"]), small)

    assert response.status_code == 200
    content = response.content.decode()
    project_id = small["meeting"].project_id
    # The code colours come from the project's stylesheet of code classes.
    assert f'<link rel="stylesheet" href="/projects/{project_id}/codebook/codes.css">' in content
    for name in ("Ann Observer", "Bob Observer", "Cat Observer"):
        assert '<text class="tri-lane-name" x="8" y=' in content
        assert f">{name}</text>" in content
    # Each mark is a link into its fieldnote's coding page, named by its time, observer, codes,
    # coder and first words; its colour is its code's class.
    mark = content.index(f'<a class="tri-mark" href="{_mark_url(small, "Ann", "a1")}">')
    coder = users["coder"].first_name
    assert content[mark:].split("</a>")[0].split("<title>")[1].split("</title>")[0] == (
        f"10:02 · Ann Observer · Protest · coded by {coder}: "
        "“Grace said: we are not here to be marked.”"
    )
    assert f'<rect class="c{small["codes"]["Protest"].pk}" x=' in content[mark:]
    # Cat's excerpt cannot be placed: it is counted in her lane with a link to it.
    cell = _cell_url(small)
    cat = _observer(small, "Cat")
    assert f'<a class="tri-untimed" href="{cell}?observer={cat}&amp;untimed=1">' in content
    assert ">1 untimed</text>" in content
    assert "5 excerpts placed on the clock, 1 untimed, in the notes of 3 observers." in content
    # The matrix: a real table, each count linking to its excerpts, with its share of the text.
    protest = small["codes"]["Protest"].pk
    ann = _observer(small, "Ann")
    assert (
        f'<a href="{cell}?code={protest}&amp;observer={ann}">2<span class="visually-hidden">'
        " excerpts of Protest by Ann Observer</span></a><br>"
        '<span class="muted">37.6%</span>'
    ) in content
    assert (
        f'<a href="{cell}?code={protest}">4<span class="visually-hidden"> excerpts of Protest, '
        'every observer</span></a><br><span class="muted">33.8%</span>'
    ) in content
    assert "<caption>Excerpts per code and observer" in content
    assert '<th scope="col" class="num">Bob Observer</th>' in content
    # Agreement, computed live, and the codes only one observer recorded.
    assert "computed live on this page</strong> for 10-minute windows" in content
    assert '<td class="num">-0.125</td>' in content
    seen = _text(content.split('id="seen-heading"')[1])
    assert "09:30–09:40 Protest only in Bob Observer’s notes (also writing then: Ann Observer)" in (
        seen
    )
    assert "Helen opened. 09:30 · coded by" in seen


def test_compare_page_filters_by_code_coder_window_and_mode(login, users, small):
    resolution = small["codes"]["Resolution"].pk
    client = login(users["pi"])

    by_code = _get(client, small, code=resolution).content.decode()
    assert _mark_url(small, "Ann", "a3") in by_code
    assert _mark_url(small, "Ann", "a1") not in by_code
    assert f'name="code" value="{resolution}" checked' in by_code
    assert "excerpts of Protest" not in by_code

    by_coder = _get(client, small, coder=users["pi"].pk).content.decode()
    assert _mark_url(small, "Ann", "a2") in by_coder
    assert _mark_url(small, "Ann", "a1") not in by_coder
    assert f'name="coder" value="{users["pi"].pk}" checked' in by_coder
    # Cat's notes carry nothing of the PI's: not coded, so not counted as absent.
    assert "Nobody among the chosen coders has coded the notes of Cat Observer yet" in by_coder
    # The cell links keep the coder filter.
    assert f"&amp;coder={users['pi'].pk}" in by_coder

    agenda = _get(client, small, window="agenda", mode="previous").content.decode()
    assert "Per agenda-item window" in agenda
    assert '<option value="agenda" selected>' in agenda
    assert '<option value="previous" selected>' in agenda
    assert "10:00 · Ann Observer · Protest" in agenda  # a1 at the marker before it
    assert "mode=previous" in agenda

    nonsense = _get(client, small, window="7", mode="sideways", code="x").content.decode()
    assert '<option value="10" selected>' in nonsense
    assert '<option value="interpolate" selected>' in nonsense


def test_compare_page_hides_other_coders_work_in_an_open_blind_round(login, users, small, project):
    blind = CodingRound.objects.create(project=project, name="Blind", blind=True)
    blind.fieldnotes.add(small["notes"]["Ann"])

    content = _get(login(users["coder"]), small).content.decode()

    assert _mark_url(small, "Ann", "a1") in content
    assert _mark_url(small, "Ann", "a2") not in content  # the PI's, on a blind fieldnote
    assert _mark_url(small, "Bob", "b1") in content
    cell = _get(
        login(users["coder"]), small, "meetings:compare_cell", observer=_observer(small, "Ann")
    )
    assert "10:00 Grace said:" not in cell.content.decode()


def test_compare_cell_sets_a_codes_excerpts_side_by_side(login, users, small):
    protest = small["codes"]["Protest"].pk

    response = _get(login(users["pi"]), small, "meetings:compare_cell", code=protest)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Protest, every observer</h1>" in content
    assert "<p>4 excerpts, in time order (untimed ones last).</p>" in content
    columns = re.findall(r'<h2 id="observer-\d+">([^<]+) <span class="muted">(\d+)', content)
    assert columns == [("Ann Observer", "2"), ("Bob Observer", "1"), ("Cat Observer", "1")]
    sections = re.findall(r'<section class="panel tri-column"[^>]*>(.*?)</section>', content, re.S)
    ann = _text(sections[0])
    assert ann.startswith(
        "Ann Observer 2 excerpts 10:00 at the time marker before it Protest 10:00 Grace said: "
        f"Coded by {users['pi'].first_name} · Open in the fieldnote (Ann&#x27;s notes) "
        "10:02 between two time markers Protest Grace said: we are not here to be marked. "
        f"Coded by {users['coder'].first_name}"
    )
    assert _text(sections[2]) == (
        f"Cat Observer 1 excerpt untimed Protest Grace protested. Coded by "
        f"{users['coder'].first_name} · Open in the fieldnote (Cat&#x27;s notes)"
    )
    assert f'<a href="{_mark_url(small, "Cat", "c1")}">Open in the fieldnote' in content


def test_compare_cell_of_one_observer_links_to_the_whole_row(login, users, small):
    protest = small["codes"]["Protest"].pk
    ann = _observer(small, "Ann")

    response = _get(login(users["pi"]), small, "meetings:compare_cell", code=protest, observer=ann)

    content = response.content.decode()
    assert "Protest in Ann Observer’s notes</h1>" in content
    assert content.count('<li id="excerpt-') == 2
    assert f'<a href="{_cell_url(small)}?code={protest}">Protest in every observer’s notes</a>' in (
        content
    )


def test_compare_cell_lists_an_observers_untimed_excerpts(login, users, small):
    cat = _observer(small, "Cat")

    response = _get(login(users["pi"]), small, "meetings:compare_cell", observer=cat, untimed=1)

    content = response.content.decode()
    assert "Untimed excerpts in Cat Observer’s notes</h1>" in content
    assert '<blockquote class="excerpt-quote">Grace protested.</blockquote>' in content
    assert content.count('<li id="excerpt-') == 1


@pytest.mark.parametrize(
    "params", [{"code": 999999}, {"observer": 999999}], ids=["unknown code", "unknown observer"]
)
def test_compare_cell_unknown_code_or_observer_is_404(login, users, small, params):
    response = _get(login(users["pi"]), small, "meetings:compare_cell", **params)

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["meetings:compare", "meetings:compare_cell"])
@pytest.mark.parametrize(
    ("role", "status"),
    [("pi", 200), ("coder", 200), ("observer", 200), ("lay", 403), ("outsider", 404)],
)
def test_compare_pages_are_for_researchers(login, users, small, name, role, status):
    response = _get(login(users[role]), small, name)

    assert response.status_code == status


def test_compare_page_sends_anonymous_users_to_log_in(client, small):
    response = _get(client, small)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_compare_page_under_htmx_answers_with_the_results_only(login, users, small):
    response = login(users["pi"]).get(
        reverse("meetings:compare", args=[small["meeting"].project_id, small["meeting"].pk]),
        {"window": "15"},
        headers={"HX-Request": "true"},
    )

    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results">')
    assert "<html" not in content
    assert "Per 15-minute window" in content
    assert response["Vary"] == "HX-Request, Cookie"


def test_meeting_page_links_to_the_comparison(login, users, small):
    meeting = small["meeting"]

    response = login(users["observer"]).get(
        reverse("meetings:detail", args=[meeting.project_id, meeting.pk])
    )

    url = reverse("meetings:compare", args=[meeting.project_id, meeting.pk])
    assert f'<a class="button secondary" href="{url}">Compare observers</a>' in (
        response.content.decode()
    )


def test_compare_page_of_a_meeting_without_fieldnotes(login, users, meeting):
    response = login(users["pi"]).get(
        reverse("meetings:compare", args=[meeting.project_id, meeting.pk])
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "0 excerpts placed on the clock, 0 untimed, in the notes of 0 observers." in content
    assert "No fieldnotes for this meeting yet." in content
    assert "No coded excerpt." in content
