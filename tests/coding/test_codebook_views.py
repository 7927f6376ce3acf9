"""The codebook pages: htmx editing in place, merge preview, split and recode, history, import."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding import codebook as books
from coding.models import Code, CodeChange, Excerpt, ExcerptCode

HX = {"HX-Request": "true"}


@pytest.fixture
def pi_client(login, users):
    return login(users["pi"])


def _code_data(prefix="", **values):
    base = {
        "name": "",
        "parent": "",
        "definition": "",
        "inclusion": "",
        "exclusion": "",
        "example": "",
        "shortcut": "",
        "is_codable": "on",
        "palette": "#1e6b3a",
        "custom_colour": "#000000",
    }
    base.update(values)
    return {f"{prefix}{key}": value for key, value in base.items()}


def test_add_code_under_htmx_returns_the_new_tree(pi_client, project):
    response = pi_client.post(
        reverse("coding:code_add", args=[project.pk]),
        _code_data("new-", name="Protest", definition="Open objection.", shortcut="P"),
        headers=HX,
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="code-tree"')
    code = Code.objects.get(name="Protest")
    assert (code.colour, code.shortcut, code.definition) == ("#1e6b3a", "p", "Open objection.")
    assert f'id="code-{code.pk}"' in content


def test_add_code_without_a_name_shows_the_error_in_the_form(pi_client, project):
    response = pi_client.post(
        reverse("coding:code_add", args=[project.pk]), _code_data("new-"), headers=HX
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert content.lstrip().startswith('<details class="panel add-code" id="add-code" open>')
    assert "This field is required." in content


def test_other_colour_is_taken_from_the_picker(pi_client, project):
    pi_client.post(
        reverse("coding:code_add", args=[project.pk]),
        _code_data("new-", name="Custom", palette="other", custom_colour="#ABCDEF"),
    )
    assert Code.objects.get(name="Custom").colour == "#abcdef"


def test_edit_in_place_and_cancel(pi_client, project, code):
    form = pi_client.get(
        reverse("coding:code_edit", args=[project.pk, code.pk]), headers=HX
    ).content.decode()
    assert form.lstrip().startswith(
        f'<section id="code-{code.pk}" class="code-entry editing panel"'
    )
    response = pi_client.post(
        reverse("coding:code_edit", args=[project.pk, code.pk]),
        _code_data(
            name="Protest",
            definition="Refusing how things are done.",
            shortcut="4",
            palette="#a4262c",
        ),
        headers=HX,
    )
    content = response.content.decode()
    assert content.lstrip().startswith(f'<section id="code-{code.pk}" class="code-entry depth-0"')
    assert "Refusing how things are done." in content
    assert CodeChange.objects.get(action="updated").after == {
        "definition": "Refusing how things are done."
    }
    cancel = pi_client.get(
        reverse("coding:code", args=[project.pk, code.pk]), headers=HX
    ).content.decode()
    assert cancel.lstrip().startswith(f'<section id="code-{code.pk}"')


def test_edit_with_a_taken_shortcut_says_which_code_has_it(pi_client, project, code):
    other = books.add_code(codebook=project.codebook, user=None, name="Resolution", shortcut="5")
    response = pi_client.post(
        reverse("coding:code_edit", args=[project.pk, other.pk]),
        _code_data(name="Resolution", shortcut="4"),
        headers=HX,
    )
    assert response.status_code == 400
    assert "The shortcut 4 already belongs to &#x27;Protest&#x27;." in response.content.decode()


def test_move_under_another_code_via_the_edit_form(pi_client, project, code):
    folder = books.add_code(
        codebook=project.codebook, user=None, name="What meetings do", is_codable=False
    )
    pi_client.post(
        reverse("coding:code_edit", args=[project.pk, code.pk]),
        _code_data(name="Protest", parent=str(folder.pk), shortcut="4", palette="#a4262c"),
    )
    code.refresh_from_db()
    assert code.parent == folder


def test_search_filters_by_name_and_definition(login, users, project, code):
    books.add_code(
        codebook=project.codebook, user=None, name="Resolution", definition="A dispute is settled."
    )
    client = login(users["coder"])
    url = reverse("coding:codebook", args=[project.pk])
    by_definition = client.get(url, {"q": "dispute"}, headers=HX)
    assert [c.name for c in by_definition.context["codes"]] == ["Resolution"]
    assert [c.name for c in client.get(url, {"q": "prot"}).context["codes"]] == ["Protest"]
    assert b"No code matches" in client.get(url, {"q": "zzz"}).content


def test_coder_sees_the_codebook_without_editing_controls(login, users, project, code):
    content = (
        login(users["coder"]).get(reverse("coding:codebook", args=[project.pk])).content.decode()
    )
    assert "Protest" in content
    assert "Add a code" not in content
    assert reverse("coding:code_edit", args=[project.pk, code.pk]) not in content


def test_merge_preview_then_confirm(pi_client, project, code, fieldnote, users):
    other = books.add_code(codebook=project.codebook, user=None, name="Complaint")
    excerpt = Excerpt.objects.create(fieldnote=fieldnote, coder=users["coder"], start=0, end=4)
    ExcerptCode.objects.create(excerpt=excerpt, code=other)
    url = reverse("coding:code_merge", args=[project.pk, other.pk])
    preview = pi_client.get(url, {"into": code.pk}).content.decode()
    assert "Moves 1 excerpt; 0 already carry both." in preview
    assert ExcerptCode.objects.get(excerpt=excerpt).code == other
    response = pi_client.post(url, {"into": code.pk, "confirm": "1"})
    assert response["Location"] == f"/projects/{project.pk}/codebook/#code-{code.pk}"
    assert ExcerptCode.objects.get(excerpt=excerpt).code == code


def test_split_leads_to_recoding(pi_client, project, code, fieldnote, users):
    excerpt = Excerpt.objects.create(fieldnote=fieldnote, coder=users["coder"], start=0, end=4)
    ExcerptCode.objects.create(excerpt=excerpt, code=code)
    response = pi_client.post(
        reverse("coding:code_split", args=[project.pk, code.pk]),
        {"names": "Quiet protest\nLoud protest"},
    )
    assert response["Location"] == reverse("coding:code_recode", args=[project.pk, code.pk])
    page = pi_client.get(response["Location"]).content.decode()
    assert "<blockquote>09:3</blockquote>" in page
    loud = Code.objects.get(name="Loud protest")
    pi_client.post(response["Location"], {f"e{excerpt.pk}": [str(loud.pk)]})
    assert list(
        ExcerptCode.objects.filter(excerpt=excerpt).values_list("code__name", flat=True)
    ) == ["Loud protest"]


def test_history_page_and_version_label(pi_client, project, code):
    response = pi_client.post(
        reverse("coding:history", args=[project.pk]), {"label": "v2 after pilot round"}
    )
    assert response["Location"] == reverse("coding:history", args=[project.pk])
    page = pi_client.get(reverse("coding:history", args=[project.pk])).content.decode()
    assert "<strong>v1</strong> v2 after pilot round" in page
    assert "Labelled version 1: v2 after pilot round" in page


def test_import_csv_with_preview_then_confirm(pi_client, project, code):
    data = b"path,name,definition\nProtest,Protest,\nResolution,Resolution,Settled.\n"
    response = pi_client.post(
        reverse("coding:import", args=[project.pk]),
        {"file": SimpleUploadedFile("codes.csv", data, content_type="text/csv")},
    )
    page = response.content.decode()
    assert "Adds 1 code; keeps 1 already there." in page
    assert not Code.objects.filter(name="Resolution").exists()
    pi_client.post(reverse("coding:import", args=[project.pk]), {"confirm": "1"})
    assert Code.objects.get(name="Resolution").definition == "Settled."


def test_import_of_broken_xml_changes_nothing(pi_client, project, code):
    response = pi_client.post(
        reverse("coding:import", args=[project.pk]),
        {
            "file": SimpleUploadedFile(
                "bad.qdc", b"<CodeBook><Codes>", content_type="application/xml"
            )
        },
    )
    assert response.status_code == 400
    assert "bad.qdc: The file is not valid XML" in response.content.decode()
    assert project.codebook.codes.count() == 1


def test_exports_download_with_file_names(login, users, project, code):
    client = login(users["coder"])
    csv_response = client.get(reverse("coding:export_csv", args=[project.pk]))
    assert csv_response["Content-Disposition"] == 'attachment; filename="ward-study-codebook.csv"'
    assert csv_response.content.decode().splitlines()[1].startswith("Protest,Protest,")
    qdc_response = client.get(reverse("coding:export_qdc", args=[project.pk]))
    assert qdc_response["Content-Disposition"] == 'attachment; filename="ward-study.qdc"'
    assert f'guid="{code.guid}"'.encode() in qdc_response.content
    assert io.BytesIO(qdc_response.content).read(5) == b"<?xml"


def test_exporting_an_empty_codebook_says_so(login, users, project):
    response = login(users["coder"]).get(
        reverse("coding:export_qdc", args=[project.pk]), follow=True
    )
    assert "The codebook is empty, so there is nothing to export yet." in response.content.decode()
