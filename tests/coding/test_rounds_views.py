"""The coding round pages: the PI's rounds and grid, a coder's own assignments and done toggles,
revealing and closing, and what a blind round keeps from coders."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from coding import rounds, services
from coding.models import CodingRound
from projects.models import Role
from tests.factories import ExcerptFactory, FieldnoteFactory, MembershipFactory, UserFactory


@pytest.fixture
def second_coder(project):
    user = UserFactory(username="second-coder", first_name="Bea", last_name="Second")
    MembershipFactory(project=project, user=user, role=Role.CODER)
    return user


@pytest.fixture
def named(users):
    users["coder"].first_name, users["coder"].last_name = "Ada", "Coder"
    users["coder"].save()
    return users


@pytest.fixture
def other_fieldnote(meeting):
    return FieldnoteFactory(meeting=meeting, title="Second account")


@pytest.fixture
def blind_round(project, named, fieldnote, other_fieldnote, second_coder):
    return rounds.create_round(
        project=project,
        name="Pilot",
        fieldnotes=[fieldnote, other_fieldnote],
        coders=[named["coder"], second_coder],
        blind=True,
        due_date=date(2026, 4, 1),
        created_by=named["pi"],
    )


def _url(name, project, *args):
    return reverse(f"rounds:{name}", args=[project.pk, *args])


def _html(response):
    return response.content.decode()


# --- the list ----------------------------------------------------------------------------------


def test_pi_list_shows_every_round_with_its_progress(login, users, project, blind_round):
    rounds.set_done(assignment=blind_round.assignments.first(), done=True)
    response = login(users["pi"]).get(_url("list", project))
    assert response.status_code == 200
    html = _html(response)
    assert f'<a class="button" href="/projects/{project.pk}/rounds/new/">New round</a>' in html
    assert f'<a href="/projects/{project.pk}/rounds/{blind_round.pk}/">Pilot</a>' in html
    assert '<progress max="4" value="1" aria-label="Fieldnotes done">1 of 4</progress>' in html
    assert "<span>1 of 4 done</span>" in html
    assert '<time datetime="2026-04-01">1 Apr 2026</time>' in html
    assert '<span class="badge state-open">Open</span>' in html
    assert response.context["mine"] == []


def test_coder_list_shows_only_their_own_assignments_and_numbers(
    login, named, project, blind_round, fieldnote, second_coder
):
    ExcerptFactory(fieldnote=fieldnote, coder=named["coder"])
    ExcerptFactory(fieldnote=fieldnote, coder=second_coder)
    ExcerptFactory(fieldnote=fieldnote, coder=second_coder, start=6, end=9)
    response = login(named["coder"]).get(_url("list", project))
    assert response.status_code == 200
    assert response.context["rounds"] is None
    [mine] = response.context["mine"]
    assert [(c.assignment.fieldnote.title, c.excerpts) for c in mine.cells] == [
        ("Observer's notes", 1),
        ("Second account", 0),
    ]
    html = _html(response)
    assert "<h1>My assignments</h1>" in html
    assert "New round" not in html
    assert '<td class="num">1</td>' in html
    assert '<td class="num">2</td>' not in html
    assert "Bea Second" not in html
    assert html.count("Mark done<span") == 2


def test_overdue_round_is_marked_for_the_coder(login, named, project, blind_round):
    CodingRound.objects.filter(pk=blind_round.pk).update(
        due_date=timezone.localdate() - timedelta(days=1)
    )
    html = _html(login(named["coder"]).get(_url("list", project)))
    assert '<span class="overdue">Due <time' in html
    assert " · overdue</span>" in html
    assert html.count('<tr class="overdue-row">') == 2


def test_list_is_for_pis_and_coders(login, users, project):
    assert login(users["observer"]).get(_url("list", project)).status_code == 403
    assert login(users["lay"]).get(_url("list", project)).status_code == 403
    assert login(users["outsider"]).get(_url("list", project)).status_code == 404


def test_list_under_htmx_answers_with_the_assignments_only(login, named, project, blind_round):
    response = login(named["coder"]).get(_url("list", project), headers={"HX-Request": "true"})
    html = _html(response)
    assert html.lstrip().startswith('<div id="my-assignments"')
    assert "<h1>" not in html
    assert response["Vary"] == "HX-Request, Cookie"


def test_nav_shows_rounds_to_pis_and_coders_only(login, users, project):
    link = f'<a href="/projects/{project.pk}/rounds/"'
    home = reverse("projects:home", args=[project.pk])
    assert link in _html(login(users["pi"]).get(home))
    assert link in _html(login(users["coder"]).get(home))
    assert link not in _html(login(users["observer"]).get(home))


# --- creating and editing ----------------------------------------------------------------------


def test_create_form_groups_fieldnotes_by_meeting_and_offers_pis_and_coders(
    login, named, project, fieldnote, other_fieldnote, second_coder
):
    response = login(named["pi"]).get(_url("create", project))
    assert response.status_code == 200
    form = response.context["form"]
    [(meeting, choices)] = form.fieldnote_groups()
    assert meeting == fieldnote.meeting
    assert [(f.title, checked) for f, checked in choices] == [
        ("Observer's notes", False),
        ("Second account", False),
    ]
    assert {user.username for user, _ in form.coder_choices()} == {
        "the-pi",
        "the-coder",
        "second-coder",
    }
    html = _html(response)
    assert (
        '<input type="checkbox" name="blind" aria-describedby="id_blind_helptext" id="id_blind" '
        "checked>"
    ) in html
    assert '<legend>Learning event <span class="muted">10 Mar 2026</span></legend>' in html
    assert '<input type="date" name="due_date"' in html


def test_create_makes_the_round_and_goes_to_it(
    login, named, project, fieldnote, other_fieldnote, second_coder
):
    response = login(named["pi"]).post(
        _url("create", project),
        {
            "name": "Pilot",
            "blind": "on",
            "due_date": "2026-04-01",
            "fieldnotes": [fieldnote.pk, other_fieldnote.pk],
            "coders": [named["coder"].pk, second_coder.pk],
        },
    )
    coding_round = CodingRound.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("detail", project, coding_round.pk)
    assert (coding_round.name, coding_round.blind, coding_round.due_date) == (
        "Pilot",
        True,
        date(2026, 4, 1),
    )
    assert coding_round.assignments.count() == 4


def test_create_without_the_blind_box_makes_an_open_round(login, users, project, fieldnote):
    login(users["pi"]).post(
        _url("create", project),
        {"name": "Open", "fieldnotes": [fieldnote.pk], "coders": [users["coder"].pk]},
    )
    assert CodingRound.objects.get().blind is False


def test_create_refuses_an_observer_as_coder_and_keeps_the_choices(
    login, users, project, fieldnote
):
    response = login(users["pi"]).post(
        _url("create", project),
        {"name": "Pilot", "fieldnotes": [fieldnote.pk], "coders": [users["observer"].pk]},
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "coders": [
            f"Select a valid choice. {users['observer'].pk} is not one of the available choices."
        ]
    }
    html = _html(response)
    assert "Nothing was saved yet: please correct what is marked." in html
    assert f'name="fieldnotes" value="{fieldnote.pk}" checked' in html
    assert CodingRound.objects.count() == 0


def test_create_without_choices_names_what_is_missing(login, users, project, fieldnote):
    response = login(users["pi"]).post(_url("create", project), {"name": "Pilot"})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "fieldnotes": ["Choose at least one fieldnote."],
        "coders": ["Choose at least one coder."],
    }


def test_create_is_for_pis(login, users, project):
    assert login(users["coder"]).get(_url("create", project)).status_code == 403


def test_edit_shows_current_choices_and_saves_changes(
    login, named, project, blind_round, fieldnote, other_fieldnote, second_coder
):
    client = login(named["pi"])
    response = client.get(_url("edit", project, blind_round.pk))
    form = response.context["form"]
    assert "blind" not in form.fields
    assert [checked for _, checked in form.fieldnote_groups()[0][1]] == [True, True]
    assert "This is a blind round" in _html(response)
    response = client.post(
        _url("edit", project, blind_round.pk),
        {
            "name": "Pilot, part 1",
            "due_date": "",
            "fieldnotes": [fieldnote.pk],
            "coders": [named["coder"].pk, second_coder.pk],
        },
    )
    assert response["Location"] == _url("detail", project, blind_round.pk)
    blind_round.refresh_from_db()
    assert (blind_round.name, blind_round.due_date) == ("Pilot, part 1", None)
    assert blind_round.assignments.count() == 2


def test_edit_explains_why_a_done_assignment_cannot_leave(
    login, named, project, blind_round, fieldnote, other_fieldnote, second_coder
):
    rounds.set_done(
        assignment=blind_round.assignments.get(coder=second_coder, fieldnote=fieldnote), done=True
    )
    response = login(named["pi"]).post(
        _url("edit", project, blind_round.pk),
        {
            "name": "Pilot",
            "fieldnotes": [fieldnote.pk, other_fieldnote.pk],
            "coders": [named["coder"].pk],
        },
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "These assignments are already marked done, so their fieldnote or coder cannot leave "
        "the round: Observer's notes by Bea Second. Ask the coder to mark them not done first, "
        "or keep them in the round."
    ]
    assert blind_round.assignments.count() == 4


# --- the round page ----------------------------------------------------------------------------


def test_pi_sees_the_grid_of_coders_by_fieldnote(
    login, named, project, blind_round, fieldnote, other_fieldnote, second_coder
):
    rounds.set_done(
        assignment=blind_round.assignments.get(coder=named["coder"], fieldnote=fieldnote), done=True
    )
    ExcerptFactory(fieldnote=fieldnote, coder=named["coder"])
    ExcerptFactory(fieldnote=fieldnote, coder=named["coder"], start=6, end=9)
    response = login(named["pi"]).get(_url("detail", project, blind_round.pk))
    assert response.status_code == 200
    html = _html(response)
    page = f"/projects/{project.pk}/fieldnotes/{fieldnote.pk}/code/"
    assert '<caption id="grid-caption">Coders by fieldnote</caption>' in html
    assert (
        '<th scope="row">Ada Coder</th>\n            \n              <td class="num is-done">'
        '<span aria-hidden="true">✓ </span><span class="visually-hidden">done, </span>'
        f'<a href="{page}?coder={named["coder"].pk}">2<span class="visually-hidden"> excerpts'
        "</span></a></td>"
    ) in html
    assert '<th scope="row">Bea Second</th>' in html
    assert '<td class="num">1 of 2</td>' in html
    assert f'href="/projects/{project.pk}/reports/new/?round={blind_round.pk}"' in html
    assert "Yes, reveal “Pilot”" in html
    assert "Closing also reveals the round" in html


def test_coder_sees_only_their_own_row_in_a_blind_round(
    login, named, project, blind_round, fieldnote, second_coder
):
    ExcerptFactory(fieldnote=fieldnote, coder=second_coder)
    ExcerptFactory(fieldnote=fieldnote, coder=second_coder, start=6, end=9)
    response = login(named["coder"]).get(_url("detail", project, blind_round.pk))
    assert response.status_code == 200
    progress = response.context["progress"]
    assert [row.coder for row in progress.rows] == [named["coder"]]
    assert vars(progress.overall) == {"assigned": 2, "done": 0, "excerpts": 0}
    html = _html(response)
    assert "Bea Second" not in html
    assert "round-grid" not in html
    assert "Reveal the round" not in html
    assert "you see only your own coding of these fieldnotes until the PI reveals" in html
    assert html.count("Mark done<span") == 2


def test_round_page_is_404_to_a_coder_not_in_it(login, users, project, fieldnote):
    coding_round = rounds.create_round(
        project=project,
        name="Others",
        fieldnotes=[fieldnote],
        coders=[users["pi"]],
        blind=True,
        due_date=None,
        created_by=users["pi"],
    )
    assert login(users["coder"]).get(_url("detail", project, coding_round.pk)).status_code == 404


# --- reveal and close --------------------------------------------------------------------------


def test_reveal_then_reveal_again_says_why_not(login, users, project, blind_round):
    client = login(users["pi"])
    response = client.post(_url("reveal", project, blind_round.pk), follow=True)
    assert response.redirect_chain == [(_url("detail", project, blind_round.pk), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Revealed “Pilot”: its coders now see each other's coding of its fieldnotes."
    ]
    blind_round.refresh_from_db()
    assert blind_round.state == "revealed"
    response = client.post(_url("reveal", project, blind_round.pk), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "This round is already revealed, so there is nothing left to reveal."
    ]


def test_reveal_under_htmx_redirects_the_browser(login, users, project, blind_round):
    response = login(users["pi"]).post(
        _url("reveal", project, blind_round.pk), headers={"HX-Request": "true"}
    )
    assert response["HX-Redirect"] == _url("detail", project, blind_round.pk)


def test_close_ends_the_round(login, users, project, blind_round):
    client = login(users["pi"])
    response = client.post(_url("close", project, blind_round.pk), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Closed “Pilot”: its assignments can no longer be marked done or not done."
    ]
    blind_round.refresh_from_db()
    assert blind_round.state == "closed"
    assert "Close the round" not in _html(response)


def test_reveal_and_close_are_for_pis(login, users, project, blind_round):
    client = login(users["coder"])
    assert client.post(_url("reveal", project, blind_round.pk)).status_code == 403
    assert client.post(_url("close", project, blind_round.pk)).status_code == 403
    blind_round.refresh_from_db()
    assert blind_round.state == "open"


# --- done toggles ------------------------------------------------------------------------------


def _done_url(project, coding_round, fieldnote):
    return _url("assignment_done", project, coding_round.pk, fieldnote.pk)


def test_done_toggle_goes_back_to_a_local_next(login, named, project, blind_round, fieldnote):
    client = login(named["coder"])
    page = reverse("coding:coding_page", args=[project.pk, fieldnote.pk])
    response = client.post(_done_url(project, blind_round, fieldnote), {"done": "1", "next": page})
    assert response["Location"] == page
    assignment = blind_round.assignments.get(coder=named["coder"], fieldnote=fieldnote)
    assert assignment.done_at is not None
    response = client.post(
        _done_url(project, blind_round, fieldnote),
        {"done": "0", "next": "https://evil.example.org/"},
    )
    assert response["Location"] == _url("list", project)
    assignment.refresh_from_db()
    assert assignment.done_at is None


def test_done_toggle_under_htmx_answers_with_the_new_toggle(
    login, named, project, blind_round, fieldnote
):
    response = login(named["coder"]).post(
        _done_url(project, blind_round, fieldnote),
        {"done": "1", "next": "/somewhere/"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Trigger-After-Settle"] == '{"assignment-changed": {}}'
    html = _html(response)
    assert html.lstrip().startswith('<form method="post" class="done-toggle"')
    assert '<input type="hidden" name="next" value="/somewhere/">' in html
    assert '<input type="hidden" name="done" value="0">' in html
    assert 'Not done yet<span class="visually-hidden">: Observer&#x27;s notes</span>' in html


def test_done_toggle_refuses_a_closed_round_with_a_message(
    login, named, project, blind_round, fieldnote
):
    rounds.close_round(coding_round=blind_round, user=named["pi"])
    client = login(named["coder"])
    response = client.post(
        _done_url(project, blind_round, fieldnote), {"done": "1"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert (
        '<span class="row-error" role="alert">This round is closed, so its assignments can no '
        "longer change.</span>"
    ) in _html(response)
    response = client.post(_done_url(project, blind_round, fieldnote), {"done": "1"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "This round is closed, so its assignments can no longer change."
    ]


def test_done_toggle_needs_a_clear_answer(login, named, project, blind_round, fieldnote):
    response = login(named["coder"]).post(
        _done_url(project, blind_round, fieldnote), {"done": "yes"}
    )
    assert response.status_code == 400
    assert _html(response) == "Say done=1 to mark the fieldnote done, done=0 to undo it."


def test_done_toggle_is_only_for_the_assigned_coder(login, users, project, blind_round, fieldnote):
    assert (
        login(users["pi"]).post(_done_url(project, blind_round, fieldnote), {"done": "1"})
    ).status_code == 404
    assert (
        login(users["observer"]).post(_done_url(project, blind_round, fieldnote), {"done": "1"})
    ).status_code == 403
    assert not blind_round.assignments.filter(done_at__isnull=False).exists()


# --- the coding page ---------------------------------------------------------------------------


def test_coding_page_shows_the_coders_assignment_with_its_toggle(
    login, named, project, blind_round, fieldnote
):
    page = reverse("coding:coding_page", args=[project.pk, fieldnote.pk])
    response = login(named["coder"]).get(page)
    assert [a.coding_round for a in response.context["assignments"]] == [blind_round]
    html = _html(response)
    assert (
        "You are coding this fieldnote in the round "
        f'<a href="/projects/{project.pk}/rounds/{blind_round.pk}/">Pilot</a>, due '
        '<time datetime="2026-04-01">1 Apr 2026</time>. It is blind: you see only your own '
        "coding here until the PI reveals it."
    ) in html
    assert f'<input type="hidden" name="next" value="{page}">' in html
    assert "Mark done<span" in html


def test_coding_page_shows_no_assignment_to_others(login, users, project, blind_round, fieldnote):
    page = reverse("coding:coding_page", args=[project.pk, fieldnote.pk])
    assert login(users["pi"]).get(page).context["assignments"] == []
    assert login(users["observer"]).get(page).context["assignments"] == []


# --- blind rounds, end to end ------------------------------------------------------------------


def test_other_coders_work_appears_only_after_the_pi_reveals_the_round(
    login, named, project, blind_round, fieldnote, second_coder, code
):
    theirs = services.create_excerpt(
        fieldnote=fieldnote, coder=second_coder, start=0, end=5, codes=[code]
    )
    mine = services.create_excerpt(
        fieldnote=fieldnote, coder=named["coder"], start=6, end=9, codes=[code]
    )
    client = login(named["coder"])
    page = reverse("coding:coding_page", args=[project.pk, fieldnote.pk])
    panel = reverse("coding:excerpt", args=[project.pk, theirs.pk])
    retrieval = reverse("analysis:retrieval", args=[project.pk, code.pk])

    def seen():
        on_page = client.get(page).content.decode()
        return (
            [e.pk for e in (theirs, mine) if f"id=excerpt-{e.pk} " in on_page],
            client.get(panel).status_code,
            [hit.id for hit in client.get(retrieval).context["hits"]],
        )

    assert seen() == ([mine.pk], 404, [mine.pk])
    login(named["pi"]).post(_url("reveal", project, blind_round.pk))
    client = login(named["coder"])
    # The coding page is a coder's own workspace whatever the round; the other coder's excerpt
    # opens from retrieval (and every other page) once the round is revealed.
    assert seen() == ([mine.pk], 200, [theirs.pk, mine.pk])


def test_coders_find_the_rounds_disagreements_only_once_it_is_revealed(
    client, login, project, named, blind_round
):
    from coding.models import AgreementReport

    report = AgreementReport.objects.create(
        project=project,
        coding_round=blind_round,
        kind=AgreementReport.Kind.CODERS,
        status=AgreementReport.Status.DONE,
        results={},
    )
    queue = reverse("adjudication:queue", args=[project.pk, report.pk])
    url = reverse("rounds:detail", args=[project.pk, blind_round.pk])
    login(named["coder"])
    assert queue not in client.get(url).content.decode()
    rounds.reveal_round(coding_round=blind_round, user=named["pi"])
    page = client.get(url).content.decode()
    assert f'<a href="{queue}">Agreement report of ' in page
