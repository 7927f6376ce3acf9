"""What the benchmark commands share: words for synthetic prose, the engine benchmark's study as
database rows, and running a measurement inside a transaction that is rolled back, so nothing the
benchmark made stays in the database."""

import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


@dataclass
class BenchStudy:
    project: object
    pi: object
    coders: dict
    codes: dict
    fieldnotes: list
    excerpts: int


def build_study(study, coder_names, stdout) -> BenchStudy:
    """`tests.agreement.study.synthetic_study` as rows: one project, meeting and observer, a
    fieldnote per text, a coder per name, a code per code name, an excerpt per span."""
    from django.contrib.auth import get_user_model

    from coding.models import Code, Excerpt, ExcerptCode
    from fieldnotes.models import Fieldnote, Observer
    from meetings.models import Meeting
    from projects.models import Membership, Role
    from projects.services import create_project

    began = time.perf_counter()
    User = get_user_model()
    pi = User.objects.create(username="bench-report-pi")
    project = create_project(name="Benchmark study", created_by=pi)
    coders = {}
    for name in coder_names:
        coders[name] = User.objects.create(username=f"bench-{name}", first_name=name.title())
        Membership.objects.create(project=project, user=coders[name], role=Role.CODER)
    names = sorted({span[1] for _, _, spans in study for span in spans})
    codes = {
        name: Code.objects.create(codebook=project.codebook, name=name, position=index)
        for index, name in enumerate(names)
    }
    start = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    meeting = Meeting.objects.create(
        project=project, title="Benchmark", starts_at=start, ends_at=start + timedelta(hours=8)
    )
    observer = Observer.objects.create(project=project, name="Benchmark")
    fieldnotes = Fieldnote.objects.bulk_create(
        Fieldnote(meeting=meeting, observer=observer, title=f"Text {key}", text=prose(length, key))
        for key, length, _ in study
    )
    rows = [
        (note, coders[coder], codes[code], s, e)
        for note, (_, _, spans) in zip(fieldnotes, study, strict=True)
        for coder, code, s, e in spans
    ]
    made = Excerpt.objects.bulk_create(
        (Excerpt(fieldnote=note, coder=coder, start=s, end=e) for note, coder, _, s, e in rows),
        batch_size=5000,
    )
    ExcerptCode.objects.bulk_create(
        (
            ExcerptCode(excerpt=excerpt, code=row[2])
            for excerpt, row in zip(made, rows, strict=True)
        ),
        batch_size=5000,
    )
    characters = sum(length for _, length, _ in study)
    stdout.write(
        f"study: {len(fieldnotes)} fieldnotes, {characters:,} characters, {len(coders)} "
        f"coders, {len(codes)} codes, {len(rows):,} excerpts (built in "
        f"{time.perf_counter() - began:.1f} s)"
    )
    return BenchStudy(project, pi, coders, codes, fieldnotes, len(rows))


def prose(length: int, seed: int) -> str:
    """Words from WORDS, `length` characters of them."""
    words, size, index = [], 0, seed
    while size < length:
        word = WORDS[index % len(WORDS)]
        words.append(word)
        size += len(word) + 1
        index += 7
    return " ".join(words)[:length]
