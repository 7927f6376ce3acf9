"""Whole-project exports as background jobs, and the exchange pages around them."""

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from kombu.exceptions import OperationalError

from exchange import exports, tasks
from exchange.models import ExportJob, ImportRecord
from exchange.qdpx import read_qdpx
from projects.models import Membership, Project

Status = ExportJob.Status
SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "refi-qda" / "samples"


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.run_export, "apply_async", lambda args, **options: calls.append(args))
    return calls


def _export(project, user, django_capture_on_commit_callbacks, kind=ExportJob.Kind.QDPX):
    with django_capture_on_commit_callbacks(execute=True):
        return exports.request_export(project=project, user=user, kind=kind)


def test_an_export_is_queued_and_sent_once_committed(
    project, users, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = exports.request_export(project=project, user=users["pi"])
        assert sent == []
    assert (job.status, job.kind, job.attempt, job.created_by) == (
        Status.QUEUED,
        "qdpx",
        1,
        users["pi"],
    )
    callbacks[0]()
    assert sent == [(job.pk, 1)]


def test_with_the_queue_down_the_export_waits_and_is_sent_again_later(
    project, users, monkeypatch, django_capture_on_commit_callbacks
):
    def down(args, **options):
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(tasks.run_export, "apply_async", down)
    job = _export(project, users["pi"], django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == Status.WAITING
    assert job.error == (
        "The job queue could not be reached, so the export has not started yet. It will start "
        "when the queue is back; this page keeps trying."
    )
    calls = []
    monkeypatch.setattr(tasks.run_export, "apply_async", lambda args, **o: calls.append(args))
    assert exports.refresh(job).status == Status.WAITING  # tried moments ago: not yet
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=11))
    job.refresh_from_db()
    assert exports.refresh(job).status == Status.QUEUED
    assert calls == [(job.pk, 1)]


def test_running_an_export_writes_the_project_as_a_qdpx(
    project, users, excerpt, sent, django_capture_on_commit_callbacks, tmp_path
):
    job = _export(project, users["pi"], django_capture_on_commit_callbacks)
    exports.run_export(job.pk, 1)
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == (Status.DONE, 1.0, "")
    path = tmp_path / "exports" / str(project.pk) / f"{job.pk}-1.qdpx"
    assert job.file_path == f"{project.pk}/{job.pk}-1.qdpx"
    assert job.size == path.stat().st_size
    assert job.summary == {
        "sources": 1,
        "selections": 1,
        "codings": 1,
        "codes": project.codebook.codes.count(),
        "notes": 0,
        "users": job.summary["users"],
    }
    assert job.summary["users"] >= 2  # the members, the coder among them
    qde = read_qdpx(path.read_bytes())
    (source,) = qde.sources
    assert source.guid == str(excerpt.fieldnote.guid)
    assert source.text == excerpt.fieldnote.text
    (selection,) = source.selections
    assert (selection.guid, selection.start, selection.end) == (str(excerpt.guid), 0, 5)
    assert not list(path.parent.glob("*.part"))
    # Run twice (a duplicate delivery): nothing changes.
    exports.run_export(job.pk, 1)
    job.refresh_from_db()
    assert job.status == Status.DONE


def test_a_failing_export_says_why_and_leaves_no_file(
    project, users, sent, django_capture_on_commit_callbacks, monkeypatch, tmp_path
):
    def broken(job, out, progress):
        out.write(b"half a file")
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(exports, "_write", broken)
    job = _export(project, users["pi"], django_capture_on_commit_callbacks)
    exports.run_export(job.pk, 1)
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error == (
        "The export could not be written (the disk is full). Run it again; if it fails the "
        "same way, the message names what to look at."
    )
    assert list((tmp_path / "exports").rglob("*")) == [tmp_path / "exports" / str(project.pk)]
    monkeypatch.undo()
    monkeypatch.setattr(tasks.run_export, "apply_async", lambda args, **o: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        again = exports.run_again(job)
    assert (again.status, again.attempt) == (Status.QUEUED, 2)
    assert sent[-1] == (job.pk, 2)
    exports.run_export(job.pk, 1)  # the old attempt does nothing
    exports.run_export(job.pk, 2)
    job.refresh_from_db()
    assert (job.status, job.file_path) == (Status.DONE, f"{project.pk}/{job.pk}-2.qdpx")


def test_an_export_overtaken_while_writing_stores_nothing(
    project, users, sent, django_capture_on_commit_callbacks, monkeypatch, tmp_path
):
    def overtaken(job, out, progress):
        out.write(b"PK")
        ExportJob.objects.filter(pk=job.pk).update(status=Status.FAILED, error="Stopped.")
        return {}

    monkeypatch.setattr(exports, "_write", overtaken)
    job = _export(project, users["pi"], django_capture_on_commit_callbacks)
    exports.run_export(job.pk, 1)
    job.refresh_from_db()
    assert (job.status, job.error, job.file_path) == (Status.FAILED, "Stopped.", "")
    assert not [p for p in (tmp_path / "exports").rglob("*") if p.is_file()]


def test_each_project_keeps_its_three_newest_export_files(
    project, users, sent, django_capture_on_commit_callbacks, tmp_path
):
    jobs = []
    for _ in range(4):
        job = _export(project, users["pi"], django_capture_on_commit_callbacks)
        exports.run_export(job.pk, 1)
        jobs.append(ExportJob.objects.get(pk=job.pk))
    files = sorted(p.name for p in (tmp_path / "exports" / str(project.pk)).iterdir())
    assert files == sorted(f"{job.pk}-1.qdpx" for job in jobs[1:])
    oldest = ExportJob.objects.get(pk=jobs[0].pk)
    assert (oldest.status, oldest.file_path, exports.path_of(oldest)) == (Status.DONE, "", None)


# --- The pages


def test_the_pi_starts_an_export_and_downloads_it(
    client, project, users, excerpt, sent, django_capture_on_commit_callbacks
):
    client.force_login(users["pi"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("exchange:export", args=[project.pk]), {"kind": "qdpx"})
    assert response.status_code == 302
    job = ExportJob.objects.get(project=project)
    assert sent == [(job.pk, 1)]
    page = client.get(reverse("exchange:project", args=[project.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page  # queued: the list polls
    exports.run_export(job.pk, 1)
    fragment = client.get(
        reverse("exchange:jobs", args=[project.pk]), headers={"HX-Request": "true"}
    )
    html = fragment.content.decode()
    assert "every 1s" not in html
    assert "1 fieldnotes, 1 excerpts, 1 codings" in html
    download = client.get(reverse("exchange:download", args=[project.pk, job.pk]))
    day = timezone.localtime().strftime("%Y-%m-%d")
    assert download["Content-Disposition"] == f'attachment; filename="ward-study-{day}.qdpx"'
    body = b"".join(download.streaming_content)
    assert zipfile.ZipFile(io.BytesIO(body)).namelist()[0] == "project.qde"


def test_an_unknown_export_kind_is_refused_by_name(client, project, users, sent):
    client.force_login(users["pi"])
    response = client.post(
        reverse("exchange:export", args=[project.pk]), {"kind": "pdf"}, follow=True
    )
    assert "There is no export of the kind &#x27;pdf&#x27;." in response.content.decode()
    assert not ExportJob.objects.exists()


def test_a_failed_export_cannot_be_downloaded(client, project, users):
    job = ExportJob.objects.create(project=project, status=Status.FAILED, created_by=users["pi"])
    client.force_login(users["pi"])
    assert client.get(reverse("exchange:download", args=[project.pk, job.pk])).status_code == 404


def test_another_projects_export_is_not_found(client, project, users):
    other = Project.objects.exclude(pk=project.pk).get()  # the outsider's project
    job = ExportJob.objects.create(project=other, status=Status.DONE, file_path="x.qdpx")
    client.force_login(users["pi"])
    assert client.get(reverse("exchange:download", args=[project.pk, job.pk])).status_code == 404


# --- Importing


def _upload(client, filename, data, **extra):
    upload = io.BytesIO(data)
    upload.name = filename
    return client.post(reverse("exchange:import"), {"archive": upload, **extra})


def test_a_file_that_is_not_a_qdpx_is_refused_and_nothing_is_made(client, users):
    client.force_login(users["coder"])
    before = (Project.objects.count(), Membership.objects.count())
    response = _upload(client, "notes.qdpx", b"This is not a zip archive at all.")
    assert response.status_code == 200
    assert (
        "notes.qdpx could not be imported: This file is not a .qdpx archive (not a zip file)."
        in response.content.decode()
    )
    assert (Project.objects.count(), Membership.objects.count()) == before


def test_a_file_over_the_limit_is_refused_by_size(client, users, settings):
    settings.IMPORT_MAX_BYTES = 1_048_576
    client.force_login(users["coder"])
    response = _upload(client, "big.qdpx", b"0" * 1_100_000)
    assert "big.qdpx is 1.0 MB; the limit is 1 MB (IMPORT_MAX_MB)." in response.content.decode()


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="the REFI-QDA samples are not beside the repo")
def test_importing_a_sample_makes_a_project_whose_coder_is_mapped_to_a_member(client, users):
    client.force_login(users["coder"])
    data = (SAMPLES / "qc-demo-158-selections.qdpx").read_bytes()
    response = _upload(client, "qc-demo.qdpx", data, name="Imported study")
    record = ImportRecord.objects.get()
    project = record.project
    assert response["Location"] == reverse("exchange:import_report", args=[project.pk, record.pk])
    assert project.name == "Imported study"
    assert project.memberships.get(user=users["coder"]).role == "pi"
    report = client.get(response["Location"]).content.decode()
    assert "Import of qc-demo.qdpx" in report
    placeholder = project.memberships.get(is_placeholder=True)
    assert placeholder.user.excerpts.count() == 158
    page = client.get(reverse("exchange:project", args=[project.pk])).content.decode()
    assert "Coders from the imported file" in page
    response = client.post(
        reverse("exchange:map_placeholder", args=[project.pk, placeholder.pk]),
        {f"p{placeholder.pk}-target": project.memberships.get(user=users["coder"]).pk},
        follow=True,
    )
    who = users["coder"].get_full_name() or users["coder"].username
    assert escape(f"cp's 158 excerpts are now {who}'s.") in response.content.decode()
    assert users["coder"].excerpts.filter(fieldnote__meeting__project=project).count() == 158
    assert not project.memberships.filter(is_placeholder=True).exists()


def test_a_backup_imported_on_the_page_comes_in_as_its_qdpx_and_says_so(
    client, project, users, excerpt
):
    from exchange.backup import export_backup
    from exchange.views import BACKUP_NOTE

    out = io.BytesIO()
    export_backup(project, out)
    accounts = list(User.objects.order_by("pk").values_list("username", flat=True))
    client.force_login(users["pi"])
    response = _upload(client, "ward-backup.qdpx", out.getvalue())
    record = ImportRecord.objects.get()
    assert response["Location"] == reverse(
        "exchange:import_report", args=[record.project_id, record.pk]
    )
    assert record.report["warnings"][-1] == BACKUP_NOTE
    assert escape(BACKUP_NOTE) in client.get(response["Location"]).content.decode()
    # Only the coder whose excerpt came in is added, as a placeholder without a login.
    new = User.objects.exclude(username__in=accounts)
    assert [(user.is_active, user.has_usable_password()) for user in new] == [(False, False)]
    assert record.project.memberships.get(user__in=new).is_placeholder
