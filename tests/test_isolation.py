"""Blind rounds and lay members stay isolated on every URL: pages, fragments, downloads and the API.

One study holds an open blind round in which coders A and B both code the same fieldnote. Coder A
then requests every URL of the URLconf (the permission walk's list), as a page with query
parameters that point at B's work and as an htmx fragment, and the JSON API with A's own token:
B's memo, B's excerpt's GUIDs and B's excerpt id (in data attributes, element ids and links) must
appear in no answer, whatever its status (403 and 404 pages are searched too, and pass when clean).
A lay member walks the same URLs and must never see another observer's text. Zip answers (.xlsx,
.qdpx) are unzipped and every part searched.

No URL is left out. The admin (`EXCLUDED_NAMESPACES`) is for staff only and tested in test_admin.py.

Each walk has a control that proves it can fail: the PI, who may see everything, finds every marker
somewhere; and with the isolation rule switched off, the walk finds a leak.
"""

import io
import re
import zipfile
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from coding import services as coding_services
from coding.models import Assignment, CodingRound, Disagreement, ExcerptQuerySet, ProjectMemo
from coding.reports import compute_report, request_report
from exchange.api import create_token
from panel import services as panel_services
from projects.models import Role

from .factories import (
    CodeFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ObserverFactory,
    ProjectFactory,
    UserFactory,
)
from .test_permission_walk import ROUTES

B_MEMO = "B thinks ZEPHYRQUILL explains the silence"
A_MEMO = "A's own reading"
OBSERVER_WORDS = "KESTRELVANE"
OTHER_LAY_WORDS = "MARIGOLDEN"
PANEL_WORDS = "PORCELAINTIDE"
OWN_LAY_WORDS = "SNOWDROPLANE"
SHARED_TEXT = (
    "09:30 The meeting opened and Grace welcomed the wards.\n\n"
    f"09:45 Ravi said the rota was unfair, which the observer marked {OBSERVER_WORDS}.\n\n"
    "10:05 The group agreed to meet again."
)


def _make_user(project, username, role):
    user = UserFactory(username=username)
    MembershipFactory(project=project, user=user, role=role)
    return user


@pytest.fixture
def study(db, settings, tmp_path):
    project = ProjectFactory(name="Isolation study")
    people = {
        "pi": _make_user(project, "iso-pi", Role.PI),
        "a": _make_user(project, "coder-a", Role.CODER),
        "b": _make_user(project, "coder-b", Role.CODER),
        "observer": _make_user(project, "iso-observer", Role.OBSERVER),
        "lay": _make_user(project, "iso-lay", Role.LAY),
        "lay2": _make_user(project, "iso-lay-two", Role.LAY),
    }
    meeting = MeetingFactory(project=project, title="Ward event", lay_prompts=["What happened?"])
    other_meeting = MeetingFactory(project=project, title="Second event")

    def observer_of(user, name):
        return ObserverFactory(project=project, name=name, user=user)

    shared = FieldnoteFactory(
        meeting=meeting,
        observer=observer_of(people["observer"], "Olu"),
        title="Olu's notes",
        text=SHARED_TEXT,
    )
    lay_observer = observer_of(people["lay"], "Lay Lou")
    own = FieldnoteFactory(
        meeting=meeting,
        observer=lay_observer,
        title="Lou's notes",
        text=f"What happened?\nI saw {OWN_LAY_WORDS} at the door.",
    )
    other_lay_note = FieldnoteFactory(
        meeting=other_meeting,
        observer=observer_of(people["lay2"], "Lay Lee"),
        title="Lee's notes",
        text=f"What happened?\nLee saw {OTHER_LAY_WORDS} in the corridor.",
    )

    # A lay panel member without an account sends a form; another link belongs to `lay`.
    panel_link, panel_key = panel_services.create_invitation(
        meeting=meeting, label="Pat", created_by=people["pi"]
    )
    panel_services.save_draft(
        invitation=panel_link,
        name="Pat",
        answers={"What happened?": f"Pat noticed {PANEL_WORDS} by the window."},
    )
    panel_note = panel_services.submit_draft(invitation=panel_link)
    lay_link, lay_key = panel_services.create_invitation(
        meeting=meeting, label="Lou", created_by=people["pi"]
    )
    lay_link.observer = lay_observer
    lay_link.save(update_fields=["observer"])
    panel_services.save_draft(
        invitation=lay_link, name="Lay Lou", answers={"What happened?": OWN_LAY_WORDS}
    )

    code_a = CodeFactory(codebook=project.codebook, name="Protest")
    code_b = CodeFactory(codebook=project.codebook, name="Silence")
    coding_round = CodingRound.objects.create(
        project=project, name="Blind pilot", blind=True, created_by=people["pi"]
    )
    coding_round.fieldnotes.add(shared)
    coding_round.coders.add(people["a"], people["b"])
    for coder in (people["a"], people["b"]):
        Assignment.objects.create(coding_round=coding_round, fieldnote=shared, coder=coder)
    excerpt_a = coding_services.create_excerpt(
        fieldnote=shared, coder=people["a"], start=6, end=25, codes=[code_a], memo=A_MEMO
    )
    start = SHARED_TEXT.index("Ravi")
    excerpt_b = coding_services.create_excerpt(
        fieldnote=shared,
        coder=people["b"],
        start=start,
        end=start + 30,
        codes=[code_b],
        memo=B_MEMO,
    )
    report = request_report(project=project, user=people["pi"], coding_round=coding_round)
    compute_report(report.pk, report.attempt)
    disagreement = Disagreement.objects.filter(report=report, second_excerpt=excerpt_b).first()
    if disagreement is None:
        disagreement = Disagreement.objects.filter(report=report, first_excerpt=excerpt_b).first()
    assert disagreement is not None, "the report should set B's span against A's"

    a_token = create_token(project=project, user=people["a"], label="A's scripts")[1]
    b_token = create_token(project=project, user=people["b"], label="B's scripts")[0]
    return {
        "project": project,
        "people": people,
        "a_token": a_token,
        "lay_key": lay_key,
        "excerpt_b": excerpt_b,
        "kwargs": {
            "project_id": project.pk,
            "meeting_id": meeting.pk,
            "fieldnote_id": shared.pk,
            "own_fieldnote_id": own.pk,
            "membership_id": project.memberships.get(user=people["b"]).pk,
            "uidb64": "MQ",
            "token": "not-a-token",
            "batch": _pending_upload(meeting, people["pi"]).batch,
            "invitation_id": panel_link.pk,
            "key": panel_key,
            "code_id": code_b.pk,
            "memo_id": ProjectMemo.objects.create(
                project=project, author=people["pi"], title="Plan"
            ).pk,
            "excerpt_id": excerpt_b.pk,
            "event_id": excerpt_b.events.get().pk,
            "token_id": b_token.pk,
            "round_id": coding_round.pk,
            "report_id": report.pk,
            "disagreement_id": disagreement.pk,
            **_exchange(project, people, settings, tmp_path),
        },
        "query": {
            "q": "explains silence",
            "code": code_b.pk,
            "coder": people["b"].pk,
            "observer": shared.observer_id,
            "children": "1",
            "untimed": "1",
        },
        "excerpt_a": excerpt_a,
        "others_notes": {"observer": shared.pk, "lay2": other_lay_note.pk, "panel": panel_note.pk},
    }


def _pending_upload(meeting, pi):
    import uuid

    from fieldnotes.models import PendingUpload

    return PendingUpload.objects.create(
        batch=uuid.uuid4(),
        meeting=meeting,
        uploaded_by=pi,
        source_name="notes.txt",
        source_format="txt",
        text=f"09:30 {OBSERVER_WORDS}",
    )


def _exchange(project, people, settings, tmp_path):
    """A finished export whose file holds everyone's work, as a real one would."""
    from exchange.models import ExportJob, ImportRecord
    from projects.models import Membership

    settings.VAR_DIR = tmp_path
    folder = tmp_path / "exports" / str(project.pk)
    folder.mkdir(parents=True)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("project.qde", f"<Project>{B_MEMO} {SHARED_TEXT}</Project>")
    (folder / "1.qdpx").write_bytes(archive.getvalue())
    job = ExportJob.objects.create(
        project=project,
        status=ExportJob.Status.DONE,
        file_path=f"{project.pk}/1.qdpx",
        size=len(archive.getvalue()),
    )
    record = ImportRecord.objects.create(project=project, source_name="study.qdpx", report={})
    placeholder = Membership.objects.create(
        project=project,
        user=UserFactory(username="imported-iso", is_active=False),
        role=Role.CODER,
        is_placeholder=True,
    )
    return {"job_id": job.pk, "record_id": record.pk, "placeholder_id": placeholder.pk}


# ---------------------------------------------------------------------------------------------
# The walk


def body_text(response) -> str:
    """Everything a client could read in the answer, zip parts unpacked."""
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    if raw.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(raw)) as zipped:
            raw = b"\n".join(zipped.read(name) for name in zipped.namelist())
    return raw.decode("utf-8", errors="replace")


def walk(client, study, *, token=None, query=None, htmx=False):
    """(where, answer text) for a GET of every URL; API URLs with `token` when given."""
    for name, params in sorted(ROUTES.items()):
        url = reverse(name, kwargs={param: study["kwargs"][param] for param in params})
        headers = {"HX-Request": "true"} if htmx else {}
        if name.startswith("api:") and token:
            headers["Authorization"] = f"Bearer {token}"
            extra = {"text": "1", "coder": "coder-b"} if query else {}
        else:
            extra = query or {}
        if extra:
            url = f"{url}?{urlencode(extra)}"
        response = client.get(url, headers=headers)
        yield f"GET {url}{' (htmx)' if htmx else ''} -> {response.status_code}", body_text(response)


def blind_leaks(text: str, excerpt) -> list[str]:
    pk = excerpt.pk
    link = excerpt.excerpt_codes.get()
    found = [
        marker
        for marker in ("ZEPHYRQUILL", str(excerpt.guid), str(link.guid))
        if marker.lower() in text.lower()
    ]
    patterns = [
        rf'data-x="(?:\d+ )*{pk}(?: \d+)*"',
        rf'data-excerpt="{pk}"',
        rf"\bexcerpt-(?:hit-)?{pk}\b",
        rf"/excerpts/{pk}/",
        rf'"excerpt": {pk}\b',
    ]
    return found + [pattern for pattern in patterns if re.search(pattern, text)]


def lay_leaks(text: str) -> list[str]:
    markers = (OBSERVER_WORDS, OTHER_LAY_WORDS, PANEL_WORDS, "ZEPHYRQUILL")
    return [marker for marker in markers if marker in text]


def coder_a_walks(client, study):
    client.force_login(study["people"]["a"])
    yield from walk(client, study, token=study["a_token"], query=study["query"])
    yield from walk(client, study, token=study["a_token"], htmx=True)


def lay_walks(client, study, other="observer"):
    """The lay member's walk, with fieldnote URLs pointing at `other`'s fieldnote."""
    client.force_login(study["people"]["lay"])
    kwargs = {
        **study["kwargs"],
        "key": study["lay_key"],
        "fieldnote_id": study["others_notes"][other],
    }
    lay_study = {**study, "kwargs": kwargs}
    yield from walk(client, lay_study, query={**study["query"], "q": "rota unfair"})
    yield from walk(client, lay_study, htmx=True)


# ---------------------------------------------------------------------------------------------
# Blind rounds


def test_coder_never_sees_the_other_coders_work_in_an_open_blind_round(client, study):
    leaks = [
        (where, found)
        for where, text in coder_a_walks(client, study)
        if (found := blind_leaks(text, study["excerpt_b"]))
    ]
    assert leaks == []


def test_coder_posting_next_to_the_other_coders_span_gets_none_of_it_back(client, study):
    """Coding beside B's span re-renders that stretch of text: B's excerpt must not be in it."""
    client.force_login(study["people"]["a"])
    kwargs = study["kwargs"]
    excerpt_b = study["excerpt_b"]
    response = client.post(
        reverse("coding:excerpt_create", args=[kwargs["project_id"], kwargs["fieldnote_id"]]),
        {"start": excerpt_b.start, "end": excerpt_b.end + 2, "codes": [kwargs["code_id"]]},
    )
    assert response.status_code == 200
    assert blind_leaks(body_text(response), excerpt_b) == []
    excerpt_a = study["excerpt_a"]
    response = client.post(
        reverse("coding:excerpt_change", args=[kwargs["project_id"], excerpt_a.pk]),
        {
            "start": excerpt_a.start,
            "end": excerpt_b.end,
            "codes": [kwargs["code_id"]],
            "revision": excerpt_a.revision,
        },
    )
    assert response.status_code == 200
    assert blind_leaks(body_text(response), excerpt_b) == []


def test_the_pi_finds_every_blind_marker_so_the_walk_can_see_them(client, study):
    client.force_login(study["people"]["pi"])
    pi_token = create_token(project=study["project"], user=study["people"]["pi"], label="PI")[1]
    seen = set()
    for _, text in walk(client, study, token=pi_token, query=study["query"]):
        seen.update(blind_leaks(text, study["excerpt_b"]))
    pk = study["excerpt_b"].pk
    assert {"ZEPHYRQUILL", str(study["excerpt_b"].guid)} <= seen
    assert {rf'data-excerpt="{pk}"', rf"\bexcerpt-(?:hit-)?{pk}\b"} <= seen


def test_the_walk_fails_when_blind_rounds_stop_hiding_work(client, study, monkeypatch):
    monkeypatch.setattr(ExcerptQuerySet, "_hide_blind", lambda self, user, project: self)
    leak = next(
        (
            where
            for where, text in coder_a_walks(client, study)
            if blind_leaks(text, study["excerpt_b"])
        ),
        None,
    )
    assert leak is not None


# ---------------------------------------------------------------------------------------------
# Lay members


@pytest.mark.parametrize("other", ["observer", "lay2", "panel"])
def test_lay_member_never_sees_another_observers_text(client, study, other):
    leaks = [
        (where, found)
        for where, text in lay_walks(client, study, other)
        if (found := lay_leaks(text))
    ]
    assert leaks == []


def test_lay_member_sees_their_own_words(client, study):
    """The control: the walk would notice a text it may show."""
    client.force_login(study["people"]["lay"])
    kwargs = {**study["kwargs"], "key": study["lay_key"]}
    own = reverse("fieldnotes:detail", args=[kwargs["project_id"], kwargs["own_fieldnote_id"]])
    assert OWN_LAY_WORDS in client.get(own).content.decode()
    assert OWN_LAY_WORDS in client.get(reverse("panel:form", args=[kwargs["key"]])).content.decode()


def test_the_walk_fails_when_lay_members_may_read_every_fieldnote(client, study, monkeypatch):
    from projects import access

    monkeypatch.setitem(access.PERMISSIONS, "read_fieldnotes", access.PERMISSIONS["view_project"])
    monkeypatch.setitem(access.PERMISSIONS, "view_meetings", access.PERMISSIONS["view_project"])
    leak = next((where for where, text in lay_walks(client, study) if lay_leaks(text)), None)
    assert leak is not None
