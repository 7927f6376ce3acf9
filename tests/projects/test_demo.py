import re
from collections import defaultdict

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from coding.models import Excerpt
from fieldnotes.text import normalise_text
from projects.demo import DEMO_DIR, find_quote, load_demo_study
from projects.models import Project

TIME = re.compile(r"\b\d{1,2}[:.]\d{2}(?!\d)")


@pytest.fixture
def demo(db):
    return load_demo_study()


def test_demo_people_and_roles(demo):
    people = demo.memberships.filter(is_consensus=False)
    assert sorted(people.values_list("user__username", "role")) == [
        ("amira", "coder"),
        ("ben", "coder"),
        ("chloe", "coder"),
        ("margaret", "lay"),
        ("priya", "pi"),
        ("sam", "observer"),
        ("tony", "lay"),
    ]


def test_demo_meeting_spans_two_days_with_six_agenda_items(demo):
    meeting = demo.meetings.get()
    assert (meeting.starts_at.isoformat(), meeting.ends_at.isoformat()) == (
        "2026-03-10T09:30:00+00:00",
        "2026-03-11T12:30:00+00:00",
    )
    items = list(meeting.agenda_items.values_list("title", flat=True))
    assert len(items) == 6
    assert items[2] == "Lay panel response"


def test_demo_fieldnotes_are_long_timed_and_normalised(demo):
    fieldnotes = demo.meetings.get().fieldnotes.order_by("observer__name")
    assert [f.observer.name for f in fieldnotes] == [
        "Amira Haddad",
        "Ben Carter",
        "Chloe Nkemelu",
        "Margaret Hughes",
        "Sam Whitfield",
        "Tony Reilly",
    ]
    for fieldnote in fieldnotes:
        assert 1500 <= fieldnote.word_count <= 4000, fieldnote.title
        assert normalise_text(fieldnote.text) == fieldnote.text
        assert fieldnote.observer.user.username == fieldnote.source_name.removesuffix(".txt")
    for name in ("amira", "ben", "chloe"):
        assert len(TIME.findall(fieldnotes.get(source_name=f"{name}.txt").text)) >= 20, name
    assert re.search(r"\[\d{2}:\d{2}:\d{2}\]", fieldnotes.get(source_name="sam.txt").text)


def test_demo_codebook_is_a_tree_of_folders_and_codes(demo):
    tree = [(code.name, code.depth, code.is_codable) for code in demo.codebook.tree()]
    assert tree[0] == ("What the meeting does", 0, False)
    assert [name for name, depth, _ in tree if depth == 0] == [
        "What the meeting does",
        "Terms of collaboration",
        "Constituent groups",
    ]
    assert len(tree) == 14
    assert [
        c.shortcut for c in demo.codebook.codes.exclude(shortcut="").order_by("shortcut")
    ] == list("12345678")


PILOT_NOTES = ("chloe.txt", "sam.txt")
PILOT_CODERS = ("amira", "ben")
OTHER_NOTES = ("amira.txt", "ben.txt", "margaret.txt", "tony.txt")


def test_demo_coding_is_the_pilot_coders_on_two_notes_and_chloe_on_the_other_four(demo):
    excerpts = Excerpt.objects.filter(
        fieldnote__meeting__project=demo, coder__memberships__is_consensus=False
    ).select_related("fieldnote", "coder")
    pairs = {(e.fieldnote.source_name, e.coder.username) for e in excerpts}
    assert pairs == {(f, c) for f in PILOT_NOTES for c in PILOT_CODERS} | {
        (f, "chloe") for f in OTHER_NOTES
    }
    # Amira's and Ben's pilot coding: character-level overlap per code, pooled, neither
    # perfect agreement nor none.
    coded = defaultdict(set)
    pilot = excerpts.filter(coder__username__in=PILOT_CODERS).prefetch_related("codes")
    for excerpt in pilot:
        for code in excerpt.codes.all():
            key = (excerpt.fieldnote_id, code.name)
            coded[key, excerpt.coder.username].update(range(excerpt.start, excerpt.end))
    both = either = 0
    for fieldnote_id, code in {key for key, _ in coded}:
        a, b = coded[(fieldnote_id, code), "amira"], coded[(fieldnote_id, code), "ben"]
        both += len(a & b)
        either += len(a | b)
    assert 0.2 < both / either < 0.6


def test_demo_coding_lets_the_six_observers_be_compared_on_the_meeting_clock(demo):
    from zoneinfo import ZoneInfo

    from meetings.alignment import place_excerpts

    meeting = demo.meetings.get()
    items = list(meeting.agenda_items.order_by("starts_at"))
    agenda = [(item.title, item.starts_at, item.ends_at) for item in items]
    observers = defaultdict(set)  # (agenda item title, code name) -> fieldnotes carrying it
    per_note = {}
    for fieldnote in meeting.fieldnotes.all():
        excerpts = list(
            Excerpt.objects.filter(fieldnote=fieldnote, coder__memberships__is_consensus=False)
            .select_related("coder")
            .prefetch_related("codes")
        )
        per_note[fieldnote.source_name] = len(excerpts)
        markers = fieldnote.time_markers.filter(confirmed=True, moment__isnull=False)
        placements = place_excerpts(
            [excerpt.start for excerpt in excerpts],
            text=fieldnote.text,
            markers=markers.values_list("offset", "moment"),
            agenda=agenda,
            tz=ZoneInfo("Europe/London"),
        )
        for excerpt, placement in zip(excerpts, placements, strict=True):
            if excerpt.coder.username == "chloe":
                # Chloe's excerpts all sit inside an agenda item on the meeting's clock.
                assert placement.agenda_index is not None, excerpt.text
            if placement.agenda_index is None:
                continue
            for code in excerpt.codes.all():
                key = (agenda[placement.agenda_index][0], code.name)
                observers[key].add(fieldnote.source_name)

    # Every one of the six fieldnotes carries excerpts; the four coded by Chloe 10 to 14 each.
    assert set(per_note) == set(PILOT_NOTES + OTHER_NOTES)
    assert all(count > 0 for count in per_note.values()), per_note
    assert all(10 <= per_note[name] <= 14 for name in OTHER_NOTES), per_note
    # The same moments coded in several observers' notes, on both days ...
    assert max(len(notes) for notes in observers.values()) >= 3
    for shared in [
        ('Welcome and "where we are"', "Contesting terms"),  # "about us, or for us?"
        ("Ward stories", "Evidence of working on an issue"),
        ("Lay panel response", "Protest"),  # Tony's question, "not here to be marked"
        ("Table work: what would count as evidence?", "Generating terms"),
        ("Revisiting day one: draft terms of collaboration", "Resolution"),  # clause 4
        ("Commitments and close", "Lay panel"),  # the steering group seat
    ]:
        assert len(observers[shared]) >= 3, (shared, observers[shared])
    # ... and some that only one observer's notes carry within an agenda item.
    assert any(len(notes) == 1 for notes in observers.values())


def test_demo_excerpts_are_the_quoted_text(demo):
    import json

    codings = json.loads((DEMO_DIR / "codings.json").read_text())
    quotes = {item["quote"] for items in codings["fieldnotes"].values() for item in items}
    excerpts = Excerpt.objects.filter(
        fieldnote__meeting__project=demo, coder__memberships__is_consensus=False
    ).select_related("fieldnote")
    assert {e.text for e in excerpts} == quotes


def test_find_quote_refuses_missing_and_ambiguous_quotes():
    text = "We agreed. Then we agreed again."
    assert find_quote(text, "agreed again") == (19, 31)
    assert find_quote(text, "agreed", occurrence=2) == (19, 25)
    with pytest.raises(ImproperlyConfigured, match="ambiguous"):
        find_quote(text, "agreed")
    with pytest.raises(ImproperlyConfigured, match="not found"):
        find_quote(text, "disagreed")


def test_seed_demo_is_idempotent_and_prints_logins(db, settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert Project.objects.filter(name="Learning Together").count() == 1
    assert "already loaded" in out
    assert "password for all: triangulate-demo" in out
    assert "  priya     Priya Raman, pi" in out


def test_demo_fieldnotes_carry_time_markers_on_the_meeting_clock(demo):
    from fieldnotes.models import TimeMarker

    meeting = demo.meetings.get()
    markers = TimeMarker.objects.filter(fieldnote__meeting=meeting)
    counts = {
        name: markers.filter(fieldnote__source_name=f"{name}.txt").count()
        for name in ("amira", "ben", "chloe", "sam", "margaret", "tony")
    }
    assert all(count >= 15 for count in counts.values()), counts
    assert set(markers.filter(fieldnote__source_name="sam.txt").values_list("kind", flat=True)) == {
        "clock",
        "elapsed",
    }
    # Tony's question at 14:05 on day one is marked in every account, within five minutes.
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    question = datetime(2026, 3, 10, 14, 5, tzinfo=ZoneInfo("Europe/London"))
    near = markers.filter(
        moment__gte=question - timedelta(minutes=5), moment__lte=question + timedelta(minutes=5)
    )
    assert set(near.values_list("fieldnote__source_name", flat=True)) == {
        f"{name}.txt" for name in counts
    }


def test_demo_has_a_finished_pilot_round_with_its_report_and_settled_disagreements(demo):
    from coding.agreement.study import compare_study
    from coding.models import AgreementReport, CodingRound, Disagreement, DisagreementComment
    from coding.reports import load_study

    pilot = CodingRound.objects.get(project=demo)
    assert (pilot.blind, pilot.state) == (True, CodingRound.State.REVEALED)
    assert sorted(pilot.fieldnotes.values_list("source_name", flat=True)) == [
        "chloe.txt",
        "sam.txt",
    ]
    assert pilot.assignments.count() == 4
    assert not pilot.assignments.filter(done_at=None).exists()

    report = AgreementReport.objects.get(project=demo, kind="coders")
    assert (report.status, report.coding_round) == (AgreementReport.Status.DONE, pilot)
    assert [c["name"] for c in report.results["coders"]] == ["Amira Haddad", "Ben Carter"]
    # The stored figures are the engine's on the same data, recomputed here.
    study = load_study(report)
    again = compare_study(study.texts, coders=study.coders, codes=study.codes)
    stored = report.results["overall"]["values"]
    assert stored["alpha"] == pytest.approx(again.overall.characters.alpha)
    assert stored["unitizing"] == pytest.approx(again.overall.unitizing)
    assert 0.2 < stored["alpha"] < 0.8

    disagreements = Disagreement.objects.filter(report=report)
    assert disagreements.count() > 20
    settled = disagreements.exclude(resolution="")
    assert settled.count() == 3
    consensus = demo.memberships.get(is_consensus=True).user
    assert not consensus.is_active and not consensus.has_usable_password()
    made = Excerpt.objects.filter(coder=consensus)
    assert {d.consensus_excerpt_id for d in settled} == set(made.values_list("pk", flat=True))
    assert DisagreementComment.objects.filter(disagreement__report=report).count() == 2


def test_demo_has_a_stored_comparison_of_its_six_observers(demo):
    from coding.models import AgreementReport

    report = AgreementReport.objects.get(project=demo, kind="observers")
    assert report.status == AgreementReport.Status.DONE
    assert report.parameters["window"] == "agenda"
    assert len(report.results["observers"]) == 6
    alphas = [code["alpha"] for code in report.results["codes"] if code["alpha"] is not None]
    assert len(alphas) >= 5
