"""The demo study: a two-day learning community event, six fieldnotes, their coding, and a
finished pilot round of inter-coder agreement.

Its data lives in demo/ at the top of the checkout (README.md there describes the event).
Codings are given as quotations, not offsets, so the data stays readable and any edit to a
fieldnote that breaks a quotation fails loudly instead of shifting excerpts silently.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from coding.codebook import apply_starter, label_version
from coding.services import create_excerpt
from fieldnotes.models import Fieldnote, Observer, SourceFormat
from fieldnotes.services import save_suggested_markers
from fieldnotes.text import normalise_text
from meetings.models import AgendaItem, Meeting

from .models import Membership, Project, Role

DEMO_DIR = settings.BASE_DIR / "demo"
DEMO_PROJECT = "Learning Together"
DEMO_PASSWORD = "triangulate-demo"
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    role: str
    fieldnote: str | None  # file name under demo/fieldnotes/


PEOPLE = [
    DemoPerson("priya", "Priya", "Raman", Role.PI, None),
    DemoPerson("amira", "Amira", "Haddad", Role.CODER, "amira.txt"),
    DemoPerson("ben", "Ben", "Carter", Role.CODER, "ben.txt"),
    DemoPerson("chloe", "Chloe", "Nkemelu", Role.CODER, "chloe.txt"),
    DemoPerson("sam", "Sam", "Whitfield", Role.OBSERVER, "sam.txt"),
    DemoPerson("margaret", "Margaret", "Hughes", Role.LAY, "margaret.txt"),
    DemoPerson("tony", "Tony", "Reilly", Role.LAY, "tony.txt"),
]

AGENDA = [
    ('Welcome and "where we are"', (10, 9, 30), (10, 10, 30)),
    ("Ward stories", (10, 10, 45), (10, 12, 30)),
    ("Lay panel response", (10, 13, 30), (10, 15, 0)),
    ("Table work: what would count as evidence?", (10, 15, 15), (10, 16, 30)),
    ("Revisiting day one: draft terms of collaboration", (11, 9, 0), (11, 10, 45)),
    ("Commitments and close", (11, 11, 0), (11, 12, 30)),
]


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=LONDON)


def find_quote(text: str, quote: str, occurrence: int = 1) -> tuple[int, int]:
    """Offsets of the `occurrence`-th appearance of `quote` in `text`."""
    quote = normalise_text(quote)
    start = -1
    for _ in range(occurrence):
        start = text.find(quote, start + 1)
        if start < 0:
            raise ImproperlyConfigured(
                f"Demo coding quote not found (occurrence {occurrence}): {quote!r}"
            )
    if occurrence == 1 and text.find(quote, start + 1) >= 0:
        raise ImproperlyConfigured(f"Demo coding quote is ambiguous, give an occurrence: {quote!r}")
    return start, start + len(quote)


def demo_exists() -> bool:
    return Project.objects.filter(name=DEMO_PROJECT, created_by__username="priya").exists()


@transaction.atomic
def load_demo_study(data_dir: Path = DEMO_DIR) -> Project:
    from .services import create_project

    User = get_user_model()
    users = {}
    for person in PEOPLE:
        user, _ = User.objects.get_or_create(
            username=person.username,
            defaults={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": f"{person.username}@example.org",
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        users[person.username] = user

    project = create_project(
        name=DEMO_PROJECT,
        description=(
            "How ward teams, researchers and a lay panel make the terms of their collaboration: "
            "fieldnotes of the third learning community event."
        ),
        created_by=users["priya"],
    )
    for person in PEOPLE[1:]:
        Membership.objects.create(project=project, user=users[person.username], role=person.role)

    meeting = Meeting.objects.create(
        project=project,
        title="Learning Community Event 3",
        place="Millbrook Conference Centre",
        description=(
            "Two days of ward stories, a lay panel response and draft terms of collaboration."
        ),
        starts_at=_at(10, 9, 30),
        ends_at=_at(11, 12, 30),
    )
    for title, start, end in AGENDA:
        AgendaItem.objects.create(
            meeting=meeting, title=title, starts_at=_at(*start), ends_at=_at(*end)
        )

    fieldnotes = {}
    for person in PEOPLE:
        if person.fieldnote is None:
            continue
        raw = (data_dir / "fieldnotes" / person.fieldnote).read_text(encoding="utf-8")
        text = normalise_text(raw)
        observer = Observer.objects.create(
            project=project,
            name=f"{person.first_name} {person.last_name}",
            user=users[person.username],
        )
        fieldnotes[person.fieldnote.removesuffix(".txt")] = Fieldnote.objects.create(
            meeting=meeting,
            observer=observer,
            title=text.split("\n", 1)[0].strip(),
            text=text,
            source_name=person.fieldnote,
            source_format=SourceFormat.TEXT,
            created_by=users[person.username],
        )
    # As if each observer had checked the clock times found in their notes on upload.
    for fieldnote in fieldnotes.values():
        save_suggested_markers(fieldnote)
        fieldnote.time_markers.filter(moment__isnull=False).update(confirmed=True)

    apply_starter(codebook=project.codebook, name="what-meetings-do", user=users["priya"])
    label_version(codebook=project.codebook, user=users["priya"], label="v1 before the pilot round")
    codes = {code.name: code for code in project.codebook.codes.all()}

    codings = json.loads((data_dir / "codings.json").read_text(encoding="utf-8"))
    for key, excerpts in codings["fieldnotes"].items():
        fieldnote = fieldnotes[key]
        for item in excerpts:
            start, end = find_quote(fieldnote.text, item["quote"], item.get("occurrence", 1))
            create_excerpt(
                fieldnote=fieldnote,
                coder=users[item["coder"]],
                start=start,
                end=end,
                codes=[codes[name] for name in item["codes"]],
                memo=item.get("memo", ""),
                unsure=item.get("unsure", False),
            )
    _pilot_round(project, [fieldnotes["chloe"], fieldnotes["sam"]], users)
    _observer_report(meeting, users)
    return project


def _observer_report(meeting, users) -> None:
    """The six observers compared over the agenda items, stored as a report."""
    from coding import reports
    from meetings.observer_report import request_observer_report
    from meetings.triangulation import Options

    meeting.project.role = "pi"
    report = request_observer_report(
        meeting=meeting, user=users["priya"], options=Options(window="agenda")
    )
    reports.compute_report(report.pk, report.attempt)


def _pilot_round(project, fieldnotes, users) -> None:
    """Amira's and Ben's independent coding as a finished blind round: done, revealed, its
    agreement report computed, and the first disagreements settled and discussed."""
    from coding import adjudication, reports, rounds
    from coding.models import Disagreement

    pilot = rounds.create_round(
        project=project,
        name="Pilot round: Chloe's and Sam's notes",
        fieldnotes=fieldnotes,
        coders=[users["amira"], users["ben"]],
        blind=True,
        due_date=_at(24, 17, 0).date(),
        created_by=users["priya"],
    )
    for assignment in pilot.assignments.all():
        rounds.set_done(assignment=assignment, done=True)
    rounds.reveal_round(coding_round=pilot, user=users["priya"])
    report = reports.request_report(project=project, user=users["priya"], coding_round=pilot)
    # Computed here rather than by a worker, so the demo opens with its report; the job sent on
    # commit finds it done and does nothing.
    reports.compute_report(report.pk, report.attempt)
    queue = Disagreement.objects.filter(report=report).order_by("fieldnote", "first_start")
    for disagreement in queue[:3]:
        choice = (
            Disagreement.Resolution.UNION
            if disagreement.kind == Disagreement.Kind.PARTIAL
            else Disagreement.Resolution.ACCEPT_FIRST
        )
        adjudication.resolve(disagreement=disagreement, resolution=choice, user=users["priya"])
    first = queue.first()
    if first is not None:
        adjudication.add_comment(
            disagreement=first,
            user=users["amira"],
            text="I read this as the group agreeing terms, not only discussing them.",
        )
        adjudication.add_comment(
            disagreement=first,
            user=users["ben"],
            text="Fair. I stopped where Helen changed the subject; happy with the longer span.",
        )
