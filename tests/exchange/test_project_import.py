from datetime import datetime

import pytest
from django.contrib.auth import get_user_model

from coding.models import Code, Excerpt, ExcerptCode, ExcerptEvent, ProjectMemo
from exchange.models import ImportRecord
from exchange.project_import import import_qde, map_placeholder
from exchange.qde import (
    QdeCode,
    QdeCoding,
    QdeError,
    QdeNote,
    QdeProject,
    QdeSelection,
    QdeSource,
    QdeUser,
)
from fieldnotes.models import Fieldnote, Observer
from meetings.models import Meeting
from projects.models import Membership, Project, UserGuid
from tests.factories import LONDON, MembershipFactory, UserFactory

User = get_user_model()

ANN = "A1B2C3D4-0000-4000-8000-000000000001"
C_POWER = "{C0000000-0000-4000-8000-000000000001}"
C_VOICE = "c0000000-0000-4000-8000-000000000002"
C_VOICE_TWIN = "c0000000-0000-4000-8000-000000000003"
C_THEMES = "c0000000-0000-4000-8000-000000000004"
C_TRUST = "c0000000-0000-4000-8000-000000000005"
S_INTERVIEW = "50000000-0000-4000-8000-000000000001"
S_NOTES = "50000000-0000-4000-8000-000000000002"
N_MEMO = "a0000000-0000-4000-8000-000000000001"
N_LOOSE = "a0000000-0000-4000-8000-000000000002"
N_PROJECT = "a0000000-0000-4000-8000-000000000003"

# CRLF line ends, an emoji and a decomposed é: NVivo counts UTF-16 units with CRLF as two.
INTERVIEW = "Ann: We decide\r\n\U0001f642 together, cafe\u0301.\r\nEnd."
STORED_INTERVIEW = "Ann: We decide\n🙂 together, café.\nEnd."


def sel(guid, start, end, *codings, user=ANN, notes=(), description="", name=""):
    return QdeSelection(
        guid=f"e0000000-0000-4000-8000-0000000000{guid:02d}",
        start=start,
        end=end,
        name=name,
        description=description,
        creating_user=user,
        codings=[
            QdeCoding(
                guid=f"d0000000-0000-4000-8000-0000000{guid:02d}{index:03d}",
                code_guid=code,
                creating_user=user,
            )
            for index, code in enumerate(codings)
        ],
        note_refs=list(notes),
    )


def hand_built(importer_guid: str) -> QdeProject:
    return QdeProject(
        name="Ward interviews",
        origin="NVivo 14",
        description="Two sources.",
        users=[QdeUser(ANN, "Ann Lee"), QdeUser(importer_guid, "Me")],
        codes=[
            QdeCode(
                C_POWER,
                "Power",
                colour="#FF0000",
                description="Who decides.\n\nInclusion: votes",
                children=[QdeCode(C_VOICE, "Voice"), QdeCode(C_VOICE_TWIN, "Voice")],
            ),
            QdeCode(C_THEMES, "Themes", is_codable=False, children=[QdeCode(C_TRUST, "Trust")]),
        ],
        sources=[
            QdeSource(
                guid=S_INTERVIEW,
                name="Interview 1",
                text=INTERVIEW,
                creating_user=ANN,
                selections=[
                    sel(1, 5, 14, C_POWER, notes=[N_MEMO]),  # "We decide"
                    # "together": two codes and one of a code the file does not have.
                    sel(2, 19, 27, C_VOICE, C_VOICE_TWIN, "c0000000-0000-4000-8000-00000000dead"),
                    sel(3, 5, 14, C_POWER, C_TRUST),  # same span and coder as 1: merged
                    sel(4, 37, 40, notes=[N_LOOSE]),  # "End": no codes
                    sel(5, 29, 34, C_THEMES),  # "café" (five UTF-16 units before NFC), on a folder
                ],
            ),
            QdeSource(
                guid=S_NOTES,
                name="My notes",
                text="Plain notes here.",
                selections=[
                    sel(6, 6, 11, C_TRUST, user=None),  # "notes", nobody named
                    sel(7, 0, 5, C_VOICE, user=importer_guid, description="Check this"),
                ],
            ),
        ],
        notes=[
            QdeNote(N_MEMO, "On deciding", "Ann stresses *we*.", creating_user=ANN),
            QdeNote(N_LOOSE, "Loose", "About the end.", creating_user=importer_guid),
            QdeNote(N_PROJECT, "Project memo", "Overall impressions."),
        ],
        note_refs=[N_PROJECT],
        warnings=["1 selection on a PDF source skipped."],
    )


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Project,
            User,
            Membership,
            Code,
            Meeting,
            Observer,
            Fieldnote,
            Excerpt,
            ExcerptCode,
            ProjectMemo,
            ImportRecord,
        )
    }


@pytest.fixture
def importer(db):
    return UserFactory(username="pat", first_name="Pat", last_name="Doe")


@pytest.fixture
def imported(importer, settings):
    settings.TIME_ZONE = "Europe/London"
    qde = hand_built(str(importer.exchange_guid.guid))
    return import_qde(qde, user=importer, source_name="ward.qdpx")


def test_import_makes_a_project_with_the_importer_as_pi(imported, importer):
    project = imported.project
    assert project.name == "Ward interviews"
    assert project.description == "Two sources."
    pis = Membership.objects.filter(project=project, role="pi")
    assert [m.user for m in pis] == [importer]


def test_import_codes_keep_guids_names_colours_and_fields(imported):
    codes = {
        code.path: code
        for code in Code.objects.filter(codebook__project=imported.project).select_related(
            "parent__parent"
        )
    }
    assert sorted(codes) == ["Power", "Power/Voice", "Power/Voice (2)", "Themes", "Themes/Trust"]
    power = codes["Power"]
    assert str(power.guid) == "c0000000-0000-4000-8000-000000000001"
    assert (power.colour, power.definition, power.inclusion) == ("#ff0000", "Who decides.", "votes")
    assert str(codes["Power/Voice (2)"].guid) == C_VOICE_TWIN
    assert codes["Power/Voice"].colour == "#b35c00"  # the palette's third: the third code made
    # A folder that carries codings becomes codable so that they are kept.
    assert codes["Themes"].is_codable is True
    assert codes["Themes/Trust"].is_codable is True


def test_import_fieldnotes_texts_meeting_and_observers(imported):
    fieldnotes = Fieldnote.objects.filter(meeting__project=imported.project).order_by("title")
    assert [(f.title, f.text, str(f.guid), f.observer.name) for f in fieldnotes] == [
        ("Interview 1", STORED_INTERVIEW, S_INTERVIEW, "Ann Lee"),
        ("My notes", "Plain notes here.", S_NOTES, "Unknown observer"),
    ]
    meeting = Meeting.objects.get(project=imported.project)
    assert meeting.title == "ward"
    local = meeting.starts_at.astimezone(LONDON), meeting.ends_at.astimezone(LONDON)
    assert [(moment.hour, moment.minute) for moment in local] == [(9, 0), (17, 0)]
    assert local[0].date() == local[1].date()


def test_import_excerpts_offsets_coders_codes_and_memos(imported, importer):
    rows = [
        (
            e.fieldnote.title,
            e.start,
            e.end,
            e.fieldnote.text[e.start : e.end],
            e.coder.first_name,
            sorted(code.name for code in e.codes.all()),
            e.memo,
            str(e.guid)[-2:],
        )
        for e in Excerpt.objects.filter(fieldnote__meeting__project=imported.project).order_by(
            "fieldnote__title", "start"
        )
    ]
    assert rows == [
        (
            "Interview 1",
            5,
            14,
            "We decide",
            "Ann Lee",
            ["Power", "Trust"],
            "Ann stresses *we*.",
            "01",
        ),
        ("Interview 1", 17, 25, "together", "Ann Lee", ["Voice", "Voice (2)"], "", "02"),
        ("Interview 1", 27, 31, "café", "Ann Lee", ["Themes"], "", "05"),
        ("My notes", 0, 5, "Plain", "Pat", ["Voice"], "Check this", "07"),
        ("My notes", 6, 11, "notes", "Pat", ["Trust"], "", "06"),
    ]
    coding = ExcerptCode.objects.get(guid="d0000000-0000-4000-8000-000000001000")
    assert coding.code.name == "Power"
    assert ExcerptEvent.objects.filter(fieldnote__meeting__project=imported.project).count() == 5


def test_import_placeholder_coder_for_the_file_user(imported, importer):
    placeholder = Membership.objects.get(project=imported.project, is_placeholder=True)
    account = placeholder.user
    assert (account.username, account.first_name, account.is_active) == (
        "imported-ann-lee",
        "Ann Lee",
        False,
    )
    assert not account.has_usable_password()
    assert placeholder.role == "coder"
    assert str(account.exchange_guid.guid) == ANN.lower()


def test_import_loose_notes_become_project_memos(imported, importer):
    memos = ProjectMemo.objects.filter(project=imported.project).order_by("title")
    assert [(m.title, m.text, str(m.guid), m.author) for m in memos] == [
        ("Loose", "About the end.", N_LOOSE, importer),
        ("Project memo", "Overall impressions.", N_PROJECT, None),
    ]


def test_import_report(imported, importer):
    assert imported.source_name == "ward.qdpx"
    assert imported.tool == "NVivo 14"
    assert imported.offset_scheme == "utf16_crlf2"
    assert imported.created_by == importer
    report = imported.report
    assert report["counts"] == {
        "codes": 5,
        "fieldnotes": 2,
        "meetings": 1,
        "observers": 2,
        "excerpts": 5,
        "codings": 7,
        "memos": 2,
        "excerpt memos": 2,
        "placeholder coders": 1,
    }
    assert report["skipped"] == [
        "1 selection without codes skipped (an excerpt in Triangulate carries at least one code).",
        "1 coding of a code not in the codebook skipped.",
        "1 coding repeating a code already on its excerpt skipped.",
    ]
    assert report["warnings"] == [
        "1 selection on a PDF source skipped.",
        "The code “Themes” was marked as not codable but carries codings; it was made codable "
        "so they are kept.",
        "Two codes under “Power” were both called “Voice”; the second is now “Voice (2)”.",
        "1 selection with the same span and coder as another was merged into its excerpt.",
    ]
    assert report["offset_scheme"] == "utf16_crlf2"
    assert report["offsets"].startswith("The file comes from NVivo 14, which counts UTF-16")
    assert report["origin"] == "NVivo 14"


def test_import_name_given_and_users_map(importer, db):
    colleague = UserFactory(username="ann")
    qde = hand_built(str(importer.exchange_guid.guid))
    record = import_qde(
        qde, user=importer, source_name="x.qdpx", name="Renamed", users={ANN: colleague}
    )
    assert record.project.name == "Renamed"
    assert record.report["counts"]["placeholder coders"] == 0
    coders = set(
        Excerpt.objects.filter(fieldnote__meeting__project=record.project).values_list(
            "coder__username", flat=True
        )
    )
    assert coders == {"ann", "pat"}


def test_import_twice_gives_the_second_placeholder_a_new_guid(importer, db):
    qde = hand_built(str(importer.exchange_guid.guid))
    import_qde(qde, user=importer, source_name="a.qdpx")
    second = import_qde(
        hand_built(str(importer.exchange_guid.guid)), user=importer, source_name="b"
    )
    placeholder = Membership.objects.get(project=second.project, is_placeholder=True)
    assert placeholder.user.username == "imported-ann-lee-2"
    assert str(placeholder.user.exchange_guid.guid) != ANN.lower()
    assert (
        "Ann Lee's GUID in the file already belongs to an account on this server, so the "
        "placeholder coder was given a new one." in second.report["warnings"]
    )
    # GUIDs are unique within a project only: the copy keeps them.
    assert Excerpt.objects.filter(guid="e0000000-0000-4000-8000-000000000001").count() == 2


def test_import_refuses_a_selection_past_the_text_and_leaves_nothing(importer):
    qde = hand_built(str(importer.exchange_guid.guid))
    qde.sources[1].selections.append(sel(8, 3, 400, C_TRUST))
    before = counts()
    with pytest.raises(QdeError) as error:
        import_qde(qde, user=importer, source_name="bad.qdpx")
    assert str(error.value) == (
        "Selection 3 of source “My notes” (3–400) falls outside its text, which is 17 characters "
        "long counting UTF-16 code units with CRLF as two, as NVivo counts; no way of counting "
        "positions fits every selection. (The selection's GUID is "
        "e0000000-0000-4000-8000-000000000008.)"
    )
    assert counts() == before


def test_import_refuses_a_source_without_text_and_leaves_nothing(importer):
    qde = hand_built(str(importer.exchange_guid.guid))
    qde.sources[0].text = ""
    before = counts()
    with pytest.raises(QdeError) as error:
        import_qde(qde, user=importer, source_name="bad.qdpx")
    assert str(error.value) == (
        "The source “Interview 1” has no text (its plain-text file is missing or empty), yet "
        "5 selections point into it."
    )
    assert counts() == before


def test_import_failing_late_leaves_nothing(importer, monkeypatch):
    """A failure after rows were written (here: the import record) rolls everything back."""
    qde = hand_built(str(importer.exchange_guid.guid))
    before = counts()

    def broken(**kwargs):
        raise ValueError("disk full")

    monkeypatch.setattr(ImportRecord.objects, "create", broken)
    with pytest.raises(ValueError, match="disk full"):
        import_qde(qde, user=importer, source_name="x.qdpx")
    assert counts() == before
    assert not UserGuid.objects.filter(guid=ANN.lower()).exists()


def test_import_triangulate_flags_from_the_selection_name(importer, db):
    qde = hand_built(str(importer.exchange_guid.guid))
    qde.origin = "Triangulate 0.1.0"
    qde.sources[1].text = qde.sources[1].text  # plain text: every way of counting agrees
    qde.sources[0] = QdeSource(
        guid=S_INTERVIEW,
        name="Interview 1",
        text="One two three.",
        selections=[sel(1, 0, 3, C_POWER, name="unsure | needs review: text changed")],
    )
    record = import_qde(qde, user=importer, source_name="t.qdpx")
    excerpt = Excerpt.objects.get(fieldnote__meeting__project=record.project, start=0, end=3)
    assert (excerpt.unsure, excerpt.needs_review, excerpt.review_reason) == (
        True,
        True,
        "text changed",
    )


@pytest.fixture
def placeholder_project(imported, importer):
    project = imported.project
    placeholder = Membership.objects.get(project=project, is_placeholder=True)
    coder = MembershipFactory(project=project, user=UserFactory(username="ann-real"), role="coder")
    return project, placeholder, coder


def test_map_placeholder_moves_excerpts_and_removes_the_placeholder(placeholder_project, importer):
    project, placeholder, coder = placeholder_project
    pi = Membership.objects.get(project=project, user=importer)
    # The real coder already coded "We decide" with Voice: Ann's Power and Trust join it.
    fieldnote = Fieldnote.objects.get(meeting__project=project, title="Interview 1")
    voice = Code.objects.get(codebook__project=project, name="Voice")
    mine = Excerpt.objects.create(fieldnote=fieldnote, coder=coder.user, start=5, end=14)
    mine.excerpt_codes.create(code=voice)
    moved = map_placeholder(project, placeholder, coder, by=importer)
    assert moved == 3
    excerpts = Excerpt.objects.filter(fieldnote=fieldnote).order_by("start")
    assert [
        (e.start, e.coder.username, sorted(c.name for c in e.codes.all())) for e in excerpts
    ] == [
        (5, "ann-real", ["Power", "Trust", "Voice"]),
        (17, "ann-real", ["Voice", "Voice (2)"]),
        (27, "ann-real", ["Themes"]),
    ]
    assert Excerpt.objects.get(pk=mine.pk).memo == "Ann stresses *we*."
    assert not Membership.objects.filter(pk=placeholder.pk).exists()
    placeholder.user.refresh_from_db()
    assert placeholder.user.is_active is False
    assert not ExcerptEvent.objects.filter(user=placeholder.user).exists()
    assert ExcerptEvent.objects.filter(fieldnote=fieldnote, user=coder.user).count() == 3
    assert pi.role == "pi"


def test_map_placeholder_refuses_bad_targets(placeholder_project, importer):
    project, placeholder, coder = placeholder_project
    observer = MembershipFactory(project=project, user=UserFactory(username="obs"), role="observer")
    observer.user.first_name, observer.user.last_name = "Olu", "Ade"
    with pytest.raises(QdeError) as error:
        map_placeholder(project, placeholder, observer, by=importer)
    assert str(error.value) == (
        "Olu Ade is a observer; only principal investigators and coders code, so choose one "
        "of them."
    )
    with pytest.raises(QdeError, match="is a placeholder coder too"):
        map_placeholder(project, placeholder, placeholder, by=importer)
    with pytest.raises(QdeError, match="is not a placeholder coder"):
        map_placeholder(project, coder, coder, by=importer)
    with pytest.raises(QdeError, match="Only a principal investigator"):
        map_placeholder(project, placeholder, coder, by=coder.user)
    other = MembershipFactory(user=UserFactory(username="elsewhere"), role="coder")
    with pytest.raises(QdeError, match="must belong to this project"):
        map_placeholder(project, placeholder, other, by=importer)
    assert Excerpt.objects.filter(coder=placeholder.user).count() == 3


def test_meeting_moments_read_from_iso_text():
    from exchange.project_import import _moment

    assert _moment("2026-03-10T09:30:00Z") == datetime(2026, 3, 10, 9, 30, tzinfo=LONDON)
    assert _moment("not a date") is None
    assert _moment(None) is None
