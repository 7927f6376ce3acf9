"""Uploading, previewing, importing and revising fieldnotes through the pages."""

import io
import re

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding.models import Excerpt
from fieldnotes.models import Fieldnote, PendingUpload, TimeMarker
from tests.factories import CodeFactory

NOTES = '09:30 Helen opened the meeting.\n\n10:12 Dev asked: "Is this about us, or for us?"\n'


def _docx_bytes(*paragraphs):
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _upload(client, project, meeting, files=(), **data):
    return client.post(
        reverse("fieldnotes:upload", args=[project.pk, meeting.pk]), {"files": list(files), **data}
    )


def _batch_url(response):
    return response["Location"]


def _marker_fields(item):
    """The time-marker fields of one previewed file, as the page rendered them."""
    data = {}
    for form in item.marker_forms:
        if form["include"].value():
            data[f"{form.prefix}-include"] = "on"
        moment = form["moment"].value()
        data[f"{form.prefix}-moment"] = moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else ""
    return data


def _preview_post(client, url, response, **overrides):
    """Posts the preview form back as the page rendered it, with some fields changed."""
    data = {}
    for item in response.context["good"]:
        for name in item.form.fields:
            data[f"{item.form.prefix}-{name}"] = item.form[name].value() or ""
        data.update(_marker_fields(item))
    data.update(overrides)
    return client.post(url, data)


def test_upload_previews_exact_text_and_markers_then_saves(login, project, users, meeting):
    client = login(users["coder"])
    response = _upload(
        client,
        project,
        meeting,
        files=[SimpleUploadedFile("ward notes.txt", NOTES.encode("utf-8"))],
    )
    preview = client.get(_batch_url(response))
    item = preview.context["good"][0]
    assert item.text == NOTES.rstrip("\n") or item.text == NOTES
    content = preview.content.decode()
    assert "Dev asked: &quot;Is this about us, or for us?&quot;" in content
    assert [f.anchored.marker.text for f in item.marker_forms] == ["09:30", "10:12"]
    assert Fieldnote.objects.count() == 0

    saved = _preview_post(client, _batch_url(response), preview)
    assert saved["Location"] == reverse("meetings:detail", args=[project.pk, meeting.pk])
    fieldnote = Fieldnote.objects.get()
    assert (fieldnote.title, fieldnote.source_name, fieldnote.source_format) == (
        "ward notes",
        "ward notes.txt",
        "txt",
    )
    assert fieldnote.observer.user == users["coder"]
    assert fieldnote.text == item.text
    markers = list(TimeMarker.objects.values_list("text", "offset", "confirmed"))
    assert markers == [("09:30", 0, True), ("10:12", NOTES.index("10:12"), True)]
    assert PendingUpload.objects.count() == 0


def test_uploader_corrects_a_marker_and_drops_another(login, project, users, meeting):
    client = login(users["pi"])
    response = _upload(
        client, project, meeting, files=[SimpleUploadedFile("n.txt", NOTES.encode())]
    )
    preview = client.get(_batch_url(response))
    item = preview.context["good"][0]
    first, second = (form.prefix for form in item.marker_forms)
    _preview_post(
        client,
        _batch_url(response),
        preview,
        **{f"{first}-moment": "2026-03-10T09:35:00", f"{second}-include": ""},
    )
    marker = TimeMarker.objects.get()
    assert marker.text == "09:30"
    assert marker.moment.isoformat() == "2026-03-10T09:35:00+00:00"
    assert marker.note == "Corrected by the uploader."


def test_batch_imports_good_files_and_lists_refused_ones(login, project, users, meeting):
    client = login(users["observer"])
    response = _upload(
        client,
        project,
        meeting,
        files=[
            SimpleUploadedFile("good.docx", _docx_bytes("Heading words", "10:30 Coffee.")),
            SimpleUploadedFile("empty.txt", b""),
            SimpleUploadedFile("fake.pdf", b"just text pretending"),
        ],
    )
    preview = client.get(_batch_url(response))
    refused = {item.source_name: item.error for item in preview.context["refused"]}
    assert set(refused) == {"empty.txt", "fake.pdf"}
    assert refused["empty.txt"] == "The file is empty."
    content = preview.content.decode()
    assert "2 files could not be read" in content
    assert "<strong>empty.txt</strong>: The file is empty." in content
    _preview_post(client, _batch_url(response), preview)
    assert list(Fieldnote.objects.values_list("source_name", "text")) == [
        ("good.docx", "Heading words\n\n10:30 Coffee.")
    ]
    assert PendingUpload.objects.count() == 0


def test_pasted_text_with_new_observer(login, project, users, meeting):
    client = login(users["pi"])
    response = _upload(
        client,
        project,
        meeting,
        pasted_text="Cafe\u0301 at 11:05.\r\nNext line",
        pasted_name="Zoë's notes",
    )
    preview = client.get(_batch_url(response))
    item = preview.context["good"][0]
    assert item.text == "Café at 11:05.\nNext line"
    prefix = item.form.prefix
    missing = _preview_post(client, _batch_url(response), preview, **{f"{prefix}-observer": "new"})
    assert missing.status_code == 400
    assert "Give the name of the observer who wrote this." in missing.content.decode()
    _preview_post(
        client,
        _batch_url(response),
        preview,
        **{f"{prefix}-observer": "new", f"{prefix}-new_observer_name": "Zoë Adams"},
    )
    fieldnote = Fieldnote.objects.get()
    assert (fieldnote.observer.name, fieldnote.observer.user, fieldnote.title) == (
        "Zoë Adams",
        None,
        "Zoë's notes",
    )


def test_upload_with_nothing_says_so(login, project, users, meeting):
    response = _upload(login(users["coder"]), project, meeting)
    assert response.status_code == 400
    assert "Choose at least one file, or paste some text." in response.content.decode()


def test_file_over_the_limit_is_refused_by_name(login, project, users, meeting, settings):
    settings.UPLOAD_MAX_BYTES = 1_048_576
    client = login(users["coder"])
    response = _upload(
        client, project, meeting, files=[SimpleUploadedFile("big.txt", b"a " * 700_000)]
    )
    preview = client.get(_batch_url(response))
    assert [(i.source_name, i.error) for i in preview.context["refused"]] == [
        ("big.txt", "The file is 1.3 MB; the limit is 1 MB.")
    ]


def test_someone_elses_upload_batch_is_not_found(login, project, users, meeting):
    response = _upload(login(users["pi"]), project, meeting, pasted_text="Notes")
    url = _batch_url(response)
    assert login(users["coder"]).get(url).status_code == 404


def test_discard_removes_the_batch(login, project, users, meeting):
    client = login(users["pi"])
    url = _batch_url(_upload(client, project, meeting, pasted_text="Notes"))
    batch = re.search(r"uploads/([0-9a-f-]+)/", url).group(1)
    response = client.post(reverse("fieldnotes:discard", args=[project.pk, batch]))
    assert response["Location"] == reverse("meetings:detail", args=[project.pk, meeting.pk])
    assert PendingUpload.objects.count() == 0
    assert Fieldnote.objects.count() == 0


@pytest.fixture
def coded(fieldnote, users, project):
    code = CodeFactory(codebook=project.codebook, name="Protest")
    text = fieldnote.text
    start = text.index("We are not here")
    excerpt = Excerpt.objects.create(
        fieldnote=fieldnote, coder=users["coder"], start=start, end=start + 15
    )
    excerpt.excerpt_codes.create(code=code)
    return excerpt


def test_revision_carries_excerpts_to_a_new_version(login, project, users, fieldnote, coded):
    client = login(users["observer"])
    revised = "Notes written that evening.\n\n" + fieldnote.text
    response = client.post(
        reverse("fieldnotes:revise", args=[project.pk, fieldnote.pk]), {"pasted_text": revised}
    )
    preview = client.get(_batch_url(response))
    assert preview.context["good"][0].revision == {"moved": 1}
    assert "1 moved with their text" in preview.content.decode()
    data = _marker_fields(preview.context["good"][0])
    saved = client.post(_batch_url(response), data)
    new = Fieldnote.objects.get(version=2)
    assert saved["Location"] == reverse("fieldnotes:detail", args=[project.pk, new.pk])
    assert new.previous_version == fieldnote
    coded.refresh_from_db()
    assert (coded.fieldnote_id, coded.text, coded.needs_review) == (
        new.pk,
        "We are not here",
        False,
    )
    fieldnote.refresh_from_db()
    old_page = client.get(
        reverse("fieldnotes:detail", args=[project.pk, fieldnote.pk])
    ).content.decode()
    assert "Open version 2</a>" in old_page


def test_revision_flags_changed_excerpts(login, project, users, fieldnote, coded):
    client = login(users["pi"])
    revised = fieldnote.text.replace("We are not here", "We are surely not here")
    response = client.post(
        reverse("fieldnotes:revise", args=[project.pk, fieldnote.pk]), {"pasted_text": revised}
    )
    preview = client.get(_batch_url(response))
    data = _marker_fields(preview.context["good"][0])
    client.post(_batch_url(response), data)
    coded.refresh_from_db()
    assert coded.needs_review is True
    assert coded.review_reason == "The text of this excerpt changed in version 2."


def test_only_the_latest_version_can_be_revised(login, project, users, fieldnote):
    Fieldnote.objects.create(
        meeting=fieldnote.meeting,
        observer=fieldnote.observer,
        title=fieldnote.title,
        text=fieldnote.text + " More.",
        version=2,
        previous_version=fieldnote,
    )
    response = login(users["pi"]).get(reverse("fieldnotes:revise", args=[project.pk, fieldnote.pk]))
    assert response["Location"] == reverse("fieldnotes:detail", args=[project.pk, fieldnote.pk])


def test_saved_markers_can_be_corrected(login, project, users, fieldnote):
    marker = TimeMarker.objects.create(
        fieldnote=fieldnote,
        offset=0,
        end=5,
        text="09:30",
        kind="clock",
        moment=None,
        confirmed=False,
    )
    client = login(users["observer"])
    response = client.post(
        reverse("fieldnotes:markers", args=[project.pk, fieldnote.pk]),
        {f"t{marker.pk}-include": "on", f"t{marker.pk}-moment": "2026-03-10T09:31:00"},
    )
    assert response["Location"] == reverse("fieldnotes:detail", args=[project.pk, fieldnote.pk])
    marker.refresh_from_db()
    assert (marker.moment.isoformat(), marker.confirmed, marker.note) == (
        "2026-03-10T09:31:00+00:00",
        True,
        "Corrected by hand.",
    )
