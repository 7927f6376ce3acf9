"""The life of a background job stored as a row: agreement reports and project exports share it.

A job row has `status` (queued, waiting, running, done, failed), `attempt`, `progress`, `error`,
`started_at`, `finished_at` and `heartbeat_at`. `send` hands (id, attempt) to a Celery task and
never raises: when the queue cannot be reached the row is WAITING, and `refresh` (called whenever
a page looks at the row) sends it again at most every RESEND_EVERY. The task `claim`s the row
(RUNNING) in one locked update; meeting it already RUNNING under the same attempt means a
redelivery after its worker died, and the job fails rather than run again something that may be
what kills workers. While working the task `beat`s (progress and heartbeat, at most every 5 % or
half a second through `Beats`); a RUNNING row silent for REPORT_STALL_SECONDS has lost its worker
and is failed when a page looks at it. `finishing` is the one transaction in which a job that
still owns its row writes the results and marks it DONE; a job that lost its row (run again,
failed meanwhile) gets `Superseded` and stores nothing.
"""

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

QUEUED, WAITING, RUNNING, DONE, FAILED = "queued", "waiting", "running", "done", "failed"
# One quick retry: a request must not hang on a job queue that is down.
SEND_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
RESEND_EVERY = timedelta(seconds=10)
BEAT_STEP, BEAT_SECONDS = 0.05, 0.5


class Superseded(Exception):
    """The row moved on (run again, or failed) while this job was working on it."""


class JobLife:
    """The job life of one model; `noun` ("report", "export") is used in the messages."""

    def __init__(self, model, task: Callable[[], object], *, noun: str):
        self.model, self.task, self.noun = model, task, noun
        self.waiting_message = (
            f"The job queue could not be reached, so the {noun} has not started yet. It will "
            "start when the queue is back; this page keeps trying."
        )

    def send(self, pk: int, attempt: int) -> bool:
        try:
            self.task().apply_async((pk, attempt), retry=True, retry_policy=SEND_RETRY_POLICY)
        except (OperationalError, OSError) as error:
            logger.warning("%s %s could not be sent to the job queue: %s", self.noun, pk, error)
            self.model.objects.filter(pk=pk, attempt=attempt, status__in=(QUEUED, WAITING)).update(
                status=WAITING, error=self.waiting_message, heartbeat_at=timezone.now()
            )
            return False
        self.model.objects.filter(pk=pk, attempt=attempt, status=WAITING).update(
            status=QUEUED, error=""
        )
        return True

    def refresh(self, row):
        """The row as a page should show it: a waiting one is sent again, a running one whose
        worker stopped beating is failed."""
        now = timezone.now()
        same = self.model.objects.filter(pk=row.pk, attempt=row.attempt)
        if row.status == WAITING:
            # For a waiting row the heartbeat is the last time sending was tried; claiming it
            # with one UPDATE keeps two pages polling at once from sending the job twice.
            claimed = (
                same.filter(status=WAITING)
                .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - RESEND_EVERY))
                .update(heartbeat_at=now)
            )
            if claimed:
                self.send(row.pk, row.attempt)
                row.refresh_from_db()
        elif row.status == RUNNING:
            stall = settings.REPORT_STALL_SECONDS
            cutoff = now - timedelta(seconds=stall)
            stalled = (
                same.filter(status=RUNNING)
                .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=cutoff))
                .update(
                    status=FAILED,
                    finished_at=now,
                    error=(
                        f"The worker running this {self.noun} stopped responding at "
                        f"{round(row.progress * 100)} % (no sign of it for {stall} seconds): it "
                        "may have been stopped or run out of memory. Run it again."
                    ),
                )
            )
            if stalled:
                row.refresh_from_db()
        return row

    def claim(self, pk: int, attempt: int):
        """The row, now RUNNING for this job; None when there is nothing for it to do."""
        with transaction.atomic():
            row = self.model.objects.select_for_update().filter(pk=pk).first()
            if row is None or row.attempt != attempt or row.status in (DONE, FAILED):
                return None
            now = timezone.now()
            if row.status == RUNNING:
                # Late acknowledgement redelivers a job whose worker died. Running it again
                # could kill the next worker the same way, so it fails and people decide.
                row.status = FAILED
                row.finished_at = now
                row.error = (
                    f"The worker running this {self.noun} stopped at "
                    f"{round(row.progress * 100)} % (it may have run out of memory or been "
                    "restarted). Run it again."
                )
                row.save(update_fields=["status", "finished_at", "error"])
                return None
            row.status = RUNNING
            row.started_at = row.heartbeat_at = now
            row.progress = 0.0
            row.error = ""
            row.save(update_fields=["status", "started_at", "heartbeat_at", "progress", "error"])
            return row

    def beat(self, row, progress: float) -> None:
        """Records progress; raises Superseded when the row is no longer this job's."""
        updated = self.model.objects.filter(pk=row.pk, attempt=row.attempt, status=RUNNING).update(
            progress=min(progress, 1.0), heartbeat_at=timezone.now()
        )
        if not updated:
            raise Superseded

    def fail(self, pk: int, attempt: int, message: str) -> None:
        self.model.objects.filter(pk=pk, attempt=attempt, status=RUNNING).update(
            status=FAILED, finished_at=timezone.now(), error=message
        )

    @contextmanager
    def finishing(self, row, fields: list[str]):
        """One transaction in which the caller sets `fields` on the row this job still owns
        (else Superseded); the row is then saved DONE."""
        with transaction.atomic():
            current = (
                self.model.objects.select_for_update()
                .filter(pk=row.pk, attempt=row.attempt, status=RUNNING)
                .first()
            )
            if current is None:
                raise Superseded
            yield current
            current.status = DONE
            current.progress = 1.0
            current.finished_at = current.heartbeat_at = timezone.now()
            current.save(
                update_fields=[*fields, "status", "progress", "finished_at", "heartbeat_at"]
            )


class Beats:
    """A progress callback `(done, total)` mapped onto [begin, end] of the bar, beating at most
    every BEAT_STEP or BEAT_SECONDS."""

    def __init__(self, beat: Callable[[float], None], begin: float = 0.0, end: float = 1.0):
        self.beat, self.begin, self.end = beat, begin, end
        self.step = -1
        self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        step = int(share / BEAT_STEP)
        now = time.monotonic()
        if step > self.step or now - self.last >= BEAT_SECONDS:
            self.step, self.last = step, now
            self.beat(self.begin + (self.end - self.begin) * share)
