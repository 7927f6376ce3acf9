import codecs
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from exchange.qde import (
    QdeCase,
    QdeCode,
    QdeCoding,
    QdeError,
    QdeNote,
    QdeProject,
    QdeSelection,
    QdeSource,
    QdeUser,
    QdeVariable,
    QdeVariableValue,
)
from exchange.qdpx import NAMESPACE, SCHEMA_LOCATION, project_xml, read_qdpx, write_qdpx

# The official schema and sample exports live beside the repository, never inside it.
REFI_QDA = Path(__file__).resolve().parents[2].parent / "shared" / "refi-qda"
PROJECT_XSD = REFI_QDA / "Project.xsd"
SAMPLES = REFI_QDA / "samples"

needs_schema = pytest.mark.skipif(
    not PROJECT_XSD.exists(),
    reason=f"the REFI-QDA schema is not at {PROJECT_XSD} (it is kept outside the repository)",
)
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(),
    reason=f"the REFI-QDA sample exports are not in {SAMPLES} (kept outside the repository)",
)


def guid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


AMIRA, BEN = guid(1), guid(2)
ROOT_CODE, CHILD_CODE, GRANDCHILD_CODE, OTHER_CODE = guid(10), guid(11), guid(12), guid(13)
ROLE_VARIABLE, AGE_VARIABLE, SEEN_VARIABLE = guid(20), guid(21), guid(22)
SOURCE_A, SOURCE_B = guid(30), guid(31)
NOTE_A, NOTE_B = guid(40), guid(41)
CASE = guid(50)

TEXT_A = "Café meeting: the chair spoke first.\nThen the nurse 😀 answered.\n"
TEXT_B = "Zoë wrote: “agenda item 3” was skipped.\n"


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2024, 5, day, hour, 30, 15, tzinfo=UTC)


def codings(*pairs: tuple[int, str]) -> list[QdeCoding]:
    return [
        QdeCoding(guid=guid(n), code_guid=code, creating_user=AMIRA, created=at(3))
        for n, code in pairs
    ]


def full_project() -> QdeProject:
    return QdeProject(
        name="Ward study",
        origin="Triangulate",
        description="Observing ward rounds.",
        creating_user=AMIRA,
        created=at(1),
        modifying_user=BEN,
        modified=at(9, 17),
        users=[QdeUser(guid=AMIRA, name="Amira Haddad"), QdeUser(guid=BEN, name="Ben Okafor")],
        codes=[
            QdeCode(
                guid=ROOT_CODE,
                name="Power",
                colour="#aa3300",
                description="Who decides.\n\nInclusion: explicit orders.",
                children=[
                    QdeCode(
                        guid=CHILD_CODE,
                        name="Hierarchy",
                        is_codable=False,
                        children=[
                            QdeCode(guid=GRANDCHILD_CODE, name="Deference", colour="#00ff7f")
                        ],
                    )
                ],
            ),
            QdeCode(guid=OTHER_CODE, name="Humour"),
        ],
        variables=[
            QdeVariable(guid=ROLE_VARIABLE, name="Role", type="Text", description="Job title"),
            QdeVariable(guid=AGE_VARIABLE, name="Years", type="Integer"),
            QdeVariable(guid=SEEN_VARIABLE, name="Seen on", type="Date"),
        ],
        cases=[
            QdeCase(
                guid=CASE,
                name="Ward 7",
                description="The surgical ward.",
                source_refs=[SOURCE_A, SOURCE_B],
                variable_values=[
                    QdeVariableValue(variable_guid=ROLE_VARIABLE, value="Charge nurse"),
                    QdeVariableValue(variable_guid=AGE_VARIABLE, value=12),
                    QdeVariableValue(
                        variable_guid=SEEN_VARIABLE, value=datetime(2024, 5, 2, tzinfo=UTC)
                    ),
                ],
            )
        ],
        sources=[
            QdeSource(
                guid=SOURCE_A,
                name="Amira, 2 May",
                text=TEXT_A,
                plain_text_path=f"internal://{SOURCE_A}.txt",
                description="Morning round",
                creating_user=AMIRA,
                created=at(2),
                modifying_user=BEN,
                modified=at(4),
                selections=[
                    QdeSelection(
                        guid=guid(60),
                        start=0,
                        end=12,
                        name="Café meeting",
                        description="Opening",
                        creating_user=AMIRA,
                        created=at(3),
                        modifying_user=BEN,
                        modified=at(5),
                        codings=codings((70, ROOT_CODE), (71, OTHER_CODE)),
                        note_refs=[NOTE_A],
                    ),
                    QdeSelection(
                        guid=guid(61),
                        start=5,
                        end=53,
                        creating_user=BEN,
                        created=at(3, 10),
                        codings=codings((72, GRANDCHILD_CODE), (73, OTHER_CODE)),
                    ),
                ],
                note_refs=[NOTE_B],
                variable_values=[QdeVariableValue(variable_guid=ROLE_VARIABLE, value="Fieldnote")],
            ),
            QdeSource(
                guid=SOURCE_B,
                name="Ben, 2 May",
                text=TEXT_B,
                plain_text_path=f"internal://{SOURCE_B}.txt",
                selections=[
                    QdeSelection(guid=guid(62), start=0, end=3, codings=codings((74, CHILD_CODE)))
                ],
            ),
        ],
        notes=[
            QdeNote(
                guid=NOTE_A,
                name="Why café?",
                text="The café is\r\nwhere decisions happen.",
                creating_user=AMIRA,
                created=at(3),
                modified=at(6),
            ),
            QdeNote(guid=NOTE_B, name="", text=""),
        ],
        note_refs=[NOTE_A],
        extra_files={"triangulate/meetings.json": b'{"meetings": []}'},
    )


def qdpx(project: QdeProject) -> bytes:
    out = io.BytesIO()
    write_qdpx(project, out)
    return out.getvalue()


def archive(entries: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return out.getvalue()


def qde(body: str = "", **attributes: str) -> bytes:
    attributes = {"name": "Imported", **attributes}
    attrs = " ".join(f'{key}="{value}"' for key, value in attributes.items())
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NAMESPACE}" {attrs}>'
        f"{body}</Project>"
    ).encode()


def codebook(*codes: str) -> str:
    return f"<CodeBook><Codes>{''.join(codes)}</Codes></CodeBook>"


def text_source(source_guid: str, inner: str = "", **attributes: str) -> str:
    attributes = {"guid": source_guid, "name": "Notes", **attributes}
    attrs = " ".join(f'{key}="{value}"' for key, value in attributes.items())
    return f"<Sources><TextSource {attrs}>{inner}</TextSource></Sources>"


def selection(n: int, start: int, end: int, code: str | None = None) -> str:
    coding = (
        f'<Coding guid="{guid(n + 1000)}"><CodeRef targetGUID="{code}"/></Coding>' if code else ""
    )
    return (
        f'<PlainTextSelection guid="{guid(n)}" startPosition="{start}" endPosition="{end}">'
        f"{coding}</PlainTextSelection>"
    )


CODE = f'<Code guid="{ROOT_CODE}" name="Power" isCodable="true"/>'


def error_of(data: bytes, **options) -> str:
    with pytest.raises(QdeError) as raised:
        read_qdpx(data, **options)
    return str(raised.value)


# Writing and reading back --------------------------------------------------------------------


def test_round_trip_gives_the_same_project():
    original = full_project()

    read = read_qdpx(qdpx(original))

    assert read.warnings == []
    assert read == original


def test_round_trip_keeps_exact_positions_over_accents_and_emoji():
    read = read_qdpx(qdpx(full_project()))

    source = read.sources[0]
    first, second = source.selections
    assert source.text[first.start : first.end] == "Café meeting"
    assert source.text[second.start : second.end] == (
        "meeting: the chair spoke first.\nThen the nurse 😀"
    )
    assert [coding.code_guid for coding in second.codings] == [GRANDCHILD_CODE, OTHER_CODE]


def test_write_is_deterministic():
    assert qdpx(full_project()) == qdpx(full_project())


def test_write_lays_out_the_archive():
    with zipfile.ZipFile(io.BytesIO(qdpx(full_project()))) as zipped:
        assert zipped.namelist() == [
            "project.qde",
            f"sources/{SOURCE_A}.txt",
            f"sources/{SOURCE_B}.txt",
            "triangulate/meetings.json",
        ]
        assert {info.compress_type for info in zipped.infolist()} == {zipfile.ZIP_DEFLATED}
        assert zipped.read(f"sources/{SOURCE_B}.txt") == TEXT_B.encode("utf-8")


def test_write_stores_source_text_as_utf8_with_unix_line_ends_and_no_bom():
    project = QdeProject(
        name="Line ends",
        sources=[QdeSource(guid=SOURCE_A, name="Windows", text="\ufeffone\r\ntwo\rthree\né")],
    )

    with zipfile.ZipFile(io.BytesIO(qdpx(project))) as zipped:
        assert zipped.read(f"sources/{SOURCE_A}.txt") == "one\ntwo\nthree\né".encode()


def test_write_reports_progress_per_source():
    calls = []

    write_qdpx(full_project(), io.BytesIO(), progress=calls.append)

    assert calls == [0.5, 1.0]


def test_write_reports_completion_without_sources():
    calls = []

    write_qdpx(QdeProject(name="Empty"), io.BytesIO(), progress=calls.append)

    assert calls == [1.0]


def test_write_refuses_an_extra_file_in_place_of_a_source():
    project = full_project()
    project.extra_files = {f"sources/{SOURCE_A}.txt": b"other"}

    with pytest.raises(ValueError, match="cannot be an extra file"):
        qdpx(project)


def test_project_xml_writes_dates_in_utc_and_the_schema_location():
    project = QdeProject(
        name="Dates",
        created=datetime.fromisoformat("2024-05-01T11:30:15.250+02:00"),
        modified=datetime(2024, 5, 2, 8, 0, 0),
    )

    root = etree.fromstring(project_xml(project))

    assert root.get("creationDateTime") == "2024-05-01T09:30:15Z"
    assert root.get("modifiedDateTime") == "2024-05-02T08:00:00Z"
    assert root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation") == (
        SCHEMA_LOCATION
    )


def test_project_xml_points_sources_to_internal_files():
    root = etree.fromstring(project_xml(full_project()))

    paths = [element.get("plainTextPath") for element in root.iter(f"{{{NAMESPACE}}}TextSource")]
    assert paths == [f"internal://{SOURCE_A}.txt", f"internal://{SOURCE_B}.txt"]


def test_project_xml_refuses_an_unreadable_colour():
    project = QdeProject(name="Bad", codes=[QdeCode(guid=ROOT_CODE, name="Red", colour="reddish")])

    with pytest.raises(ValueError, match='The code "Red" has the colour "reddish"'):
        project_xml(project)


# The schema ----------------------------------------------------------------------------------


def schema_errors(data: bytes) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(PROJECT_XSD)))
    if schema.validate(etree.fromstring(data)):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


@needs_schema
def test_project_xml_validates_against_the_schema():
    assert schema_errors(project_xml(full_project())) == []


@needs_schema
def test_project_xml_with_every_optional_part_empty_validates():
    bare = QdeProject(
        name="Bare",
        codes=[QdeCode(guid=ROOT_CODE, name="Only code")],
        variables=[QdeVariable(guid=ROLE_VARIABLE, name="Role")],
        cases=[
            QdeCase(
                guid=CASE,
                name="",
                variable_values=[QdeVariableValue(variable_guid=ROLE_VARIABLE, value=None)],
            )
        ],
        sources=[
            QdeSource(
                guid=SOURCE_A,
                name="",
                text="",
                selections=[QdeSelection(guid=guid(60), start=0, end=0)],
            )
        ],
        notes=[QdeNote(guid=NOTE_A, name="", text="")],
    )

    assert schema_errors(project_xml(QdeProject(name="Empty"))) == []
    assert schema_errors(project_xml(bare)) == []


@needs_schema
def test_project_xml_writes_every_kind_of_variable_value_the_schema_accepts():
    project = QdeProject(
        name="Values",
        variables=[
            QdeVariable(guid=guid(n), name=f"v{n}", type=t)
            for n, t in enumerate(
                ["Text", "Boolean", "Integer", "Float", "Date", "DateTime"], start=1
            )
        ],
        cases=[
            QdeCase(
                guid=CASE,
                name="All",
                variable_values=[
                    QdeVariableValue(guid(1), "x"),
                    QdeVariableValue(guid(2), False),
                    QdeVariableValue(guid(3), -4),
                    QdeVariableValue(guid(4), 1e-07),
                    QdeVariableValue(guid(5), datetime(2024, 2, 29, tzinfo=UTC)),
                    QdeVariableValue(guid(6), at(1)),
                ],
            )
        ],
    )

    data = project_xml(project)

    assert schema_errors(data) == []
    assert read_qdpx(archive({"project.qde": data})).cases[0].variable_values == [
        QdeVariableValue(guid(1), "x"),
        QdeVariableValue(guid(2), False),
        QdeVariableValue(guid(3), -4),
        QdeVariableValue(guid(4), 1e-07),
        QdeVariableValue(guid(5), datetime(2024, 2, 29, tzinfo=UTC)),
        QdeVariableValue(guid(6), at(1)),
    ]


# Real exports --------------------------------------------------------------------------------


def count_codes(codes: list[QdeCode]) -> int:
    return sum(1 + count_codes(code.children) for code in codes)


@needs_samples
def test_reads_the_qualcoder_sample():
    project = read_qdpx((SAMPLES / "qc-demo-158-selections.qdpx").read_bytes())

    assert project.name == "qc project"
    assert project.origin == "qc 1.3.2"
    assert project.users == [QdeUser(guid="39633935-3331-3962-6632-373436373264", name="cp")]
    assert count_codes(project.codes) == 262
    assert [source.name for source in project.sources] == ["board_2017", "admin-1"]
    assert [len(source.text) for source in project.sources] == [52543, 31906]
    assert [len(source.selections) for source in project.sources] == [158, 0]
    first = project.sources[0].selections[0]
    assert (first.guid, first.name, first.start, first.end) == (
        "37323865-3734-6533-3337-623138653238",
        "line:6",
        320,
        400,
    )
    assert project.sources[0].text[first.start : first.end] == (
        "This district goal is engage every student in joyful, purposeful learning that \n"
    )
    assert [coding.code_guid for coding in first.codings] == [
        "37613432-3130-6635-3839-613934656566"
    ]
    assert project.extra_files == {}
    assert project.warnings == [
        '2 sources had no name; each was named after its file ("board_2017", "admin-1").'
    ]


@needs_samples
def test_reads_the_atlasti_sample_code_tree():
    with (SAMPLES / "atlasti-nested-codes.qdpx").open("rb") as file:
        project = read_qdpx(file)

    def tree(codes):
        return [(code.guid, code.name, code.is_codable, tree(code.children)) for code in codes]

    assert tree(project.codes) == [
        (
            "a182cd3a-d83c-4d8c-bc80-26d9103ec6d6",
            "Commits",
            True,
            [
                ("2d2466f0-d77f-4f8c-bdf9-628966b6b74d", "2022-05-10T02:05:59Z 19e4dce", True, []),
                ("086ac733-7b1c-4749-a138-d7182f63a5c9", "2022-02-11T10:39:25Z cdbfd92", True, []),
            ],
        )
    ]
    assert project.sources == []
    assert project.origin == "ATLAS.ti for Windows 23.2.3.27778"
    assert project.creating_user == "088b08ac-d5cd-4adb-8b71-b4f3459c177f"
    assert project.created == datetime(2023, 8, 16, 15, 49, 36, tzinfo=UTC)
    assert [user.name for user in project.users] == ["Enric Llagostera", "ATLAS.ti"]
    assert project.warnings == [
        "7 GUIDs written in uppercase or in braces were read as lowercase GUIDs."
    ]


# Archives refused ----------------------------------------------------------------------------


def test_refuses_a_file_that_is_not_a_zip():
    assert error_of(b"%PDF-1.7 not a zip") == "This file is not a .qdpx archive (not a zip file)."
    assert error_of(b"") == "This file is not a .qdpx archive (not a zip file)."


def test_refuses_an_archive_without_project_qde():
    data = archive({"sources/a.txt": "text", "readme.md": "hello"})

    assert error_of(data) == (
        "The archive has no project.qde file, so it is not a REFI-QDA project export."
    )


def test_refuses_invalid_xml_naming_the_line():
    data = archive({"project.qde": b'<Project name="x">\n<Users>\n</Project>'})

    assert error_of(data) == (
        "project.qde is not valid XML: on line 3, Opening and ending tag mismatch: Users line 2 "
        "and Project."
    )


def test_refuses_a_root_other_than_project():
    data = archive({"project.qde": f'<CodeBook xmlns="{NAMESPACE}"/>'})

    assert error_of(data) == (
        "project.qde is not a REFI-QDA project: its root element is <CodeBook>, expected <Project>."
    )


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<Project name="&b;"/>',
        b'<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b'<Project name="x"><Description>&x;</Description></Project>',
    ],
    ids=["entity expansion", "external entity"],
)
def test_refuses_entities(document):
    assert error_of(archive({"project.qde": document})) == (
        "project.qde declares XML entities, which REFI-QDA projects never use; it was not read, "
        "to be safe."
    )


@pytest.mark.parametrize(
    "name", ["../evil.txt", "sources/../../evil.txt", "/etc/cron.d/evil", "C:/evil.txt", "..\\evil"]
)
def test_refuses_entry_names_that_point_outside(name):
    data = archive({"project.qde": qde(), name: "x"})

    assert error_of(data) == (
        f'The archive holds an entry with an unsafe name, "{name}", which points outside its '
        "folder; it was not read, to be safe."
    )


def test_refuses_a_zip_bomb_naming_the_entry():
    data = archive({"project.qde": qde(), "sources/zeros.txt": b"0" * (5 * 1024 * 1024)})

    assert error_of(data) == (
        'The archive entry "sources/zeros.txt" is compressed more tightly than 200 to 1, as zip '
        "bombs are; the archive was not opened."
    )


def test_refuses_an_archive_that_unpacks_beyond_the_limit():
    text = "".join(f"line {n}\n" for n in range(200))
    body = text_source(SOURCE_A, plainTextPath=f"internal://{SOURCE_A}.txt")
    data = archive({"project.qde": qde(body), f"sources/{SOURCE_A}.txt": text})

    assert error_of(data, max_unpacked_bytes=1000) == (
        "The archive unpacks to more than 1,000 bytes (the limit was passed at the entry "
        f'"sources/{SOURCE_A}.txt"), too much to open safely.'
    )


def test_refuses_a_selection_whose_source_text_is_missing():
    body = codebook(CODE) + text_source(
        SOURCE_A, selection(60, 0, 4, ROOT_CODE), plainTextPath=f"internal://{SOURCE_A}.txt"
    )

    assert error_of(archive({"project.qde": qde(body)})) == (
        f'The source "Notes" has 1 selection, but its text "sources/{SOURCE_A}.txt" is not in '
        "the archive."
    )


# Leniency ------------------------------------------------------------------------------------


def read_one_source(entries: dict[str, bytes | str], **source_attributes: str) -> QdeProject:
    inner = selection(60, 0, 4, ROOT_CODE)
    body = codebook(CODE) + text_source(SOURCE_A, inner, **source_attributes)
    return read_qdpx(archive({"project.qde": qde(body), **entries}))


def test_reads_a_bom_on_project_qde_and_on_source_files():
    body = codebook(CODE) + text_source(
        SOURCE_A, selection(60, 0, 4, ROOT_CODE), plainTextPath=f"internal://{SOURCE_A}.txt"
    )
    data = archive(
        {
            "project.qde": codecs.BOM_UTF8 + qde(body),
            f"sources/{SOURCE_A}.txt": codecs.BOM_UTF8 + b"Ward\r\nround",
        }
    )

    project = read_qdpx(data)

    assert project.sources[0].text == "Ward\r\nround"
    assert project.sources[0].selections[0].start == 0
    assert project.warnings == [
        "project.qde began with a byte-order mark; it was ignored.",
        '1 text file began with a byte-order mark (source "Notes"); it was removed.',
    ]


@pytest.mark.parametrize("folder", ["Sources", "SOURCES"])
def test_reads_the_sources_folder_in_any_case(folder):
    project = read_one_source(
        {f"{folder}/{SOURCE_A}.txt": "Ward round"}, plainTextPath=f"internal://{SOURCE_A}.txt"
    )

    assert project.sources[0].text == "Ward round"
    assert project.extra_files == {}
    assert project.warnings == [
        f'The archive keeps its sources in "{folder}/" rather than "sources/"; they were read '
        "from there."
    ]


def test_reads_project_qde_in_a_single_top_folder_in_any_case():
    body = codebook(CODE) + text_source(SOURCE_A, plainTextPath=f"internal://{SOURCE_A}.txt")
    data = archive(
        {
            "Ward study/Project.QDE": qde(body),
            f"Ward study/sources/{SOURCE_A}.txt": "Ward round",
            "Ward study/extras/readme.txt": "hello",
        }
    )

    project = read_qdpx(data)

    assert project.sources[0].text == "Ward round"
    assert project.extra_files == {"extras/readme.txt": b"hello"}
    assert project.warnings == []


def test_normalises_braced_and_uppercase_guids_and_skips_invalid_ones():
    upper = ROOT_CODE.upper()
    body = (
        f'<Users><User guid="{{{AMIRA.upper()}}}" name="Amira"/><User guid="not-a-guid" name="X"/>'
        "</Users>"
        + codebook(f'<Code guid="{upper}" name="Power" isCodable="true"/>')
        + text_source(
            f"{{{SOURCE_A.upper()}}}",
            selection(60, 0, 4, f"{{{upper}}}")
            + '<PlainTextSelection guid="12345" startPosition="1" endPosition="2"/>',
            plainTextPath=f"internal://{SOURCE_A}.txt",
        )
    )

    project = read_qdpx(archive({"project.qde": qde(body), f"sources/{SOURCE_A}.txt": "Ward"}))

    assert project.users == [QdeUser(guid=AMIRA, name="Amira")]
    assert project.codes[0].guid == ROOT_CODE
    assert project.sources[0].guid == SOURCE_A
    assert [s.guid for s in project.sources[0].selections] == [guid(60)]
    assert project.sources[0].selections[0].codings[0].code_guid == ROOT_CODE
    assert project.warnings == [
        'A user has the GUID "not-a-guid", which is not a GUID; it was skipped.',
        'A selection in source "Notes" has the GUID "12345", which is not a GUID; it was skipped.',
        "4 GUIDs written in uppercase or in braces were read as lowercase GUIDs.",
    ]


def test_reads_missing_colours_dates_names_and_codable_flags():
    body = codebook(
        f'<Code guid="{ROOT_CODE}" name="Power">'
        f'<Code guid="{CHILD_CODE}" name="" isCodable="FALSE"/></Code>'
    ) + text_source(
        SOURCE_A, selection(60, 0, 4, ROOT_CODE), name="", plainTextPath="internal://a.txt"
    )

    project = read_qdpx(archive({"project.qde": qde(body), "sources/a.txt": "Ward"}))

    assert project.codes == [
        QdeCode(
            guid=ROOT_CODE,
            name="Power",
            children=[QdeCode(guid=CHILD_CODE, name="(unnamed)", is_codable=False)],
        )
    ]
    source = project.sources[0]
    assert (source.name, source.created, source.selections[0].created) == ("a", None, None)
    assert project.warnings == [
        'A code inside "Power" had no name; it was called "(unnamed)".',
        '1 source had no name; each was named after its file ("a").',
    ]


def test_reads_css_colours_and_reports_unreadable_ones():
    body = codebook(
        f'<Code guid="{guid(1)}" name="Rgb" isCodable="true" color="rgb(255, 128, 0)"/>',
        f'<Code guid="{guid(2)}" name="Short" isCodable="true" color="#AbC"/>',
        f'<Code guid="{guid(3)}" name="Alpha" isCodable="true" color="#11223344"/>',
        f'<Code guid="{guid(4)}" name="Word" isCodable="true" color="reddish"/>',
    )

    project = read_qdpx(archive({"project.qde": qde(body)}))

    assert [code.colour for code in project.codes] == ["#ff8000", "#aabbcc", "#112233", None]
    assert project.warnings == [
        'The code "Word": the colour "reddish" is not a colour we can read; it was left out.'
    ]


def test_reads_bad_dates_as_missing_with_a_warning():
    body = text_source(
        SOURCE_A,
        f'<PlainTextSelection guid="{guid(60)}" startPosition="0" endPosition="4" '
        'creationDateTime="2024-05-01T10:00:00+02:00" modifiedDateTime="yesterday"/>',
        plainTextPath=f"internal://{SOURCE_A}.txt",
        creationDateTime="2024-05-01T10:00:00",
    )

    project = read_qdpx(archive({"project.qde": qde(body), f"sources/{SOURCE_A}.txt": "Ward"}))

    source = project.sources[0]
    assert source.created == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert source.selections[0].created == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert source.selections[0].modified is None
    assert project.warnings == ['1 date could not be read ("yesterday"); they were left out.']


def test_reads_plain_text_content_inside_project_qde():
    body = codebook(CODE) + text_source(
        SOURCE_A,
        "<PlainTextContent>Ward round, inline.</PlainTextContent>" + selection(60, 0, 4, ROOT_CODE),
    )

    project = read_qdpx(archive({"project.qde": qde(body)}))

    assert project.sources[0].text == "Ward round, inline."
    assert project.sources[0].plain_text_path == ""
    assert project.sources[0].selections[0].start == 0
    assert project.warnings == []


def test_skips_a_source_without_any_text():
    project = read_one_source({})

    assert project.sources == []
    assert project.warnings == ['The source "Notes" has no text; it was skipped.']


def test_keeps_crlf_line_ends_and_positions_as_stored():
    project = read_one_source(
        {f"sources/{SOURCE_A}.txt": b"Ward\r\nround\r\n"},
        plainTextPath=f"internal://{SOURCE_A}.txt",
    )

    assert project.sources[0].text == "Ward\r\nround\r\n"
    assert (project.sources[0].selections[0].start, project.sources[0].selections[0].end) == (0, 4)


def test_reads_utf16_and_windows_1252_source_text_with_warnings():
    utf16 = read_one_source(
        {f"sources/{SOURCE_A}.txt": "Zoë’s note".encode("utf-16")},
        plainTextPath=f"internal://{SOURCE_A}.txt",
    )
    cp1252 = read_one_source(
        {f"sources/{SOURCE_A}.txt": "Zoë’s note".encode("cp1252")},
        plainTextPath=f"internal://{SOURCE_A}.txt",
    )

    assert utf16.sources[0].text == cp1252.sources[0].text == "Zoë’s note"
    assert utf16.warnings == ['The source "Notes": its text was in UTF-16; it was read as such.']
    assert cp1252.warnings == [
        'The source "Notes": its text is not UTF-8; it was read as Windows-1252 (Western European).'
    ]


def test_looks_for_relative_and_absolute_paths_inside_the_archive():
    found = read_one_source(
        {"sources/ward.txt": "Ward round"}, plainTextPath="relative://fieldwork/ward.txt"
    )
    missing = read_one_source({}, plainTextPath="absolute://C:/Users/amira/ward.txt")

    assert found.sources[0].text == "Ward round"
    assert found.sources[0].plain_text_path == "relative://fieldwork/ward.txt"
    assert found.warnings == []
    assert missing.sources == []
    assert missing.warnings == [
        'The source "Notes" points to "absolute://C:/Users/amira/ward.txt", which is not in the '
        "archive; it was skipped with 1 selection."
    ]


def test_reads_the_plain_text_twin_of_a_word_source():
    project = read_one_source(
        {f"sources/{SOURCE_A}.docx": b"PK not really", f"sources/{SOURCE_A}.txt": "Ward round"},
        richTextPath=f"internal://{SOURCE_A}.docx",
    )

    assert project.sources[0].text == "Ward round"
    assert project.sources[0].plain_text_path == f"sources/{SOURCE_A}.txt"
    assert project.extra_files == {}
    assert project.warnings == [
        f'The source "Notes" was given as "{SOURCE_A}.docx"; its plain-text copy '
        f'"sources/{SOURCE_A}.txt" was read instead.'
    ]


def test_extracts_the_text_of_a_word_source_without_twin():
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("Première ligne.")
    document.add_paragraph("Second line 😀.")
    data = io.BytesIO()
    document.save(data)

    project = read_one_source(
        {f"sources/{SOURCE_A}.docx": data.getvalue()}, richTextPath=f"internal://{SOURCE_A}.docx"
    )

    assert project.sources[0].text == "Première ligne.\n\nSecond line 😀."
    assert project.sources[0].selections[0].end == 4
    assert project.warnings == [
        'The source "Notes" came only as a Word document; its text was extracted from it, so '
        "the positions of its 1 selection may not match."
    ]


def test_skips_pdf_and_media_sources_with_their_selections():
    body = (
        "<Sources>"
        f'<PDFSource guid="{guid(80)}" name="Minutes.pdf" path="internal://{guid(80)}.pdf">'
        f'<PDFSelection guid="{guid(81)}" page="1" firstX="0" firstY="0" secondX="5" secondY="5"/>'
        f'<PDFSelection guid="{guid(82)}" page="2" firstX="0" firstY="0" secondX="5" secondY="5"/>'
        "</PDFSource>"
        f'<AudioSource guid="{guid(83)}" name="Round.mp3" path="internal://{guid(83)}.mp3"/>'
        f'<TextSource guid="{SOURCE_A}" name="Notes" plainTextPath="internal://{SOURCE_A}.txt"/>'
        "</Sources>"
        f'<Cases><Case guid="{CASE}" name="Ward 7"><SourceRef targetGUID="{guid(80)}"/>'
        f'<SourceRef targetGUID="{SOURCE_A}"/></Case></Cases>'
    )
    data = archive(
        {
            "project.qde": qde(body),
            f"sources/{guid(80)}.pdf": b"%PDF-1.7",
            f"sources/{guid(83)}.mp3": b"ID3",
            f"sources/{SOURCE_A}.txt": "Ward",
        }
    )

    project = read_qdpx(data)

    assert [source.name for source in project.sources] == ["Notes"]
    assert project.cases[0].source_refs == [SOURCE_A]
    assert project.extra_files == {}
    assert project.warnings == [
        'The PDF source "Minutes.pdf" was skipped with 2 selections: Triangulate imports text '
        "sources only.",
        'The audio source "Round.mp3" was skipped with 0 selections: Triangulate imports text '
        "sources only.",
    ]


def test_leaves_out_codings_of_unknown_codes():
    project = read_one_source(
        {f"sources/{SOURCE_A}.txt": "Ward"}, plainTextPath=f"internal://{SOURCE_A}.txt"
    )
    assert [c.code_guid for c in project.sources[0].selections[0].codings] == [ROOT_CODE]

    body = text_source(
        SOURCE_A, selection(60, 0, 4, OTHER_CODE), plainTextPath=f"internal://{SOURCE_A}.txt"
    )
    project = read_qdpx(archive({"project.qde": qde(body), f"sources/{SOURCE_A}.txt": "Ward"}))

    assert project.sources[0].selections[0].codings == []
    assert project.warnings == [
        f'1 coding pointed to codes the codebook does not have ("{OTHER_CODE}"); they were left '
        "out."
    ]


def test_keeps_unreferenced_entries_as_extra_files():
    data = archive(
        {
            "project.qde": qde(),
            "triangulate/meetings.json": b"[]",
            "__MACOSX/._project.qde": b"junk",
            "empty/": b"",
        }
    )

    assert read_qdpx(data).extra_files == {"triangulate/meetings.json": b"[]"}


def test_skips_a_second_element_with_the_same_guid():
    body = (
        "<Sources>"
        f'<TextSource guid="{SOURCE_A}" name="First"><PlainTextContent>One</PlainTextContent>'
        "</TextSource>"
        f'<TextSource guid="{SOURCE_A}" name="Second"><PlainTextContent>Two</PlainTextContent>'
        "</TextSource>"
        "</Sources>"
        f'<Cases><Case guid="{CASE}" name="Ward 7"><SourceRef targetGUID="{SOURCE_A}"/>'
        f'<SourceRef targetGUID="{SOURCE_B}"/></Case></Cases>'
    )

    project = read_qdpx(archive({"project.qde": qde(body)}))

    assert [source.text for source in project.sources] == ["One"]
    assert project.cases[0].source_refs == [SOURCE_A]
    assert project.warnings == [
        f'The source "Second" has the GUID {SOURCE_A}, which an earlier element already has; '
        "it was skipped.",
        f'The case "Ward 7" names the source {SOURCE_B}, which the project does not have; the '
        "reference was left out.",
    ]


def test_refuses_a_damaged_entry_naming_it():
    data = bytearray(
        archive({"project.qde": qde(), "triangulate/data.json": b"[" + b"1," * 5000 + b"1]"})
    )
    start = data.index(b"triangulate/data.json") + len("triangulate/data.json")
    data[start + 2 : start + 6] = b"\xff" * 4

    assert error_of(bytes(data)) == (
        'The archive entry "triangulate/data.json" is damaged or packed in a way we cannot '
        "unpack; the archive was not read."
    )
