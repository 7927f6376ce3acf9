"""The disagreement queue and page: filters and counts, who sees which disagreements, the side by
side view, settling and reopening, discussion, and constant queries."""

from datetime import datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse

from coding import adjudication
from coding.models import AgreementReport, CodingRound, Disagreement, DisagreementComment, Excerpt
from projects.models import Role
from tests.factories import (
    LONDON,
    CodeFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ObserverFactory,
    UserFactory,
)

HX = {"HX-Request": "true"}
# The fixture fieldnote's text (76 characters):
# '09:30 The meeting opened.\n\n09:45 Grace said: "We are not here to be marked."'
A = (6, 25)  # "The meeting opened."
B = (10, 38)  # "meeting opened.\n\n09:45 Grace"


def disagree(report, fieldnote, code, first_coder, first, second_coder=None, second=None):
    return Disagreement.objects.create(
        report=report,
        fieldnote=fieldnote,
        code=code,
        kind=Disagreement.Kind.PARTIAL if second else Disagreement.Kind.UNMATCHED,
        first_coder=first_coder,
        first_start=first[0],
        first_end=first[1],
        second_coder=second_coder,
        second_start=second[0] if second else None,
        second_end=second[1] if second else None,
    )


@pytest.fixture
def study(project, users, fieldnote, code):
    """A revealed round over two fieldnotes, coded by the coder ("Ann Coder") and Rosa; its
    report has four disagreements, one of them settled."""
    for role, first, last in (("coder", "Ann", "Coder"), ("pi", "Pat", "Lead")):
        users[role].first_name, users[role].last_name = first, last
        users[role].save()
    rosa = UserFactory(username="rosa", first_name="Rosa", last_name="Diaz")
    MembershipFactory(project=project, user=rosa, role=Role.CODER)
    sense = CodeFactory(codebook=project.codebook, name="Sense-making", definition="Making sense.")
    later = MeetingFactory(
        project=project, title="Follow-up", starts_at=datetime(2026, 4, 2, 14, 0, tzinfo=LONDON)
    )
    other = FieldnoteFactory(
        meeting=later,
        observer=ObserverFactory(project=project, name="Ward sister"),
        title="Sister's notes",
        text="Nobody objected. Then a long silence.",
    )
    coding_round = CodingRound.objects.create(
        project=project, name="Pilot", blind=True, state=CodingRound.State.REVEALED
    )
    coding_round.fieldnotes.add(fieldnote, other)
    report = AgreementReport.objects.create(
        project=project,
        coding_round=coding_round,
        kind=AgreementReport.Kind.CODERS,
        status=AgreementReport.Status.DONE,
        created_by=users["pi"],
    )
    coder = users["coder"]
    ns = SimpleNamespace(
        rosa=rosa,
        sense=sense,
        other=other,
        round=coding_round,
        report=report,
        d1=disagree(report, fieldnote, code, coder, A, rosa, B),
        d2=disagree(report, fieldnote, sense, coder, (33, 38)),
        d3=disagree(report, other, code, rosa, (0, 16), users["pi"], (7, 16)),
        d4=disagree(report, fieldnote, sense, rosa, (46, 75), coder, (40, 75)),
    )
    adjudication.resolve(disagreement=ns.d4, resolution="second", user=users["pi"])
    return ns


def queue(client, study, **params):
    url = reverse("adjudication:queue", args=[study.report.project_id, study.report.pk])
    return client.get(url, params)


def listed(response):
    return [item.pk for item in response.context["page"].object_list]


# The queue


def test_pi_queue_lists_open_disagreements_with_counts(login, users, study):
    response = queue(login(users["pi"]), study)
    assert listed(response) == [study.d1.pk, study.d2.pk, study.d3.pk]
    assert response.context["counts"] == {"open": 3, "settled": 1}
    html = response.content.decode()
    assert "<strong>3</strong> open · <strong>1</strong> settled" in html
    assert "“The meeting opened.”" in html
    assert "“meeting opened.\n\n09:45 Grace”" in html
    assert "No other coder marked this passage with this code." in html


@pytest.mark.parametrize(
    ("params", "expected", "counts"),
    [
        ({"status": "settled"}, ["d4"], (3, 1)),
        ({"status": "all"}, ["d1", "d2", "d4", "d3"], (3, 1)),
        ({"status": "nonsense"}, ["d1", "d2", "d3"], (3, 1)),
        ({"code": "protest"}, ["d1", "d3"], (2, 0)),
        ({"code": "sense", "status": "all"}, ["d2", "d4"], (1, 1)),
        ({"fieldnote": "other"}, ["d3"], (1, 0)),
        ({"coder": "rosa", "status": "all"}, ["d1", "d4", "d3"], (2, 1)),
        ({"coder": "pi"}, ["d3"], (1, 0)),
        ({"code": "x"}, ["d1", "d2", "d3"], (3, 1)),
    ],
)
def test_queue_filters(login, users, study, code, fieldnote, params, expected, counts):
    keys = {
        "protest": code.pk,
        "sense": study.sense.pk,
        "other": study.other.pk,
        "rosa": study.rosa.pk,
        "pi": users["pi"].pk,
    }
    params = {name: keys.get(value, value) for name, value in params.items()}
    response = queue(login(users["pi"]), study, **params)
    assert listed(response) == [getattr(study, name).pk for name in expected]
    assert (response.context["counts"]["open"], response.context["counts"]["settled"]) == counts


def test_queue_filter_choices(login, users, study, code, fieldnote):
    choices = queue(login(users["pi"]), study).context["choices"]
    assert choices["codes"] == [(code.pk, "Protest"), (study.sense.pk, "Sense-making")]
    assert choices["fieldnotes"] == [
        (fieldnote.pk, "Observer's notes · The observer"),
        (study.other.pk, "Sister's notes · Ward sister"),
    ]
    assert choices["coders"] == [
        (users["coder"].pk, "Ann Coder"),
        (users["pi"].pk, "Pat Lead"),
        (study.rosa.pk, "Rosa Diaz"),
    ]


def test_queue_under_htmx_is_the_list_only(login, users, study):
    response = login(users["pi"]).get(
        reverse("adjudication:queue", args=[study.report.project_id, study.report.pk]),
        {"status": "settled"},
        headers=HX,
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="queue">')
    assert f'id="disagreement-{study.d4.pk}"' in html
    assert "<form" not in html


def test_coder_sees_only_their_own_disagreements(login, users, study):
    response = queue(login(users["coder"]), study, status="all")
    assert listed(response) == [study.d1.pk, study.d2.pk, study.d4.pk]
    assert response.context["counts"] == {"open": 2, "settled": 1}
    assert "a PI settles them" in response.content.decode()


def test_coder_is_refused_while_the_round_is_blind(login, users, study):
    study.round.state = CodingRound.State.OPEN
    study.round.save()
    response = queue(login(users["coder"]), study)
    assert response.status_code == 403
    assert "This round is blind until the PI reveals it, so its disagreements stay hidden." in (
        response.content.decode()
    )
    page = login(users["coder"]).get(
        reverse("adjudication:disagreement", args=[study.report.project_id, study.d1.pk])
    )
    assert page.status_code == 403
    # The PI sees everything at any time.
    assert queue(login(users["pi"]), study).status_code == 200


def test_coder_does_not_see_fieldnotes_another_blind_round_still_hides(
    login, users, study, project, fieldnote
):
    blind = CodingRound.objects.create(project=project, name="Second", blind=True)
    blind.fieldnotes.add(fieldnote)
    response = queue(login(users["coder"]), study, status="all")
    assert listed(response) == []
    page = login(users["coder"]).get(
        reverse("adjudication:disagreement", args=[project.pk, study.d1.pk])
    )
    assert page.status_code == 403
    assert "blind round the PI has not revealed" in page.content.decode()


def test_queue_makes_the_same_queries_for_3_and_30_disagreements(
    login, users, study, code, fieldnote, django_assert_num_queries
):
    client = login(users["pi"])
    queue(client, study)  # warm up the session and content types
    with django_assert_num_queries(10):
        assert len(listed(queue(client, study))) == 3
    for start in range(27):
        disagree(study.report, fieldnote, code, users["coder"], (start, start + 5))
        DisagreementComment.objects.create(
            disagreement=study.d1, author=users["pi"], text=f"Note {start}"
        )
    with django_assert_num_queries(10):
        response = queue(client, study)
    assert len(listed(response)) == 30
    assert "27 comments" in response.content.decode()


def test_queue_pages_after_fifty(login, users, study, code, fieldnote):
    for start in range(60):
        disagree(study.report, fieldnote, code, users["coder"], (start, start + 3))
    response = queue(login(users["pi"]), study, page=2)
    assert len(listed(response)) == 13
    assert "51–63 of 63 shown" in response.content.decode()


# One disagreement


def page(client, disagreement, **params):
    url = reverse(
        "adjudication:disagreement", args=[disagreement.report.project_id, disagreement.pk]
    )
    return client.get(url, params)


def test_disagreement_shows_both_spans_in_context(login, users, study):
    response = page(login(users["pi"]), study.d1)
    html = response.content.decode()
    panels = response.context["panels"]
    assert [(p.label, p.coder, p.start, p.end, p.marked) for p in panels] == [
        ("A", "Ann Coder", 6, 25, "The meeting opened."),
        ("B", "Rosa Diaz", 10, 38, "meeting opened.\n\n09:45 Grace"),
    ]
    assert (panels[0].before, panels[0].cut_before, panels[0].cut_after) == ("09:30 ", False, False)
    assert "A: Ann Coder" in html and "B: Rosa Diaz" in html
    assert '<mark class="span-a">' in html and '<mark class="span-b">' in html
    assert "Characters 6–25 (19 characters)" in html
    assert "Characters 10–38 (28 characters)" in html


def test_context_is_cut_at_word_boundaries(login, users, study, project, code):
    long = FieldnoteFactory(
        meeting=study.other.meeting,
        observer=study.other.observer,
        title="Long notes",
        text=("woords " * 100) + "KEY" + (" woords" * 100),
    )
    found = disagree(study.report, long, code, users["coder"], (700, 703))
    panel = page(login(users["pi"]), found).context["panels"][0]
    assert panel.marked == "KEY"
    assert (panel.cut_before, panel.cut_after) == (True, True)
    # 240 characters either side would cut a word in two: the cut moves out to whole words.
    assert panel.before.startswith("woords ") and panel.after.endswith(" woords")
    assert (len(panel.before), len(panel.after)) == (245, 245)


def test_pi_gets_the_six_decisions_with_their_spans(login, users, study):
    response = page(login(users["pi"]), study.d1)
    decisions = {c.value: (c.span, c.text, c.refused) for c in response.context["decisions"]}
    assert decisions == {
        "first": ((6, 25), "The meeting opened.", ""),
        "second": ((10, 38), "meeting opened.\n\n09:45 Grace", ""),
        "union": ((6, 38), "The meeting opened.\n\n09:45 Grace", ""),
        "intersection": ((10, 25), "meeting opened.", ""),
        "neither": (None, "", ""),
        "edit": (None, "", ""),
    }
    html = response.content.decode()
    assert html.count('type="radio" name="resolution"') == 6
    assert (
        'id="edit-start" name="start" min="0" max="76" step="1" inputmode="numeric" value="6"'
        in html
    )
    assert 'name="end" min="0" max="76" step="1" inputmode="numeric" value="38"' in html


def test_unmatched_disagreement_offers_no_b(login, users, study):
    response = page(login(users["pi"]), study.d2)
    html = response.content.decode()
    assert "B: nobody" in html
    refused = {c.value: c.refused for c in response.context["decisions"] if c.refused}
    assert refused == {
        "second": "Only one coder marked this passage, so there is no B to accept.",
        "intersection": "Only one coder marked this passage, so there is no overlap to keep.",
    }
    assert 'value="second" id="decision-second" disabled' in html


def test_coder_reads_and_discusses_but_gets_no_decision_form(login, users, study):
    response = page(login(users["coder"]), study.d1)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="resolution"' not in html
    assert "Not settled yet. A PI decides" in html
    assert 'action="/projects/' in html and "Post comment" in html


def test_coder_cannot_open_someone_elses_disagreement(login, users, study):
    assert page(login(users["coder"]), study.d3).status_code == 403


def test_previous_and_next_open_follow_the_queue_filters(login, users, study, code):
    client = login(users["pi"])
    neighbours = page(client, study.d2).context["neighbours"]
    assert (neighbours.previous, neighbours.next, neighbours.open_count) == (
        study.d1.pk,
        study.d3.pk,
        3,
    )
    filtered = page(client, study.d1, code=code.pk).context["neighbours"]
    assert (filtered.previous, filtered.next, filtered.open_count) == (None, study.d3.pk, 2)
    html = page(client, study.d1, code=code.pk).content.decode()
    assert (
        f'href="/projects/{study.report.project_id}/disagreements/{study.d3.pk}/?code={code.pk}"'
        in html
    )
    # A settled disagreement still finds the open ones around it.
    settled = page(client, study.d4, status="all").context["neighbours"]
    assert (settled.previous, settled.next) == (study.d2.pk, study.d3.pk)


def test_settled_disagreement_shows_the_decision(login, users, study):
    html = page(login(users["pi"]), study.d4).content.decode()
    assert "<strong>Accept B</strong>, decided by" in html
    assert "The consensus coding has “Sense-making” on characters 40–75:" in html
    assert "Settle it differently" in html and ">Reopen</button>" in html


# Settling and reopening through the pages


def resolve_url(disagreement):
    return reverse("adjudication:resolve", args=[disagreement.report.project_id, disagreement.pk])


def test_pi_settles_and_returns_to_the_disagreement(login, users, study, code):
    response = login(users["pi"]).post(
        resolve_url(study.d1), {"resolution": "intersection", "code": code.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == (
        f"/projects/{study.report.project_id}/disagreements/{study.d1.pk}/?code={code.pk}"
    )
    study.d1.refresh_from_db()
    made = study.d1.consensus_excerpt
    assert (study.d1.resolution, made.start, made.end, made.text) == (
        "intersection",
        10,
        25,
        "meeting opened.",
    )


def test_settle_and_open_the_next(login, users, study):
    response = login(users["pi"]).post(
        resolve_url(study.d1), {"resolution": "first", "then": "next"}
    )
    assert response["Location"] == (
        f"/projects/{study.report.project_id}/disagreements/{study.d2.pk}/"
    )


def test_edit_takes_start_and_end(login, users, study):
    login(users["pi"]).post(
        resolve_url(study.d1), {"resolution": "edit", "start": "33", "end": "38"}
    )
    study.d1.refresh_from_db()
    assert study.d1.consensus_excerpt.text == "Grace"


def test_htmx_settling_redirects_on_the_client(login, users, study):
    response = login(users["pi"]).post(resolve_url(study.d1), {"resolution": "first"}, headers=HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == (
        f"/projects/{study.report.project_id}/disagreements/{study.d1.pk}/"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"resolution": "edit", "start": "ten", "end": "20"}, "The start must be a whole number"),
        ({"resolution": "edit", "start": "30", "end": "20"}, "must start before it ends"),
        ({"resolution": "second"}, "there is no B to accept"),
        ({}, "Choose one of the decisions"),
    ],
)
def test_refused_decision_shows_the_page_again_with_the_reason(login, users, study, data, message):
    target = study.d2 if data.get("resolution") == "second" else study.d1
    response = login(users["pi"]).post(resolve_url(target), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'role="alert" id="resolve-error"' in html
    if data.get("start") == "30":
        # What the PI chose and typed stays in the form.
        assert 'value="edit" id="decision-edit" checked required' in html
        assert 'name="start" min="0" max="76" step="1" inputmode="numeric" value="30"' in html
        assert 'name="end" min="0" max="76" step="1" inputmode="numeric" value="20"' in html
    assert Excerpt.objects.filter(coder__memberships__is_consensus=True).count() == 1  # d4's


def test_coder_cannot_settle(login, users, study):
    response = login(users["coder"]).post(resolve_url(study.d1), {"resolution": "first"})
    assert response.status_code == 403
    study.d1.refresh_from_db()
    assert study.d1.resolution == ""


def test_pi_reopens(login, users, study):
    url = reverse("adjudication:reopen", args=[study.report.project_id, study.d4.pk])
    response = login(users["pi"]).post(url, {"status": "all"}, follow=True)
    assert response.redirect_chain == [
        (f"/projects/{study.report.project_id}/disagreements/{study.d4.pk}/?status=all", 302)
    ]
    assert [str(m) for m in response.context["messages"]] == [
        "Reopened. The consensus coding it made has been taken back."
    ]
    study.d4.refresh_from_db()
    assert (study.d4.resolution, study.d4.consensus_excerpt) == ("", None)


# Discussion


def comment_url(disagreement):
    return reverse("adjudication:comment", args=[disagreement.report.project_id, disagreement.pk])


def test_comment_under_htmx_answers_with_the_thread(login, users, study):
    response = login(users["coder"]).post(
        comment_url(study.d1), {"text": "I took the date as part of it."}, headers=HX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="discussion"')
    assert "<strong>Ann Coder</strong>" in html
    assert "<p>I took the date as part of it.</p>" in html
    assert "Discussion (1)" in html


def test_comment_without_htmx_redirects_to_the_thread(login, users, study, code):
    response = login(users["pi"]).post(comment_url(study.d1), {"text": "Why?", "code": code.pk})
    assert response["Location"] == (
        f"/projects/{study.report.project_id}/disagreements/{study.d1.pk}/?code={code.pk}"
        "#discussion"
    )
    assert list(study.d1.comments.values_list("text", flat=True)) == ["Why?"]


def test_empty_comment_is_refused_with_a_message(login, users, study):
    client = login(users["coder"])
    response = client.post(comment_url(study.d1), {"text": "  "}, headers=HX)
    assert response.status_code == 400
    assert "Write something before posting a comment." in response.content.decode()
    response = client.post(comment_url(study.d1), {"text": "x" * 4001})
    assert response.status_code == 400
    html = response.content.decode()
    assert "A comment can be at most 4,000 characters; this one has 4,001." in html
    assert "x" * 4001 in html  # the text is kept to shorten, not lost
    assert DisagreementComment.objects.count() == 0


def test_observer_cannot_comment(login, users, study):
    response = login(users["observer"]).post(comment_url(study.d1), {"text": "Hello"})
    assert response.status_code == 403


def test_offsets_are_code_points_with_emoji_and_accents(login, users, study, code):
    text = "Zoë arrived late 🙂 and said “ça va, on avance” before the vote."
    notes = FieldnoteFactory(
        meeting=study.other.meeting, observer=study.other.observer, title="Notes", text=text
    )
    start = text.index("🙂")
    end = text.index(" before")
    found = disagree(study.report, notes, code, users["coder"], (start, end))
    panel = page(login(users["pi"]), found).context["panels"][0]
    assert (start, end, panel.marked) == (17, 46, "🙂 and said “ça va, on avance”")
    assert panel.before == "Zoë arrived late "
    response = login(users["pi"]).post(
        resolve_url(found), {"resolution": "edit", "start": str(start + 2), "end": str(end)}
    )
    assert response.status_code == 302
    found.refresh_from_db()
    assert found.consensus_excerpt.text == "and said “ça va, on avance”"


def test_text_without_spaces_is_cut_where_it_is(login, users, study, code):
    notes = FieldnoteFactory(
        meeting=study.other.meeting,
        observer=study.other.observer,
        title="会議",
        text="会議が始まった" * 100 + "鍵" + "会議が始まった" * 100,
    )
    found = disagree(study.report, notes, code, users["coder"], (700, 701))
    panel = page(login(users["pi"]), found).context["panels"][0]
    assert (panel.marked, len(panel.before), len(panel.after)) == ("鍵", 240, 240)
