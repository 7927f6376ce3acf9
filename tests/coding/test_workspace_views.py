"""The coding page and its excerpt actions: exact answers, constant queries, conflicts, undo and
who sees what."""

import pytest
from django.urls import reverse

from coding import services
from coding.models import CodingRound, Excerpt, ExcerptEvent
from tests.factories import CodeFactory, ExcerptFactory


@pytest.fixture
def codes(project):
    return [
        CodeFactory(codebook=project.codebook, name="Protest", shortcut="4"),
        CodeFactory(codebook=project.codebook, name="Resolution", shortcut="5"),
    ]


def _page(client, project, fieldnote, **params):
    return client.get(reverse("coding:coding_page", args=[project.pk, fieldnote.pk]), params)


def test_coder_sees_only_their_own_coding(login, users, project, fieldnote, codes):
    mine = services.create_excerpt(
        fieldnote=fieldnote, coder=users["coder"], start=0, end=5, codes=[codes[0]]
    )
    services.create_excerpt(
        fieldnote=fieldnote, coder=users["pi"], start=6, end=9, codes=[codes[1]]
    )
    content = _page(login(users["coder"]), project, fieldnote).content.decode()
    assert f"id=excerpt-{mine.pk} " in content
    assert content.count("<li id=excerpt-") == 1


def test_pi_sees_everyone_or_the_coders_chosen_and_filters_by_code(
    login, users, project, fieldnote, codes
):
    services.create_excerpt(
        fieldnote=fieldnote, coder=users["coder"], start=0, end=5, codes=[codes[0]]
    )
    services.create_excerpt(
        fieldnote=fieldnote, coder=users["pi"], start=6, end=9, codes=[codes[1]]
    )
    client = login(users["pi"])
    assert _page(client, project, fieldnote).context["excerpt_count"] == 2
    assert _page(client, project, fieldnote, coder=users["coder"].pk).context["excerpt_count"] == 1
    assert _page(client, project, fieldnote, code=codes[1].pk).context["excerpt_count"] == 1


def test_page_renders_runs_with_offsets_and_escaped_text(login, users, project, fieldnote, codes):
    fieldnote.text = "a <b> 🙂 end"
    fieldnote.save()
    excerpt = services.create_excerpt(
        fieldnote=fieldnote, coder=users["coder"], start=2, end=7, codes=codes
    )
    content = _page(login(users["coder"]), project, fieldnote).content.decode()
    expected = (
        f'<span data-s=0>a </span><span class="x" data-s=2 data-x="{excerpt.pk}">'
        f"<u class=c{codes[0].pk}><u class=c{codes[1].pk}>&lt;b&gt; 🙂</u></u></span>"
        "<span data-s=7> end</span>"
    )
    assert expected in content


def test_page_uses_the_same_number_of_queries_for_5_or_50_excerpts(
    login, users, project, fieldnote, codes, django_assert_num_queries
):
    fieldnote.text = "word " * 400
    fieldnote.save()
    client = login(users["pi"])
    counts = []
    for total in (5, 50):
        Excerpt.objects.all().delete()
        for index in range(total):
            services.create_excerpt(
                fieldnote=fieldnote,
                coder=users["coder"],
                start=index * 10,
                end=index * 10 + 7,
                codes=[codes[index % 2]],
            )
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert _page(client, project, fieldnote).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_create_answers_with_the_changed_stretch_only(login, users, project, fieldnote, codes):
    services.create_excerpt(
        fieldnote=fieldnote, coder=users["coder"], start=0, end=5, codes=[codes[0]]
    )
    response = login(users["coder"]).post(
        reverse("coding:excerpt_create", args=[project.pk, fieldnote.pk]),
        {"start": 6, "end": 9, "codes": [codes[1].pk]},
    )
    answer = response.json()
    new = Excerpt.objects.get(start=6)
    assert (answer["from"], answer["to"], answer["excerpt"]) == (5, len(fieldnote.text), new.pk)
    assert answer["runs"].startswith(
        f'<span data-s=5> </span><span class="x" data-s=6 data-x="{new.pk}">'
    )
    assert answer["entry"].startswith(f"<li id=excerpt-{new.pk} data-s=6>")
    assert ExcerptEvent.objects.filter(excerpt_key=new.pk).get().action == "created"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": 3, "end": 3, "codes": ["1"]}, "0 <= start < end"),
        ({"end": 3}, "The selection's start and end are missing."),
        ({"start": 0, "end": 3}, "Choose at least one code for the excerpt."),
        (
            {"start": 0, "end": 3, "codes": ["999999"]},
            "One of the codes is not in this project's codebook.",
        ),
    ],
)
def test_create_refuses_bad_input_with_a_message(
    login, users, project, fieldnote, codes, data, message
):
    if data.get("codes") == ["1"]:
        data["codes"] = [codes[0].pk]
    response = login(users["coder"]).post(
        reverse("coding:excerpt_create", args=[project.pk, fieldnote.pk]), data
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert Excerpt.objects.count() == 0


def test_change_from_a_stale_page_is_a_conflict_not_an_overwrite(
    login, users, project, fieldnote, codes
):
    excerpt = services.create_excerpt(
        fieldnote=fieldnote, coder=users["coder"], start=0, end=5, codes=[codes[0]]
    )
    services.change_excerpt(
        excerpt=excerpt, user=users["coder"], revision=1, memo="From another tab."
    )
    response = login(users["coder"]).post(
        reverse("coding:excerpt_change", args=[project.pk, excerpt.pk]),
        {"revision": 1, "memo": "Mine."},
    )
    assert response.status_code == 409
    assert response.json()["error"].startswith("Someone changed this excerpt after you opened it")
    excerpt.refresh_from_db()
    assert (excerpt.memo, excerpt.revision) == ("From another tab.", 2)


def test_change_codes_memo_unsure_and_boundaries(login, users, project, fieldnote, codes):
    excerpt = services.create_excerpt(
        fieldnote=fieldnote, coder=users["coder"], start=0, end=5, codes=[codes[0]]
    )
    response = login(users["coder"]).post(
        reverse("coding:excerpt_change", args=[project.pk, excerpt.pk]),
        {
            "revision": 1,
            "set_codes": "1",
            "codes": [codes[1].pk],
            "memo": "Why?",
            "unsure": "1",
            "start": 0,
            "end": 9,
        },
    )
    assert response.json()["revision"] == 2
    excerpt.refresh_from_db()
    assert (excerpt.end, excerpt.memo, excerpt.unsure) == (9, "Why?", True)
    assert list(excerpt.codes.values_list("name", flat=True)) == ["Resolution"]
    event = ExcerptEvent.objects.get(action="changed")
    assert (event.before["code_names"], event.after["code_names"]) == (["Protest"], ["Resolution"])


def test_coder_cannot_change_someone_elses_excerpt(login, users, project, fieldnote, codes):
    excerpt = services.create_excerpt(
        fieldnote=fieldnote, coder=users["pi"], start=0, end=5, codes=[codes[0]]
    )
    response = login(users["coder"]).post(
        reverse("coding:excerpt_delete", args=[project.pk, excerpt.pk]), {"revision": 1}
    )
    assert response.status_code == 403
    assert Excerpt.objects.filter(pk=excerpt.pk).exists()


def test_delete_then_undo_brings_back_the_same_excerpt(login, users, project, fieldnote, codes):
    excerpt = services.create_excerpt(
        fieldnote=fieldnote, coder=users["coder"], start=0, end=5, codes=codes
    )
    client = login(users["coder"])
    answer = client.post(
        reverse("coding:excerpt_delete", args=[project.pk, excerpt.pk]), {"revision": 1}
    ).json()
    assert (answer["deleted"], answer["entry"]) == (excerpt.pk, "")
    assert not Excerpt.objects.filter(pk=excerpt.pk).exists()
    client.post(reverse("coding:event_undo", args=[project.pk, answer["undo"]]))
    back = Excerpt.objects.get(pk=excerpt.pk)
    assert (back.start, back.end, sorted(back.codes.values_list("name", flat=True))) == (
        0,
        5,
        ["Protest", "Resolution"],
    )
    assert list(
        ExcerptEvent.objects.filter(excerpt_key=excerpt.pk).values_list("action", flat=True)
    ) == [
        "restored",
        "deleted",
        "created",
    ]


def test_blind_round_hides_other_coders_excerpts_on_the_page_and_the_panel(
    login, users, project, fieldnote, codes
):
    theirs = ExcerptFactory(fieldnote=fieldnote, coder=users["pi"], start=0, end=5)
    blind = CodingRound.objects.create(project=project, name="Pilot", blind=True)
    blind.fieldnotes.add(fieldnote)
    client = login(users["coder"])
    assert client.get(reverse("coding:excerpt", args=[project.pk, theirs.pk])).status_code == 404
    assert _page(client, project, fieldnote).context["excerpt_count"] == 0
    observer = login(users["observer"])
    assert observer.get(reverse("coding:excerpt", args=[project.pk, theirs.pk])).status_code == 404


def test_code_styles_give_each_code_its_colour(login, users, project, codes):
    css = (
        login(users["coder"]).get(reverse("coding:code_styles", args=[project.pk])).content.decode()
    )
    assert css == f".c{codes[0].pk}{{--c:#1d5c8a}}\n.c{codes[1].pk}{{--c:#1d5c8a}}\n"


def test_code_looks_read_without_the_tree_match_the_tree(project, codes):
    from coding.workspace import code_looks

    parent = CodeFactory(codebook=project.codebook, name="Talk", position=3)
    child = CodeFactory(codebook=project.codebook, name="Aside", parent=parent, colour="#112233")
    CodeFactory(codebook=project.codebook, name="Deeper", parent=child, position=1)
    from_tree = code_looks(project, project.codebook.tree(include_archived=True))
    cheap = code_looks(project)
    assert cheap == from_tree
    assert cheap[child.pk].position == (1, child.position, child.pk)
    assert cheap[child.pk].colour == "#112233"
