"""Agreement reports through a real Celery worker on Redis, including a worker killed mid-report.

To stop a worker at a known point of a report, the test holds a row lock on one fieldnote: the
worker computes the whole report, then waits at the commit that stores it, where PostgreSQL checks
the disagreements' foreign keys against that fieldnote. Killed there, the worker has claimed the
report (running, 90 %) and stored nothing. A killed client's connection is ended by the database
once it notices; `pg_terminate_backend` stands in for that, because a backend waiting on a lock
would otherwise commit on the dead worker's behalf as soon as the lock is released.
"""

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from django.db import connection

from coding import reports
from coding.models import AgreementReport, Disagreement
from projects.models import Role
from tests.factories import (
    CodeFactory,
    ExcerptFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ObserverFactory,
    ProjectFactory,
    UserFactory,
)

from .conftest import ROOT, _database_url, wait_for

pytestmark = pytest.mark.integration
Status = AgreementReport.Status


@pytest.fixture
def study(transactional_db):
    """Twelve fieldnotes; two coders who match on one span of each and differ on another."""
    pi = UserFactory(username="helen", first_name="Helen", last_name="Ward")
    ada = UserFactory(username="ada", first_name="Ada", last_name="Lovell")
    bo = UserFactory(username="bo", first_name="Bo", last_name="Chen")
    project = ProjectFactory(name="Ward study")
    MembershipFactory(project=project, user=pi, role=Role.PI)
    for person in (ada, bo):
        MembershipFactory(project=project, user=person, role=Role.CODER)
    code = CodeFactory(codebook=project.codebook, name="Protest")
    meeting = MeetingFactory(project=project)
    observer = ObserverFactory(project=project)
    fieldnotes = []
    for index in range(12):
        note = FieldnoteFactory(meeting=meeting, observer=observer, text="x" * (200 + index))
        for person, start, end in ((ada, 0, 40), (bo, 0, 40), (ada, 100, 150), (bo, 120, 190)):
            ExcerptFactory(fieldnote=note, coder=person, start=start, end=end).excerpt_codes.create(
                code=code
            )
        fieldnotes.append(note)
    return {"pi": pi, "ada": ada, "bo": bo, "project": project, "fieldnotes": fieldnotes}


def _request(study):
    return reports.request_report(
        project=study["project"],
        user=study["pi"],
        fieldnotes=study["fieldnotes"],
        coders=[study["ada"], study["bo"]],
    )


def _status(report, *wanted):
    def check():
        current = AgreementReport.objects.get(pk=report.pk)
        return current if current.status in wanted else None

    return check


def test_a_report_runs_to_done_through_a_real_worker(celery_worker, study):
    report = _request(study)
    done = wait_for(_status(report, Status.DONE, Status.FAILED), what="the report to finish")
    assert (done.status, done.error, done.progress, done.attempt) == (Status.DONE, "", 1.0, 1)
    assert set(done.timings) == {"load", "compute", "store"}
    # The worker's figures are the ones computed here from the same rows.
    study_rows = reports.load_study(done)
    result = reports.compare_study(
        study_rows.texts, coders=study_rows.coders, codes=study_rows.codes
    )
    assert done.results["overall"]["values"]["alpha"] == result.overall.characters.alpha
    assert done.results["overall"]["segments"] == [24, 48]
    # Each fieldnote: Ada's [100, 150) and Bo's [120, 190) overlap by 30 of 90.
    assert Disagreement.objects.filter(report=done, kind="partial").count() == 12
    assert Disagreement.objects.filter(report=done).count() == 12


@pytest.fixture
def worker_env(transactional_db, redis_url, tmp_path):
    return {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": "",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "VAR_DIR": str(tmp_path),
    }


def _start_worker(env, log_path, *, pool, name):
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", pool,
            "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
            "--hostname", f"{name}-{os.getpid()}@localhost",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while "ready." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the Celery worker did not start:\n" + log_path.read_text())
        time.sleep(0.2)
    return process


def _stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


class HeldFieldnote:
    """A row lock on one fieldnote, taken on a connection of the test's own."""

    def __init__(self, fieldnote):
        self.connection = psycopg.connect(_database_url())
        self.pid = self.connection.info.backend_pid
        self.connection.execute(
            "SELECT id FROM fieldnotes_fieldnote WHERE id = %s FOR UPDATE", [fieldnote.pk]
        )

    def waiting_backend(self):
        """The backend of a worker waiting for this lock, once there is one. Asked on Django's
        connection, outside any transaction: within one, pg_stat_activity never changes."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() "
                "AND %s = ANY(pg_blocking_pids(pid))",
                [self.pid],
            )
            row = cursor.fetchone()
        return row[0] if row else None

    def release(self, *, terminate=None):
        if self.connection.closed:
            return
        if terminate:
            self.connection.execute("SELECT pg_terminate_backend(%s)", [terminate])
        self.connection.rollback()
        self.connection.close()


def _children(pid) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in found.split()]


def test_a_worker_killed_mid_report_fails_it_on_redelivery_and_run_again_completes(
    worker_env, study, tmp_path
):
    parent = _start_worker(worker_env, tmp_path / "worker.log", pool="prefork", name="prefork")
    held = HeldFieldnote(study["fieldnotes"][0])
    try:
        report = _request(study)
        backend = wait_for(held.waiting_backend, what="the worker to reach the report's commit")
        running = AgreementReport.objects.get(pk=report.pk)
        assert (running.status, running.results) == (Status.RUNNING, None)
        assert running.progress == pytest.approx(0.9)
        (child,) = _children(parent.pid)
        os.kill(child, signal.SIGKILL)
        held.release(terminate=backend)
        # Late acknowledgement gives the job back to the queue; the new pool process that takes
        # it finds the report already running under the same attempt, and fails it.
        failed = wait_for(_status(report, Status.FAILED, Status.DONE), what="the redelivery")
        assert failed.status == Status.FAILED
        assert failed.error == (
            "The worker running this report stopped at 90 % (it may have run out of memory or "
            "been restarted). Run it again."
        )
        assert not failed.disagreements.exists()
        log = (tmp_path / "worker.log").read_text()
        assert "exited with 'signal 9 (SIGKILL)'" in log

        again = reports.run_again(report=failed, user=study["pi"])
        done = wait_for(_status(again, Status.DONE, Status.FAILED), what="the second attempt")
        assert (done.status, done.attempt, done.error) == (Status.DONE, 2, "")
        assert done.disagreements.count() == 12
    finally:
        held.release()
        _stop(parent)


def test_a_worker_killed_outright_is_noticed_by_its_silence(worker_env, study, tmp_path, settings):
    settings.REPORT_STALL_SECONDS = 1
    worker = _start_worker(worker_env, tmp_path / "solo.log", pool="solo", name="solo")
    held = HeldFieldnote(study["fieldnotes"][0])
    try:
        report = _request(study)
        backend = wait_for(held.waiting_backend, what="the worker to reach the report's commit")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        held.release(terminate=backend)
        # Nobody gives the job back (its worker died with it unacknowledged); the report page
        # notices that the running report has stopped beating.
        time.sleep(1.5)
        report = reports.refresh_report(AgreementReport.objects.get(pk=report.pk))
        assert report.status == Status.FAILED
        assert report.error == (
            "The worker running this report stopped responding at 90 % (no sign of it for 1 "
            "seconds): it may have been stopped or run out of memory. Run it again."
        )
    finally:
        held.release()
        _stop(worker)
    fresh = _start_worker(worker_env, tmp_path / "fresh.log", pool="solo", name="fresh")
    try:
        again = reports.run_again(report=report, user=study["pi"])
        done = wait_for(_status(again, Status.DONE, Status.FAILED), what="the second attempt")
        assert (done.status, done.attempt) == (Status.DONE, 2)
        assert done.disagreements.count() == 12
    finally:
        _stop(fresh)
