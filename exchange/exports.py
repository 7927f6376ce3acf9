"""Whole-project exports as background jobs: a REFI-QDA `.qdpx`, or a full backup (the `.qdpx`
plus what REFI-QDA cannot hold, `exchange.backup`).

`request_export` creates the ExportJob queued and sends `exchange.tasks.run_export(id, attempt)`
once the transaction commits; the job's life (waiting while the queue is down, progress,
heartbeat, a stalled worker noticed) is `config.jobs`. The file is written beside its final name
and renamed into place, so a download never sees half a file; it lives under VAR_DIR/exports,
outside the web root, and is served only through the PI's download view. Each project keeps its
newest KEEP_FILES exports; older files are deleted when a new one is done.
"""

import logging
import os
import re
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config import jobs

from .models import ExportJob

logger = logging.getLogger(__name__)

Status = ExportJob.Status
KEEP_FILES = 3


def _run_export_task():
    from .tasks import run_export

    return run_export


JOB = jobs.JobLife(ExportJob, _run_export_task, noun="export")


def exports_dir() -> Path:
    return Path(settings.VAR_DIR) / "exports"


def request_export(*, project, user, kind: str = ExportJob.Kind.QDPX) -> ExportJob:
    if kind not in ExportJob.Kind.values:
        raise ValueError(f"Unknown export kind {kind!r}.")
    with transaction.atomic():
        job = ExportJob.objects.create(project=project, kind=kind, created_by=user)
        transaction.on_commit(partial(JOB.send, job.pk, job.attempt))
    return job


def refresh(job: ExportJob) -> ExportJob:
    return JOB.refresh(job)


def run_again(job: ExportJob) -> ExportJob:
    """A failed export as a new attempt; an older attempt still running stores nothing."""
    with transaction.atomic():
        locked = ExportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != Status.FAILED:
            raise ValueError("Only an export that failed can be run again.")
        locked.attempt += 1
        locked.status = Status.QUEUED
        locked.progress = 0.0
        locked.error = ""
        locked.started_at = locked.finished_at = locked.heartbeat_at = None
        locked.save()
        transaction.on_commit(partial(JOB.send, locked.pk, locked.attempt))
    return locked


def file_name(job: ExportJob) -> str:
    """What the browser saves it as: the project's name, the date and the kind."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", job.project.name).strip("-").lower() or "project"
    day = timezone.localtime(job.finished_at or job.created_at).strftime("%Y-%m-%d")
    suffix = "-backup" if job.kind == ExportJob.Kind.BACKUP else ""
    return f"{stem}-{day}{suffix}.qdpx"


def path_of(job: ExportJob) -> Path | None:
    """The finished file, if it is still there."""
    if job.status != Status.DONE or not job.file_path:
        return None
    path = exports_dir() / job.file_path
    return path if path.is_file() else None


def run_export(job_id: int, attempt: int) -> None:
    """Writes one attempt of an export; does nothing for a finished job or another attempt."""
    job = JOB.claim(job_id, attempt)
    if job is None:
        return
    relative = f"{job.project_id}/{job.pk}-{job.attempt}.qdpx"
    target = exports_dir() / relative
    partial_file = target.with_suffix(".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        beats = jobs.Beats(lambda progress: JOB.beat(job, progress), 0.0, 0.95)
        with open(partial_file, "wb") as out:
            summary = _write(job, out, lambda share: beats(round(share * 1000), 1000))
        os.replace(partial_file, target)
        with JOB.finishing(job, ["file_path", "size", "summary"]) as current:
            current.file_path = relative
            current.size = target.stat().st_size
            current.summary = summary
        _prune(job.project_id)
    except jobs.Superseded:
        logger.info("Export %s attempt %s was superseded.", job_id, attempt)
        _remove(partial_file, target)
    except Exception as error:
        logger.exception("Export %s attempt %s failed.", job_id, attempt)
        _remove(partial_file, target)
        JOB.fail(
            job_id,
            attempt,
            f"The export could not be written ({str(error).rstrip('.')}). Run it again; if it "
            "fails the same way, the message names what to look at.",
        )


def _write(job: ExportJob, out, progress) -> dict:
    """Writes the archive; returns the counts shown beside the download."""
    from .project_export import build_qde
    from .qdpx import write_qdpx

    project = job.project
    if job.kind == ExportJob.Kind.BACKUP:
        from .backup import export_backup

        export_backup(project, out, progress=progress)
        qde = None
    else:
        qde = build_qde(project, progress=lambda share: progress(share / 2))
        write_qdpx(qde, out, progress=lambda share: progress(0.5 + share / 2))
    return _summary(project, qde)


def _summary(project, qde) -> dict:
    if qde is None:
        from .project_export import build_qde

        qde = build_qde(project)
    selections = [selection for source in qde.sources for selection in source.selections]
    return {
        "sources": len(qde.sources),
        "selections": len(selections),
        "codings": sum(len(selection.codings) for selection in selections),
        "codes": _count_codes(qde.codes),
        "notes": len(qde.notes),
        "users": len(qde.users),
    }


def _count_codes(codes) -> int:
    return sum(1 + _count_codes(code.children) for code in codes)


def _prune(project_id: int) -> None:
    """Deletes the files of all but the newest KEEP_FILES finished exports of a project."""
    done = ExportJob.objects.filter(project_id=project_id, status=Status.DONE).exclude(file_path="")
    for old in done.order_by("-finished_at", "-pk")[KEEP_FILES:]:
        _remove(exports_dir() / old.file_path)
        ExportJob.objects.filter(pk=old.pk).update(file_path="")


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            logger.warning("Could not delete %s.", path)
