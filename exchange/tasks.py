from celery import shared_task


@shared_task
def run_export(job_id: int, attempt: int) -> None:
    """Writes one attempt of a project export; safe to run twice (see `config.jobs`)."""
    from .exports import run_export as write

    write(job_id, attempt)
