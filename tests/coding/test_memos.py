"""Project memos: every researcher reads and writes them; the author or a PI edits and deletes."""

import pytest
from django.urls import reverse

from coding.models import ProjectMemo
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

HX = {"HX-Request": "true"}


@pytest.fixture
def memo(project, users):
    return ProjectMemo.objects.create(
        project=project,
        author=users["coder"],
        title="Protest and resolution",
        text="The lay panel saw the walk-out\nas a way to resolution.",
    )


@pytest.fixture
def other_coder(project):
    user = UserFactory(username="second-coder")
    MembershipFactory(project=project, user=user, role=Role.CODER)
    return user


def _list_url(project):
    return reverse("search:memos", args=[project.pk])


def _memo_url(memo):
    return reverse("search:memo", args=[memo.project_id, memo.pk])


def _delete_url(memo):
    return reverse("search:memo_delete", args=[memo.project_id, memo.pk])


# the list and the create form


@pytest.mark.parametrize("role", ["pi", "coder", "observer"])
def test_memo_list_for_researchers(login, users, project, memo, role):
    response = login(users[role]).get(_list_url(project))
    assert response.status_code == 200
    assert response.context["section"] == "memos"
    assert list(response.context["memos"]) == [memo]
    content = response.content.decode()
    assert f'<a href="/projects/{project.pk}/memos/{memo.pk}/">Protest and resolution</a>' in (
        content
    )
    assert f'<form method="post" action="/projects/{project.pk}/memos/">' in content


def test_memo_list_refuses_lay_members(login, users, project, memo):
    assert login(users["lay"]).get(_list_url(project)).status_code == 403
    response = login(users["lay"]).post(_list_url(project), {"title": "Mine", "text": ""})
    assert response.status_code == 403
    assert ProjectMemo.objects.count() == 1


def test_memo_list_hides_the_project_from_outsiders(login, users, project, memo):
    assert login(users["outsider"]).get(_list_url(project)).status_code == 404
    assert login(users["outsider"]).post(_list_url(project), {"title": "X"}).status_code == 404


@pytest.mark.parametrize("role", ["pi", "coder", "observer"])
def test_memo_create_by_any_researcher(login, users, project, role):
    response = login(users[role]).post(
        _list_url(project), {"title": "Terms of collaboration", "text": "Contested on day two."}
    )
    memo = ProjectMemo.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/memos/#memo-{memo.pk}"
    assert (memo.project, memo.author, memo.title, memo.text) == (
        project,
        users[role],
        "Terms of collaboration",
        "Contested on day two.",
    )


def test_memo_create_under_htmx_redirects_the_browser(login, users, project):
    response = login(users["coder"]).post(_list_url(project), {"title": "Quick"}, headers=HX)
    memo = ProjectMemo.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/projects/{project.pk}/memos/#memo-{memo.pk}"


def test_memo_create_without_a_title_shows_the_error(login, users, project):
    response = login(users["coder"]).post(_list_url(project), {"title": "", "text": "Kept."})
    assert response.status_code == 400
    content = response.content.decode()
    assert (
        '<ul class="errorlist" id="id_title_error"><li>This field is required.</li></ul>' in content
    )
    assert 'aria-invalid="true" aria-describedby="id_title_error"' in content
    assert "Kept.</textarea>" in content
    assert '<details class="panel memo-new" open>' in content
    assert ProjectMemo.objects.count() == 0


def test_memo_list_under_htmx_is_the_whole_page(login, users, project, memo):
    response = login(users["coder"]).get(_list_url(project), headers=HX)
    assert response.status_code == 200
    assert response.content.decode().startswith("<!doctype html>")


def test_memo_list_shows_markup_as_text(login, users, project):
    ProjectMemo.objects.create(
        project=project, author=users["pi"], title="<script>alert(1)</script>", text="<b>bold</b>"
    )
    content = login(users["coder"]).get(_list_url(project)).content.decode()
    assert "<script>alert" not in content and "<b>bold" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</a>" in content
    assert '<p class="memo-preview">&lt;b&gt;bold&lt;/b&gt;</p>' in content


# one memo: read, edit, delete


def test_memo_author_gets_the_edit_form(login, users, memo):
    response = login(users["coder"]).get(_memo_url(memo))
    content = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"] is not None
    assert f'<input type="hidden" name="seen" value="{memo.updated_at.isoformat()}">' in content
    assert (
        f'<form method="post" action="/projects/{memo.project_id}/memos/{memo.pk}/delete/" '
        'class="discard-form" data-confirm="Delete the memo “Protest and resolution”? '
        'This cannot be undone.">'
    ) in content


def test_memo_other_coder_reads_but_cannot_change(login, users, memo, other_coder):
    client = login(other_coder)
    response = client.get(_memo_url(memo))
    content = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"] is None
    assert "<p>The lay panel saw the walk-out<br>as a way to resolution.</p>" in content
    assert "data-confirm" not in content
    assert client.post(_memo_url(memo), {"title": "Mine now", "text": ""}).status_code == 403
    assert client.post(_delete_url(memo)).status_code == 403
    memo.refresh_from_db()
    assert memo.title == "Protest and resolution"


@pytest.mark.parametrize("role", ["coder", "pi"])
def test_memo_author_or_pi_edits(login, users, memo, role):
    response = login(users[role]).post(
        _memo_url(memo),
        {"title": "Protest", "text": "Rewritten.", "seen": memo.updated_at.isoformat()},
    )
    assert response.status_code == 302
    assert response["Location"] == _memo_url(memo)
    memo.refresh_from_db()
    assert (memo.title, memo.text, memo.author) == ("Protest", "Rewritten.", users["coder"])


def test_memo_observer_cannot_edit_a_coders_memo(login, users, memo):
    response = login(users["observer"]).post(_memo_url(memo), {"title": "X", "text": ""})
    assert response.status_code == 403


def test_memo_edit_under_htmx_redirects_the_browser(login, users, memo):
    response = login(users["pi"]).post(_memo_url(memo), {"title": "New", "text": ""}, headers=HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == _memo_url(memo)


def test_memo_edit_without_a_title_is_refused(login, users, memo):
    response = login(users["coder"]).post(_memo_url(memo), {"title": "", "text": "Kept."})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    memo.refresh_from_db()
    assert memo.title == "Protest and resolution"


def test_memo_edit_from_an_old_copy_keeps_both_texts(login, users, memo):
    opened = memo.updated_at.isoformat()
    memo.text = "The PI's addition."
    memo.save()
    response = login(users["coder"]).post(
        _memo_url(memo), {"title": "Protest", "text": "My rewrite.", "seen": opened}
    )
    content = response.content.decode()
    assert response.status_code == 409
    assert "Someone saved this memo after you opened it." in content
    assert "My rewrite.</textarea>" in content
    assert '<div class="memo-text"><p>The PI&#x27;s addition.</p></div>' in content
    memo.refresh_from_db()
    assert (memo.title, memo.text) == ("Protest and resolution", "The PI's addition.")
    # The page now carries the latest version: saving again is a deliberate choice.
    assert f'name="seen" value="{memo.updated_at.isoformat()}"' in content


def test_memo_lay_member_is_refused(login, users, memo):
    assert login(users["lay"]).get(_memo_url(memo)).status_code == 403
    assert login(users["lay"]).post(_delete_url(memo)).status_code == 403


def test_memo_outsider_gets_404(login, users, memo):
    assert login(users["outsider"]).get(_memo_url(memo)).status_code == 404
    assert login(users["outsider"]).post(_delete_url(memo)).status_code == 404


def test_memo_of_another_project_is_404(login, users, project):
    elsewhere = ProjectMemo.objects.create(project=ProjectFactory(), title="Elsewhere")
    url = reverse("search:memo", args=[project.pk, elsewhere.pk])
    assert login(users["pi"]).get(url).status_code == 404


def test_memo_page_under_htmx_is_the_whole_page(login, users, memo):
    response = login(users["pi"]).get(_memo_url(memo), headers=HX)
    assert response.content.decode().startswith("<!doctype html>")


def test_memo_page_shows_markup_as_text(login, users, project):
    memo = ProjectMemo.objects.create(
        project=project, author=users["pi"], title="<i>x</i>", text="<script>alert(1)</script>"
    )
    content = login(users["coder"]).get(_memo_url(memo)).content.decode()
    assert "<script>alert" not in content and "<i>x" not in content
    assert '<div class="memo-text"><p>&lt;script&gt;alert(1)&lt;/script&gt;</p></div>' in content
    assert "<h1>&lt;i&gt;x&lt;/i&gt;</h1>" in content


@pytest.mark.parametrize("role", ["coder", "pi"])
def test_memo_author_or_pi_deletes(login, users, memo, role):
    response = login(users[role]).post(_delete_url(memo))
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{memo.project_id}/memos/"
    assert not ProjectMemo.objects.exists()


def test_memo_delete_under_htmx_redirects_the_browser(login, users, memo):
    response = login(users["pi"]).post(_delete_url(memo), headers=HX)
    assert response["HX-Redirect"] == f"/projects/{memo.project_id}/memos/"
    assert not ProjectMemo.objects.exists()


def test_memo_delete_needs_post(login, users, memo):
    assert login(users["pi"]).get(_delete_url(memo)).status_code == 405


def test_memo_of_a_former_member_is_the_pis_to_edit(login, users, memo):
    users["coder"].delete()
    memo.refresh_from_db()
    assert memo.author is None
    response = login(users["pi"]).get(_memo_url(memo))
    assert response.context["form"] is not None
    assert "A former member" in response.content.decode()
