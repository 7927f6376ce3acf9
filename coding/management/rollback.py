"""What the benchmark commands share: words for synthetic prose, and running a measurement inside
a transaction that is rolled back, so nothing the benchmark made stays in the database."""

from contextlib import contextmanager

from django.db import connection, transaction

WORDS = [
    "the",
    "ward",
    "team",
    "met",
    "to",
    "talk",
    "about",
    "escalation",
    "charts",
    "families",
    "whiteboards",
    "and",
    "who",
    "spoke",
]


class _Rollback(Exception):
    """Raised on purpose to undo everything the benchmark made."""


@contextmanager
def rolled_back(stdout):
    """Runs the block in a transaction that is always rolled back, and says so."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        stdout.write("(everything the benchmark made has been rolled back)")


def describe(settings) -> str:
    mode = "DEBUG on: query logging adds to every time" if settings.DEBUG else "DEBUG off"
    return f"({connection.vendor}, {mode})"
