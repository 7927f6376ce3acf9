"""Faults survived with nothing lost (docs/faults.md): the database unreachable, Redis down, a
worker killed in the middle of a project export.

The first tests need nothing but the suite's database. The Redis test starts a Redis server of its
own (on FAULT_REDIS_PORT, 6380 unless set) so it can stop and start it; it is skipped when
`redis-server` is not installed or the port is taken. The worker tests reuse
`test_reports_worker`'s way of stopping a worker at a known point. None of them stops or restarts
a shared server; `bin/fault-drill` restarts a PostgreSQL cluster of its own.
"""

import os
import shutil
import signal
import socket
import subprocess
from datetime import timedelta
from unittest import mock

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.test import Client
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from coding import reports
from coding.models import AgreementReport, Excerpt, ExcerptEvent
from config import db_errors, jobs, login
from config.celery import app as celery_app
from exchange import exports
from exchange.models import ExportJob
from panel import services as panel_services
from panel.models import LayDraft
from projects import services as project_services
from projects.models import Membership, Role
from tests.factories import (
    CodeFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)

from . import test_reports_worker
from .conftest import _database_url, wait_for
from .test_reports_worker import (
    HeldFieldnote,
    _children,
    _request,
    _start_worker,
    _status,
    _stop,
)

# Twelve fieldnotes coded by two coders, and a worker's environment, as the report tests have them.
study = test_reports_worker.study
worker_env = test_reports_worker.worker_env

UNREACHABLE = OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def coder_page(db):
    """A coder logged in on a fieldnote with one code."""
    coder = UserFactory(username="ada")
    project = ProjectFactory(name="Ward study")
    MembershipFactory(project=project, user=coder, role=Role.CODER)
    code = CodeFactory(codebook=project.codebook, name="Protest")
    fieldnote = FieldnoteFactory(meeting__project=project, text="Ward 7 said no. Then they agreed.")
    client = Client(raise_request_exception=False)
    client.force_login(coder)
    url = reverse("coding:excerpt_create", args=[project.pk, fieldnote.pk])
    return {"client": client, "url": url, "code": code, "fieldnote": fieldnote}


def _create(page, start=0, end=15):
    return page["client"].post(
        page["url"],
        {"start": start, "end": end, "codes": [page["code"].pk]},
        headers={"accept": "application/json"},
    )


# --- the database unreachable -------------------------------------------------------------------


def test_a_view_that_cannot_reach_the_database_answers_503_saying_nothing_was_saved(coder_page):
    with mock.patch("coding.services.create_excerpt", side_effect=UNREACHABLE):
        response = _create(coder_page)
    assert response.status_code == 503
    assert response.json() == {"error": db_errors.NOTHING_SAVED, "saved": False}
    assert db_errors.NOTHING_SAVED == (
        "The database is not reachable just now; nothing was saved. Try again in a moment."
    )
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    assert not Excerpt.objects.exists()


def test_a_browser_gets_the_503_page_even_when_the_login_check_fails(coder_page):
    # The session is read by LoginRequiredMiddleware, before any view: the usual first contact
    # with a database that has just gone away.
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore._get_session_from_db",
        side_effect=InterfaceError("connection already closed"),
    ):
        response = coder_page["client"].get(
            reverse("projects:list"), headers={"accept": "text/html"}
        )
    assert response.status_code == 503
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "<h1>Database not reachable</h1>" in html
    assert f'<p class="notice notice-error" role="alert">{db_errors.NOTHING_SAVED}</p>' in html
    assert "Content-Security-Policy" in response.headers


def test_a_failure_after_the_excerpt_was_written_says_it_may_have_been_saved(coder_page):
    # The commit went through, then the connection was lost while drawing the answer.
    with mock.patch("coding.views_workspace._answer", side_effect=UNREACHABLE):
        response = _create(coder_page)
    assert (response.status_code, response.json()["error"]) == (503, db_errors.MAYBE_SAVED)
    (excerpt,) = Excerpt.objects.all()
    assert [code.name for code in excerpt.codes.all()] == ["Protest"]
    assert ExcerptEvent.objects.filter(excerpt=excerpt, action="created").count() == 1


def test_a_lay_draft_that_cannot_be_saved_answers_503_json_for_the_autosave(db):
    pi = UserFactory(username="helen")
    meeting = MeetingFactory()
    _, key = panel_services.create_invitation(meeting=meeting, label="Margaret", created_by=pi)
    with mock.patch("panel.views.services.save_draft", side_effect=UNREACHABLE):
        response = Client().post(
            reverse("panel:draft", args=[key]),
            {"notes": "They voted."},
            headers={"accept": "application/json"},
        )
    # static/js/lay-form.js keeps the text on the device and tries again on any 5xx.
    assert response.status_code == 503
    assert response.json() == {"error": db_errors.NOTHING_SAVED, "saved": False}
    assert not LayDraft.objects.exists()


def test_other_errors_are_still_500(coder_page):
    with mock.patch("coding.services.create_excerpt", side_effect=RuntimeError("a bug")):
        response = _create(coder_page)
    assert response.status_code == 500


@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_under_the_server_gives_one_503_and_then_recovers(coder_page):
    if connection.vendor != "postgresql":
        pytest.skip("a backend to terminate needs PostgreSQL")
    connection.ensure_connection()
    with psycopg.connect(_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    failed = _create(coder_page, 0, 4)
    assert (failed.status_code, failed.json()["error"]) == (503, db_errors.NOTHING_SAVED)
    # At the end of every request a real server drops a broken connection (the test client
    # leaves that out), so the next request connects afresh.
    close_old_connections()
    saved = _create(coder_page, 5, 15)
    assert saved.status_code == 200
    assert list(Excerpt.objects.values_list("start", "end")) == [(5, 15)]


# --- Redis down ---------------------------------------------------------------------------------


def test_with_the_cache_unreachable_log_in_goes_on_uncounted(db, settings):
    UserFactory(username="ada")
    down = RedisConnectionError("Error 111 connecting to 127.0.0.1:6380. Connection refused.")
    with (
        mock.patch.object(login.cache, "get", side_effect=down),
        mock.patch.object(login.cache, "delete", side_effect=down),
    ):
        response = Client().post(
            reverse("login"), {"username": "ada", "password": "correct-horse-battery"}
        )
    assert (response.status_code, response["Location"]) == (302, reverse("projects:list"))


class PrivateRedis:
    """A Redis server of this test's own, which it may stop and start."""

    def __init__(self, port: int):
        self.port, self.process = port, None
        self.url = f"redis://127.0.0.1:{port}/7"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: _listening(self.port), seconds=10, what="Redis to start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _use_broker(url: str) -> None:
    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def private_redis(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = int(os.environ.get("FAULT_REDIS_PORT", "6380"))
    if _listening(port):
        pytest.skip(f"port {port} is taken; set FAULT_REDIS_PORT to a free one")
    redis = PrivateRedis(port)
    redis.start()
    previous = celery_app.conf.broker_url
    _use_broker(redis.url)
    try:
        yield redis
    finally:
        _use_broker(previous)
        redis.stop()


@pytest.mark.integration
def test_with_redis_down_jobs_wait_invitations_keep_and_coding_goes_on(
    private_redis, study, tmp_path, monkeypatch
):
    monkeypatch.setattr(jobs, "RESEND_EVERY", timedelta(0))
    monkeypatch.setattr(project_services, "RESEND_AFTER", timedelta(0))
    private_redis.stop()

    report = _request(study)
    report.refresh_from_db()
    assert (report.status, report.error) == (
        "waiting",
        "The job queue could not be reached, so the report has not started yet. It will start "
        "when the queue is back; this page keeps trying.",
    )
    membership = project_services.invite_member(
        project=study["project"], email="zoe@example.org", role=Role.LAY, invited_by=study["pi"]
    )
    assert Membership.objects.get(pk=membership.pk).invitation_sent_at is None
    coder = Client()
    coder.force_login(study["ada"])
    note = study["fieldnotes"][0]
    page = coder.get(reverse("coding:coding_page", args=[study["project"].pk, note.pk]))
    assert page.status_code == 200
    code = study["project"].codebook.codes.get()
    created = coder.post(
        reverse("coding:excerpt_create", args=[study["project"].pk, note.pk]),
        {"start": 50, "end": 60, "codes": [code.pk]},
        headers={"accept": "application/json"},
    )
    assert created.status_code == 200

    private_redis.start()
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": private_redis.url,
        "CELERY_BROKER_URL": "",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
    }
    worker = _start_worker(env, tmp_path / "worker.log", pool="solo", name="faults")
    try:
        # What the report page and the members page do when they are next looked at.
        assert reports.refresh_report(AgreementReport.objects.get(pk=report.pk)).status in (
            "queued",
            "running",
            "done",
        )
        assert project_services.queue_unsent_invitations(study["project"]) == 1
        done = wait_for(_status(report, "done", "failed"), what="the report to finish")
        assert (done.status, done.error, done.attempt) == ("done", "", 1)
        # The twelve of the study, and the excerpt Ada made while Redis was down, matched by nobody.
        assert done.disagreements.count() == 13
        assert (
            done.disagreements.filter(kind="unmatched", first_start=50, first_end=60).count() == 1
        )
        wait_for(
            lambda: Membership.objects.get(pk=membership.pk).invitation_sent_at,
            what="the invitation to be sent",
        )
        (mail,) = (tmp_path / "mail").iterdir()
        assert "To: zoe@example.org" in mail.read_text()
    finally:
        _stop(worker)


# --- a worker killed mid-export -----------------------------------------------------------------


class HeldExcerpts(HeldFieldnote):
    """The excerpt table locked against reading, so that an export stops inside `build_qde`,
    after claiming its job (running, 14 %), before writing anything."""

    def __init__(self):
        self.connection = psycopg.connect(_database_url())
        self.pid = self.connection.info.backend_pid
        self.connection.execute("LOCK TABLE coding_excerpt IN ACCESS EXCLUSIVE MODE")


@pytest.mark.integration
def test_a_worker_killed_mid_export_fails_it_serves_no_file_and_run_again_completes(
    worker_env, study, tmp_path, settings
):
    settings.VAR_DIR = tmp_path  # where the worker writes
    parent = _start_worker(worker_env, tmp_path / "worker.log", pool="prefork", name="export")
    held = HeldExcerpts()
    pi = Client()
    pi.force_login(study["pi"])
    project = study["project"]
    try:
        job = exports.request_export(project=project, user=study["pi"])
        backend = wait_for(held.waiting_backend, what="the worker to reach the excerpts")
        running = ExportJob.objects.get(pk=job.pk)
        assert (running.status, running.file_path) == ("running", "")
        assert running.progress == pytest.approx(0.1425)
        (child,) = _children(parent.pid)
        os.kill(child, signal.SIGKILL)
        held.release(terminate=backend)
        failed = wait_for(
            lambda: ExportJob.objects.filter(pk=job.pk, status__in=("failed", "done")).first(),
            what="the redelivery",
        )
        assert (failed.status, failed.error, failed.file_path) == (
            "failed",
            "The worker running this export stopped at 14 % (it may have run out of memory or "
            "been restarted). Run it again.",
            "",
        )
        download = reverse("exchange:download", args=[project.pk, job.pk])
        assert pi.get(download).status_code == 404
        assert not list((tmp_path / "exports").glob("**/*.qdpx"))

        again = exports.run_again(failed)
        done = wait_for(
            lambda: ExportJob.objects.filter(pk=job.pk, status__in=("failed", "done")).first(),
            what="the second attempt",
        )
        assert (done.status, done.attempt, done.error) == ("done", 2, "")
        assert again.attempt == 2
        assert done.summary["selections"] == 48
        response = pi.get(download)
        assert response.status_code == 200
        assert b"".join(response.streaming_content)[:2] == b"PK"
    finally:
        held.release()
        _stop(parent)
