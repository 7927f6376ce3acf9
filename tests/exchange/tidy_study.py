"""A small hand-built study for the tidy export, API and Data page tests.

Ann's notes (two time markers, 09:30 and 10:00) carry an excerpt of the coder's with two codes
over a multi-line quotation with a comma, and an overlapping one of the PI's, unsure, ending on an
emoji. Bea's notes have no markers but a "Welcome" heading, so their excerpts sit at the agenda
item's start; one of them is "=SUM(1)". Zed's notes are in version 2: the excerpt on version 1 is
not exported.
"""

from dataclasses import dataclass
from datetime import datetime

from coding.models import Code, Excerpt
from fieldnotes.models import Fieldnote, TimeMarker
from tests.factories import LONDON, CodeFactory, ExcerptFactory, FieldnoteFactory, ObserverFactory

ANN_TEXT = '09:30 Opening.\nGrace said: "We are here, not marked."\nNods.\n10:00 Tea 🍵 break.'
BEA_TEXT = "Welcome\nWe sat down, =SUM(1) on the board."


@dataclass
class Study:
    folder: Code
    validation: Code
    protest: Code
    ann: Fieldnote
    bea: Fieldnote
    zed: Fieldnote
    zed_old: Fieldnote
    quote: Excerpt  # coder, Validation and Protest, Ann [15, 59)
    overlap: Excerpt  # PI, Protest, unsure, Ann [41, 71)
    sat: Excerpt  # coder, Validation, Bea [8, 14)
    formula: Excerpt  # coder, Protest, Bea [21, 28)
    old: Excerpt  # coder, Protest, Zed v1


def _excerpt(fieldnote, coder, start, end, codes, **fields):
    excerpt = ExcerptFactory(fieldnote=fieldnote, coder=coder, start=start, end=end, **fields)
    for code in codes:
        excerpt.excerpt_codes.create(code=code)
    return excerpt


def build_study(project, users, meeting) -> Study:
    codebook = project.codebook
    folder = CodeFactory(codebook=codebook, name="Sense-making", is_codable=False, position=0)
    validation = CodeFactory(codebook=codebook, name="Validation", parent=folder, colour="#2e7d32")
    protest = CodeFactory(codebook=codebook, name="Protest", position=1, colour="#a4262c")
    ann = FieldnoteFactory(
        meeting=meeting,
        observer=ObserverFactory(project=project, name="Ann"),
        title="Ann's notes",
        text=ANN_TEXT,
    )
    for offset, clock in [(0, "09:30"), (60, "10:00")]:
        hour, minute = map(int, clock.split(":"))
        TimeMarker.objects.create(
            fieldnote=ann,
            offset=offset,
            end=offset + 5,
            text=clock,
            kind=TimeMarker.Kind.CLOCK,
            moment=datetime(2026, 3, 10, hour, minute, tzinfo=LONDON),
            confirmed=True,
        )
    bea = FieldnoteFactory(
        meeting=meeting,
        observer=ObserverFactory(project=project, name="Bea"),
        title="Bea's notes",
        text=BEA_TEXT,
    )
    zed_observer = ObserverFactory(project=project, name="Zed")
    zed_old = FieldnoteFactory(
        meeting=meeting, observer=zed_observer, title="Zed's notes", text="Old words."
    )
    zed = FieldnoteFactory(
        meeting=meeting,
        observer=zed_observer,
        title="Zed's notes",
        text="New words.",
        version=2,
        previous_version=zed_old,
    )
    coder, pi = users["coder"], users["pi"]
    return Study(
        folder=folder,
        validation=validation,
        protest=protest,
        ann=ann,
        bea=bea,
        zed=zed,
        zed_old=zed_old,
        quote=_excerpt(ann, coder, 15, 59, [validation, protest], memo="Key, moment"),
        overlap=_excerpt(ann, pi, 41, 71, [protest], unsure=True),
        sat=_excerpt(bea, coder, 8, 14, [validation]),
        formula=_excerpt(bea, coder, 21, 28, [protest], memo="=SUM(1)"),
        old=_excerpt(zed_old, coder, 0, 3, [protest]),
    )


HEADER = [
    "project",
    "meeting",
    "meeting_start",
    "fieldnote",
    "fieldnote_version",
    "observer",
    "coder",
    "code",
    "code_path",
    "code_guid",
    "excerpt_guid",
    "start",
    "end",
    "moment",
    "text",
    "memo",
    "unsure",
]
START = "2026-03-10T09:30:00+00:00"


def expected_rows(study: Study) -> list[list[str]]:
    """excerpts.csv's rows for the PI, as csv.reader gives them back."""
    s = study
    ann = ["Ward study", "Learning event", START, "Ann's notes", "1", "Ann"]
    bea = ["Ward study", "Learning event", START, "Bea's notes", "1", "Bea"]
    quote = 'Grace said: "We are here, not marked."\nNods.'
    return [
        [*ann, "the-coder", "Validation", "Sense-making > Validation", str(s.validation.guid),
         str(s.quote.guid), "15", "59", "2026-03-10T09:37:30+00:00", quote, "Key, moment", "false"],
        [*ann, "the-coder", "Protest", "Protest", str(s.protest.guid),
         str(s.quote.guid), "15", "59", "2026-03-10T09:37:30+00:00", quote, "Key, moment", "false"],
        [*ann, "the-pi", "Protest", "Protest", str(s.protest.guid),
         str(s.overlap.guid), "41", "71", "2026-03-10T09:50:30+00:00",
         'not marked."\nNods.\n10:00 Tea 🍵', "", "true"],
        [*bea, "the-coder", "Validation", "Sense-making > Validation", str(s.validation.guid),
         str(s.sat.guid), "8", "14", START, "We sat", "", "false"],
        [*bea, "the-coder", "Protest", "Protest", str(s.protest.guid),
         str(s.formula.guid), "21", "28", START, "=SUM(1)", "=SUM(1)", "false"],
    ]  # fmt: skip
