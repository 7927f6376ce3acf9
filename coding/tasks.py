from celery import shared_task


@shared_task
def run_report(report_id: int, attempt: int) -> None:
    """Computes one attempt of an agreement report. Safe to run twice: `compute_report` does
    nothing for a finished report or another attempt, and fails the report when it finds it
    already running (a redelivery after the worker running it died)."""
    from .reports import compute_report

    compute_report(report_id, attempt)
