"""Search across a project: ranked fieldnotes with highlighted snippets, excerpt memos, memos.

PostgreSQL stems ("speaks" finds "speaking"); SQLite matches substrings as typed. Where the two
legitimately differ, the expected value is chosen by `connection.vendor`.
"""

import re

import pytest
from django.db import connection
from django.urls import reverse

from coding.models import CodingRound, ProjectMemo
from coding.search import (
    build_snippets,
    find_terms,
    query_terms,
    search_project,
    spans_from_marked,
)
from projects.access import get_project_for
from projects.models import Role
from tests.factories import (
    ExcerptFactory,
    FieldnoteFactory,
    MembershipFactory,
    UserFactory,
)

HX = {"HX-Request": "true"}
POSTGRES = connection.vendor == "postgresql"


def _search(user, project, query):
    return search_project(project=get_project_for(user, project.pk), user=user, query=query)


def _note(fieldnote, title, text, **extra):
    return FieldnoteFactory(
        meeting=fieldnote.meeting, observer=fieldnote.observer, title=title, text=text, **extra
    )


def _url(project, query):
    return reverse("search:search", args=[project.pk]) + "?" + f"q={query}"


# search_project: what is found and in which order


def test_search_ranks_fieldnotes_by_how_often_the_words_occur(project, users, fieldnote):
    _note(fieldnote, "Once", "One protest only, at the end of the day.")
    _note(fieldnote, "Thrice", "A protest. Then protest again, and a third protest.")
    _note(fieldnote, "Twice", "A protest, then a second protest.")
    _note(fieldnote, "Never", "Nothing of the kind happened.")
    results = _search(users["pi"], project, "protest")
    assert [hit.title for hit in results.fieldnotes] == ["Thrice", "Twice", "Once"]
    assert [hit.hits for hit in results.fieldnotes] == [3, 2, 1]


def test_search_snippet_marks_the_hit_exactly(project, users, fieldnote):
    [hit] = _search(users["coder"], project, "marked").fieldnotes
    assert (hit.title, hit.observer, hit.meeting) == (
        "Observer's notes",
        "The observer",
        "Learning event",
    )
    assert (hit.start, hit.end) == (68, 74)
    assert fieldnote.text[hit.start : hit.end] == "marked"
    assert hit.snippets == [
        "…meeting opened. 09:45 Grace said: &quot;We are not here to be <mark>marked</mark>.&quot;"
    ]
    assert hit.code_url == (f"/projects/{project.pk}/fieldnotes/{fieldnote.pk}/code/?select=68-74")


def test_search_needs_every_word_of_a_multi_word_query(project, users, fieldnote):
    _note(fieldnote, "Both", "A protest on the ward, loud and clear.")
    _note(fieldnote, "Protest only", "A protest outside the hospital.")
    _note(fieldnote, "Ward only", "The ward round began late.")
    results = _search(users["pi"], project, "ward protest")
    assert [hit.title for hit in results.fieldnotes] == ["Both"]
    assert results.fieldnotes[0].snippets == [
        "A <mark>protest</mark> on the <mark>ward</mark>, loud and clear."
    ]


def test_search_quoted_phrase_must_occur_as_written(project, users, fieldnote):
    _note(fieldnote, "Phrase", "Then the ward round began.")
    _note(fieldnote, "Apart", "The round of the ward began.")
    results = _search(users["pi"], project, '"ward round"')
    assert [hit.title for hit in results.fieldnotes] == ["Phrase"]
    [hit] = results.fieldnotes
    if POSTGRES:
        # PostgreSQL marks each word of the phrase.
        assert hit.snippets == ["Then the <mark>ward</mark> <mark>round</mark> began."]
        assert (hit.start, hit.end) == (9, 13)
    else:
        assert hit.snippets == ["Then the <mark>ward round</mark> began."]
        assert (hit.start, hit.end) == (9, 19)


def test_search_finds_accented_words_in_any_case(project, users, fieldnote):
    note = _note(fieldnote, "Café", "Résumé: we met in the Café by ward 4.")
    for query in ["café", "cafe\u0301"]:  # composed and decomposed é
        [hit] = _search(users["pi"], project, query).fieldnotes
        assert hit.fieldnote_id == note.pk
        assert (hit.start, hit.end) == (22, 26)
        assert hit.snippets == ["Résumé: we met in the <mark>Café</mark> by ward 4."]
    assert _search(users["pi"], project, "cafe").fieldnotes == []


def test_search_offsets_count_code_points_after_emoji(project, users, fieldnote):
    # 😀 is one code point, 👍🏽 two (the hand and its skin tone): four UTF-16 units together.
    note = _note(fieldnote, "Emoji", "😀👍🏽 Grace protested loudly.")
    [hit] = _search(users["pi"], project, "protested").fieldnotes
    assert (hit.start, hit.end) == (10, 19)
    assert note.text[10:19] == "protested"
    assert hit.code_url == f"/projects/{project.pk}/fieldnotes/{note.pk}/code/?select=10-19"
    assert hit.snippets == ["😀👍🏽 Grace <mark>protested</mark> loudly."]


def test_search_leaves_out_earlier_versions(project, users, fieldnote):
    first = _note(fieldnote, "Notes v1", "A zebra crossed the ward.")
    second = _note(
        fieldnote, "Notes v2", "A giraffe crossed the ward.", previous_version=first, version=2
    )
    assert _search(users["pi"], project, "zebra").fieldnotes == []
    assert [hit.fieldnote_id for hit in _search(users["pi"], project, "giraffe").fieldnotes] == [
        second.pk
    ]


def test_search_stems_on_postgresql_only(project, users, fieldnote):
    _note(fieldnote, "Talk", "She speaks first; later she was speaking again. Then he spoke.")
    [hit] = _search(users["pi"], project, "speak").fieldnotes
    if POSTGRES:
        assert hit.snippets == [
            "She <mark>speaks</mark> first; later she was <mark>speaking</mark> again. "
            "Then he spoke."
        ]
        assert (hit.start, hit.end, hit.hits) == (4, 10, 2)
    else:
        assert hit.snippets == [
            "She <mark>speak</mark>s first; later she was <mark>speak</mark>ing again. "
            "Then he spoke."
        ]
        assert (hit.start, hit.end, hit.hits) == (4, 9, 2)
    speaking = _search(users["pi"], project, "speaking").fieldnotes
    assert [h.hits for h in speaking] == ([2] if POSTGRES else [1])
    # Neither knows that "spoke" is a form of "speak".
    assert [h.start for h in _search(users["pi"], project, "spoke").fieldnotes] == [56]


def test_search_in_other_projects_finds_nothing(project, users, fieldnote):
    other = FieldnoteFactory(text="Grace said we are not here to be marked.")
    results = _search(users["pi"], project, "marked")
    assert [hit.fieldnote_id for hit in results.fieldnotes] == [fieldnote.pk]
    assert other.pk != fieldnote.pk


def test_search_finds_excerpt_memos_and_project_memos(project, users, fieldnote, excerpt):
    excerpt.memo = "Reads like a resolution, not a protest."
    excerpt.save()
    ProjectMemo.objects.create(
        project=project,
        author=users["pi"],
        title="Protest as resolution",
        text="The lay panel saw it as a way to a resolution.",
    )
    ProjectMemo.objects.create(project=project, author=users["pi"], title="Other", text="Rota.")
    results = _search(users["coder"], project, "resolution")
    [memo_hit] = results.excerpt_memos
    assert (memo_hit.excerpt_id, memo_hit.quote) == (excerpt.pk, "09:30")
    assert memo_hit.coder == users["coder"].get_full_name()
    assert memo_hit.snippets == ["Reads like a <mark>resolution</mark>, not a protest."]
    assert memo_hit.code_url == f"/projects/{project.pk}/fieldnotes/{fieldnote.pk}/code/?select=0-5"
    [project_hit] = results.project_memos
    assert project_hit.title == "Protest as <mark>resolution</mark>"
    assert project_hit.author == users["pi"].get_full_name()
    assert project_hit.snippets == ["The lay panel saw it as a way to a <mark>resolution</mark>."]


def test_search_hides_other_coders_memos_in_an_open_blind_round(project, users, fieldnote):
    second = UserFactory(username="second-coder")
    MembershipFactory(project=project, user=second, role=Role.CODER)
    mine = ExcerptFactory(
        fieldnote=fieldnote, coder=users["coder"], start=0, end=5, memo="My protest memo."
    )
    theirs = ExcerptFactory(
        fieldnote=fieldnote, coder=second, start=6, end=9, memo="Their protest memo."
    )
    blind = CodingRound.objects.create(project=project, name="Pilot", blind=True)
    blind.fieldnotes.add(fieldnote)
    assert blind.state == CodingRound.State.OPEN

    def found(user):
        return [hit.excerpt_id for hit in _search(user, project, "protest").excerpt_memos]

    assert found(users["coder"]) == [mine.pk]
    assert sorted(found(users["pi"])) == sorted([mine.pk, theirs.pk])
    blind.state = CodingRound.State.REVEALED
    blind.save()
    assert sorted(found(users["coder"])) == sorted([mine.pk, theirs.pk])


def test_search_refuses_a_query_over_200_characters(project, users):
    from coding.search import QueryTooLong

    assert _search(users["pi"], project, "a" * 200).count == 0
    with pytest.raises(QueryTooLong, match="at most 200 characters; this search has 201"):
        _search(users["pi"], project, "a" * 201)


# the pure helpers


def test_query_terms_keep_phrases_and_drop_repeats():
    assert query_terms('ward "round  table"  Ward "unclosed') == ["ward", "round table", "unclosed"]


def test_find_terms_merges_overlapping_hits_and_counts_each():
    # "war" and "ward" both occur twice: at "ward" and at the start of "warden".
    assert find_terms("The ward warden", ["war", "ward"]) == ([(4, 8), (9, 13)], 4)
    assert find_terms("The ward", ["ward", "zebra"]) == ([], 0)


def test_spans_from_marked_follow_the_original_text():
    original = "unmarked marked <b>"
    marked = "unmarked \x02marked\x03 <b>"
    assert spans_from_marked(marked, original) == [(9, 15)]
    # Where ts_headline rewrote a piece, a hit is still found as a whole word after it.
    assert spans_from_marked("X \x02marked\x03 \x02hit\x03", "unmarked marked hit") == [
        (9, 15),
        (16, 19),
    ]


def test_build_snippets_cut_at_words_and_escape():
    text = "word " * 20 + "<b>hit</b> & " + "more " * 20
    start = text.index("hit")
    [snippet] = build_snippets(text, [(start, start + 3)])
    assert snippet == (
        "…word word word word word word word word word word word &lt;b&gt;<mark>hit</mark>"
        "&lt;/b&gt; &amp; more more more more more more more more more more…"
    )


def test_build_snippets_keep_at_most_three_passages():
    text = " ".join(f"hit{'x' * 200}" for _ in range(5))
    spans = [(index * 204, index * 204 + 3) for index in range(5)]
    assert len(build_snippets(text, spans)) == 3


# the page


def test_search_page_as_pi_shows_all_three_groups(login, project, users, fieldnote, excerpt):
    excerpt.memo = "Marked as protest."
    excerpt.save()
    memo = ProjectMemo.objects.create(
        project=project, author=users["pi"], title="Being marked", text=""
    )
    response = login(users["pi"]).get(_url(project, "marked"))
    assert response.status_code == 200
    content = response.content.decode()
    assert response.context["section"] == "search"
    assert '<h2 id="hits-fieldnotes">Fieldnotes</h2>' in content
    assert '<h2 id="hits-excerpt-memos">Excerpt memos</h2>' in content
    assert '<h2 id="hits-project-memos">Project memos</h2>' in content
    assert (
        '<p class="snippet">…meeting opened. 09:45 Grace said: &quot;We are not here to be '
        "<mark>marked</mark>.&quot;</p>"
    ) in content
    assert (
        f'<a class="button secondary small" href="/projects/{project.pk}/fieldnotes/'
        f'{fieldnote.pk}/code/?select=68-74">'
    ) in content
    assert "1 match, the first at character 68" in content
    assert f'<a href="/projects/{project.pk}/memos/{memo.pk}/">Being <mark>marked</mark></a>' in (
        content
    )
    assert "1 fieldnote, 1 excerpt memo and 1 project memo match “marked”." in content


def test_search_page_as_coder(login, project, users, fieldnote):
    response = login(users["coder"]).get(_url(project, "marked"))
    assert response.status_code == 200
    assert [hit.fieldnote_id for hit in response.context["results"].fieldnotes] == [fieldnote.pk]


def test_search_page_refuses_lay_members(login, project, users, lay_fieldnote):
    assert login(users["lay"]).get(_url(project, "happened")).status_code == 403


def test_search_page_hides_the_project_from_outsiders(login, project, users, fieldnote):
    assert login(users["outsider"]).get(_url(project, "marked")).status_code == 404


def test_search_page_under_htmx_is_only_the_results(login, project, users, fieldnote):
    response = login(users["coder"]).get(_url(project, "marked"), headers=HX)
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="search-results" class="search-results">')
    assert "<html" not in content and 'id="search-q"' not in content
    assert "<mark>marked</mark>" in content
    assert response["Vary"] == "HX-Request, Cookie"


def test_search_page_without_a_query_shows_only_the_form(login, project, users, fieldnote):
    response = login(users["coder"]).get(reverse("search:search", args=[project.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert response.context["results"] is None
    assert 'id="search-q" name="q" value=""' in content
    assert re.search(r'<div id="search-results" class="search-results">\s*</div>', content)


def test_search_page_explains_a_query_too_long(login, project, users):
    response = login(users["pi"]).get(_url(project, "x" * 201))
    assert response.status_code == 400
    assert (
        '<p class="notice notice-error" role="alert">Search for at most 200 characters; '
        "this search has 201. Shorten it and try again.</p>"
    ) in response.content.decode()


def test_search_page_says_when_nothing_matches(login, project, users, fieldnote):
    response = login(users["pi"]).get(_url(project, "zebra"))
    assert "Nothing matches “zebra”." in response.content.decode()


def test_search_page_never_renders_text_as_markup(login, project, users, fieldnote):
    _note(fieldnote, "Chat", 'She typed <script>alert("x")</script> into the chat.')
    ProjectMemo.objects.create(
        project=project,
        author=users["pi"],
        title="<script>alert(1)</script> chat",
        text="<img src=x onerror=alert(2)> the chat log",
    )
    content = login(users["pi"]).get(_url(project, "chat")).content.decode()
    assert "<script>alert" not in content and "<img" not in content
    assert (
        '<p class="snippet">She typed &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; into '
        "the <mark>chat</mark>.</p>"
    ) in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>chat</mark></a>" in content
    assert (
        '<p class="snippet">&lt;img src=x onerror=alert(2)&gt; the <mark>chat</mark> log</p>'
    ) in content


def test_postgresql_has_a_full_text_index_the_search_uses(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the full-text index exists on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("select indexdef from pg_indexes where indexname = 'fieldnote_text_search'")
        (definition,) = cursor.fetchone()
    assert "USING gin (to_tsvector('english'::regconfig" in definition
