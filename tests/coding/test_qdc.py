import re
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from coding.qdc import (
    MAX_BYTES,
    NAMESPACE,
    QdcCode,
    QdcCodebook,
    QdcError,
    codes_from_element,
    compose_description,
    normalise_colour,
    normalise_guid,
    read_qdc,
    split_description,
    validate,
    write_qdc,
)

# The official schemas and sample exports live beside the repository, never inside it.
REFI_QDA = Path(__file__).resolve().parents[2].parent / "shared" / "refi-qda"
CODEBOOK_XSD = REFI_QDA / "Codebook.xsd"
SAMPLES = REFI_QDA / "samples"

needs_schema = pytest.mark.skipif(
    not CODEBOOK_XSD.exists(),
    reason=f"the REFI-QDA schema is not at {CODEBOOK_XSD} (it is kept outside the repository)",
)
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(),
    reason=f"the REFI-QDA sample exports are not in {SAMPLES} (kept outside the repository)",
)

GUID_A = "6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60"
GUID_B = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
GUID_C = "11111111-2222-4333-8444-555555555555"
GUID_D = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
GUID_E = "12345678-9abc-4def-8123-456789abcdef"
GUID_SET = "99999999-8888-4777-8666-555555555555"

# A codebook written by the letter of Codebook.xsd, using every part of it: nested codes, a
# folder that cannot be coded, colours in both lengths, descriptions, a set of member codes.
SPEC_EXAMPLE = f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="{NAMESPACE}" origin="Example tool 1.0">
  <Codes>
    <Code guid="{GUID_A}" name="Terms of collaboration" isCodable="false" color="#1D5C8A">
      <Description>How the terms of working together are set.</Description>
      <Code guid="{GUID_B}" name="Generated" isCodable="true" color="#C33">
        <Description>Terms proposed for the first time.

Inclusion: a new rule or role is put forward.

Exclusion: restating a rule already agreed.

Example: "Shall we meet every month?"</Description>
      </Code>
      <Code guid="{GUID_C}" name="Affirmed" isCodable="true"/>
      <Code guid="{GUID_D}" name="Contested" isCodable="true"/>
    </Code>
    <Code guid="{GUID_E}" name="Protest" isCodable="true" color="#e6a700"/>
  </Codes>
  <Sets>
    <Set guid="{GUID_SET}" name="Meeting functions">
      <Description>What the meeting did.</Description>
      <MemberCode guid="{GUID_E}"/>
    </Set>
  </Sets>
</CodeBook>
""".encode()

SPEC_EXAMPLE_CODES = [
    QdcCode(
        guid=GUID_A,
        name="Terms of collaboration",
        is_codable=False,
        colour="#1d5c8a",
        definition="How the terms of working together are set.",
        children=[
            QdcCode(
                guid=GUID_B,
                name="Generated",
                colour="#cc3333",
                definition="Terms proposed for the first time.",
                inclusion="a new rule or role is put forward.",
                exclusion="restating a rule already agreed.",
                example='"Shall we meet every month?"',
            ),
            QdcCode(guid=GUID_C, name="Affirmed"),
            QdcCode(guid=GUID_D, name="Contested"),
        ],
    ),
    QdcCode(guid=GUID_E, name="Protest", colour="#e6a700"),
]


def codebook_xml(codes: str, *, namespace: bool = True, after_codes: str = "") -> bytes:
    xmlns = f' xmlns="{NAMESPACE}"' if namespace else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n'
        f"<CodeBook{xmlns}><Codes>{codes}</Codes>{after_codes}</CodeBook>"
    ).encode()


def read_one(attributes: str, content: str = "") -> tuple[QdcCode, list[str]]:
    """The single code of a codebook holding `<Code {attributes}>{content}</Code>`."""
    result = read_qdc(codebook_xml(f"<Code {attributes}>{content}</Code>"))
    [code] = result.codes
    return code, result.warnings


def refusal(data: bytes) -> str:
    with pytest.raises(QdcError) as caught:
        read_qdc(data)
    return str(caught.value)


def walk(codes: list[QdcCode]):
    for code in codes:
        yield code
        yield from walk(code.children)


def depth(codes: list[QdcCode]) -> int:
    return max((1 + depth(code.children) for code in codes), default=0)


# The spec's example --------------------------------------------------------------------------


@needs_schema
def test_spec_example_is_valid_against_codebook_xsd():
    assert validate(SPEC_EXAMPLE, CODEBOOK_XSD) == []


def test_read_qdc_reads_spec_example_into_fields_and_says_sets_are_not_imported():
    assert read_qdc(SPEC_EXAMPLE) == QdcCodebook(
        codes=SPEC_EXAMPLE_CODES,
        warnings=[
            'The file groups codes into 1 set ("Meeting functions"); Triangulate has no sets, '
            "so the grouping was not imported."
        ],
    )


# Writing -------------------------------------------------------------------------------------


def test_write_qdc_writes_pretty_utf8_with_declaration_namespace_and_origin():
    codes = [
        QdcCode(
            guid=GUID_A,
            name="Sense-making",
            is_codable=False,
            colour="#1D5C8A",
            definition="The meeting as a way to make sense of events.",
            children=[
                QdcCode(guid=GUID_B, name="Naming a problem", inclusion="a problem gets a name.")
            ],
        ),
        QdcCode(guid=GUID_C, name="Protest"),
    ]

    assert (
        write_qdc(codes)
        == (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<CodeBook xmlns="{NAMESPACE}" origin="Triangulate">\n'
            "  <Codes>\n"
            f'    <Code guid="{GUID_A}" name="Sense-making" isCodable="false" color="#1d5c8a">\n'
            "      <Description>The meeting as a way to make sense of events.</Description>\n"
            f'      <Code guid="{GUID_B}" name="Naming a problem" isCodable="true">\n'
            "        <Description>Inclusion: a problem gets a name.</Description>\n"
            "      </Code>\n"
            "    </Code>\n"
            f'    <Code guid="{GUID_C}" name="Protest" isCodable="true"/>\n'
            "  </Codes>\n"
            "</CodeBook>\n"
        ).encode()
    )


def test_write_qdc_without_origin_leaves_the_attribute_out():
    written = write_qdc([QdcCode(guid=GUID_A, name="Protest")], origin="")

    assert f'<CodeBook xmlns="{NAMESPACE}">'.encode() in written


@needs_schema
def test_write_qdc_output_validates_against_codebook_xsd():
    assert validate(write_qdc(SPEC_EXAMPLE_CODES), CODEBOOK_XSD) == []


def test_write_qdc_then_read_qdc_gives_the_same_codes_and_guids():
    result = read_qdc(write_qdc(SPEC_EXAMPLE_CODES))

    assert result == QdcCodebook(codes=SPEC_EXAMPLE_CODES, warnings=[])


def test_write_qdc_writes_guids_and_colours_in_canonical_form():
    code = QdcCode(guid=f" {{{GUID_A.upper()}}} ", name="Protest", colour="rgba(230, 167, 0, .4)")

    written = write_qdc([code])

    assert f'guid="{GUID_A}"'.encode() in written
    assert b'color="#e6a700"' in written


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        ([], "A REFI-QDA codebook needs at least one code."),
        ([QdcCode(guid="not-a-guid", name="Protest")], "'not-a-guid' is not a GUID."),
        ([QdcCode(guid=GUID_A, name="Protest", colour="blue")], "'blue' is not a colour."),
        (
            [QdcCode(guid=GUID_A, name="A", children=[QdcCode(guid=GUID_A.upper(), name="B")])],
            f"Two codes share the GUID {GUID_A}; each code needs its own.",
        ),
    ],
)
def test_write_qdc_refuses_what_the_schema_would_refuse(codes, message):
    with pytest.raises(ValueError) as caught:
        write_qdc(codes)

    assert str(caught.value) == message


def test_write_qdc_escapes_xml_special_characters_and_reads_them_back():
    code = QdcCode(
        guid=GUID_A,
        name="""Ward & "board" <rounds> 'n' more""",
        definition="When A < B & B > C, or a </Description> appears.",
        example="<Code guid='x'/> & &amp;",
    )

    written = write_qdc([code])

    assert b"name=\"Ward &amp; &quot;board&quot; &lt;rounds&gt; 'n' more\"" in written
    assert b"When A &lt; B &amp; B &gt; C, or a &lt;/Description&gt; appears." in written
    assert read_qdc(written).codes == [code]


def test_write_qdc_keeps_non_ascii_names_as_utf8_through_the_round_trip():
    codes = [
        QdcCode(
            guid=GUID_A,
            name="Zoë's 日本語 notes 🎉",
            definition="Café, naïve, 会議, 👩🏽‍⚕️",
            children=[QdcCode(guid=GUID_B, name="Ünïcödé ✓")],
        )
    ]

    written = write_qdc(codes)

    assert "Zoë's 日本語 notes 🎉".encode() in written
    assert b"&#" not in written
    assert read_qdc(written).codes == codes


def test_write_qdc_drops_characters_xml_cannot_carry():
    code = QdcCode(guid=GUID_A, name="Pro\x00test\x0b", definition="Line\x0cbreak\x1f")

    assert read_qdc(write_qdc([code])).codes == [
        QdcCode(guid=GUID_A, name="Protest", definition="Linebreak")
    ]


# Any code tree survives the round trip ---------------------------------------------------------

# Everything XML 1.0 can carry, plus the characters most likely to be mangled on the way.
xml_characters = st.characters(exclude_categories=("Cs", "Cc", "Cn")) | st.sampled_from(
    "\n\r\t&<>\"' "
)
names = st.text(xml_characters, min_size=1, max_size=20).map(str.strip).filter(bool)
colours = st.none() | st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)
# Fields are stored trimmed; "Inclusion:" and the like must not start a paragraph of one.
LABEL_START = re.compile(
    r"\s*(definition|(inclusion|exclusion)([ \t]+criteria)?|include|exclude|examples?)[ \t]*:",
    re.IGNORECASE | re.ASCII,
)
PARAGRAPH_BREAK = re.compile(r"\r?\n[ \t]*\r?\n")
fragments = st.sampled_from(
    [
        *["\n", "\n\n", "\n \n", "\r\n\r\n", "\n\n\n", " ", "\t", ":", "&<>\"'"],
        *["Inclusion", "Example:", "Exclusion criteria:", "include:", "Definition"],
        *["Zoë", "日本語", "🎉"],
    ]
)


def starts_a_field(text: str) -> bool:
    return any(LABEL_START.match(paragraph) for paragraph in PARAGRAPH_BREAK.split(text))


field_texts = (
    st.lists(fragments | st.text(xml_characters, max_size=8), max_size=10)
    .map("".join)
    .map(str.strip)
    .filter(lambda text: not starts_a_field(text))
)


def with_distinct_guids(codes: list[QdcCode]) -> list[QdcCode]:
    # Hypothesis likes to repeat values; a codebook must not.
    for number, code in enumerate(walk(codes), start=1):
        code.guid = str(uuid.UUID(int=number))
    return codes


code_trees = st.lists(
    st.recursive(
        st.builds(
            QdcCode,
            guid=st.just(""),
            name=names,
            is_codable=st.booleans(),
            colour=colours,
            definition=field_texts,
            inclusion=field_texts,
            exclusion=field_texts,
            example=field_texts,
            children=st.just([]),
        ),
        lambda children: st.builds(
            QdcCode,
            guid=st.just(""),
            name=names,
            is_codable=st.booleans(),
            colour=colours,
            children=st.lists(children, min_size=1, max_size=3),
        ),
        max_leaves=8,
    ),
    min_size=1,
    max_size=3,
).map(with_distinct_guids)


@settings(max_examples=150, deadline=None)
@given(codes=code_trees)
def test_write_qdc_then_read_qdc_gives_back_any_code_tree(codes):
    assert read_qdc(write_qdc(codes)) == QdcCodebook(codes=codes, warnings=[])


@needs_schema
@settings(max_examples=50, deadline=None)
@given(codes=code_trees)
def test_write_qdc_output_validates_for_any_code_tree(codes):
    assert validate(write_qdc(codes), CODEBOOK_XSD) == []


# Reading what real tools write -------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [GUID_A.upper(), f"{{{GUID_A}}}", f"{{{GUID_A.upper()}}}", f"  {GUID_A}\n"],
)
def test_read_qdc_normalises_uppercase_and_braced_guids_without_a_warning(written):
    code, warnings = read_one(f'guid="{written}" name="Protest" isCodable="true"')

    assert (code.guid, warnings) == (GUID_A, [])


@pytest.mark.parametrize(
    ("written", "colour"),
    [
        ("#E6A700", "#e6a700"),
        ("#e6a700", "#e6a700"),
        ("#C33", "#cc3333"),
        ("#E6A70080", "#e6a700"),
        ("#C338", "#cc3333"),
        ("rgb(230,167,0)", "#e6a700"),
        ("rgb( 230 , 167 , 0 )", "#e6a700"),
        ("RGBA(230, 167, 0, 0.5)", "#e6a700"),
        ("rgba(0, 0, 0, 50%)", "#000000"),
        ("  #FFFFFF  ", "#ffffff"),
        ("", None),
    ],
)
def test_read_qdc_normalises_colours_without_a_warning(written, colour):
    code, warnings = read_one(f'guid="{GUID_A}" name="Protest" isCodable="true" color="{written}"')

    assert (code.colour, warnings) == (colour, [])


def test_read_qdc_reads_a_code_without_colour_as_none_without_a_warning():
    code, warnings = read_one(f'guid="{GUID_A}" name="Protest" isCodable="true"')

    assert (code.colour, warnings) == (None, [])


@pytest.mark.parametrize("written", ["blue", "#12345", "rgb(256, 0, 0)", "#ggg"])
def test_read_qdc_leaves_out_an_unreadable_colour_with_a_warning(written):
    code, warnings = read_one(f'guid="{GUID_A}" name="Protest" isCodable="true" color="{written}"')

    assert code == QdcCode(guid=GUID_A, name="Protest")
    assert warnings == [
        f'Code "Protest": the colour "{written}" is not a colour we can read; it was left out.'
    ]


def test_read_qdc_ignores_an_empty_sets_element():
    data = codebook_xml(
        f'<Code guid="{GUID_A}" name="Protest" isCodable="true"/>', after_codes="<Sets/>"
    )

    assert read_qdc(data) == QdcCodebook(codes=[QdcCode(guid=GUID_A, name="Protest")], warnings=[])


def test_read_qdc_names_up_to_three_sets_it_does_not_import():
    sets = "".join(
        f'<Set guid="{uuid.UUID(int=number)}" name="Set {number}"/>' for number in range(1, 5)
    )
    data = codebook_xml(
        f'<Code guid="{GUID_A}" name="Protest" isCodable="true"/>',
        after_codes=f"<Sets>{sets}</Sets>",
    )

    assert read_qdc(data).warnings == [
        'The file groups codes into 4 sets ("Set 1", "Set 2", "Set 3", …); Triangulate has no '
        "sets, so the grouping was not imported."
    ]


def test_read_qdc_reads_a_file_without_namespace_and_says_so():
    data = codebook_xml(f'<Code guid="{GUID_A}" name="Protest" isCodable="true"/>', namespace=False)

    assert read_qdc(data) == QdcCodebook(
        codes=[QdcCode(guid=GUID_A, name="Protest")],
        warnings=["The file has no REFI-QDA namespace; read it anyway."],
    )


def test_read_qdc_reads_a_file_in_another_namespace_and_says_so():
    data = (
        '<CodeBook xmlns="urn:QDA-XML:project:1.0"><Codes>'
        f'<Code guid="{GUID_A}" name="Protest" isCodable="true"/>'
        "</Codes></CodeBook>"
    ).encode()

    assert read_qdc(data).warnings == [
        'The file uses the namespace "urn:QDA-XML:project:1.0" instead of the REFI-QDA codebook '
        "namespace; read it anyway."
    ]


def test_read_qdc_keeps_nested_folders_that_cannot_be_coded():
    data = codebook_xml(
        f'<Code guid="{GUID_A}" name="Functions" isCodable="false">'
        f'<Code guid="{GUID_B}" name="Social" isCodable="false">'
        f'<Code guid="{GUID_C}" name="Validating" isCodable="true"/>'
        "</Code></Code>"
    )

    assert read_qdc(data) == QdcCodebook(
        codes=[
            QdcCode(
                guid=GUID_A,
                name="Functions",
                is_codable=False,
                children=[
                    QdcCode(
                        guid=GUID_B,
                        name="Social",
                        is_codable=False,
                        children=[QdcCode(guid=GUID_C, name="Validating")],
                    )
                ],
            )
        ],
        warnings=[],
    )


@pytest.mark.parametrize(
    ("written", "is_codable"),
    [('isCodable="1"', True), ('isCodable="0"', False), ('isCodable=" FALSE "', False), ("", True)],
)
def test_read_qdc_reads_every_spelling_of_is_codable_without_a_warning(written, is_codable):
    code, warnings = read_one(f'guid="{GUID_A}" name="Protest" {written}')

    assert (code.is_codable, warnings) == (is_codable, [])


def test_read_qdc_keeps_a_code_with_unreadable_is_codable_codable_with_a_warning():
    code, warnings = read_one(f'guid="{GUID_A}" name="Protest" isCodable="maybe"')

    assert code.is_codable is True
    assert warnings == [
        'Code "Protest": isCodable is "maybe", neither true nor false; the code was kept codable.'
    ]


def test_read_qdc_gives_a_code_without_guid_a_new_one_with_a_warning():
    code, warnings = read_one('name="Protest" isCodable="true"')

    assert uuid.UUID(code.guid).version == 4
    assert warnings == ['Code "Protest" had no GUID; it was given a new one.']


def test_read_qdc_gives_a_code_with_an_unreadable_guid_a_new_one_with_a_warning():
    code, warnings = read_one('guid="code-17" name="Protest" isCodable="true"')

    assert uuid.UUID(code.guid).version == 4
    assert warnings == [
        'Code "Protest": the GUID "code-17" is not one we can read; it was given a new one.'
    ]


def test_read_qdc_gives_the_later_of_two_codes_with_one_guid_a_new_one_with_a_warning():
    data = codebook_xml(
        f'<Code guid="{GUID_A}" name="Functions" isCodable="false">'
        f'<Code guid="{GUID_B}" name="Protest" isCodable="true"/></Code>'
        f'<Code guid="{{{GUID_B.upper()}}}" name="Protest" isCodable="true"/>'
    )

    result = read_qdc(data)

    [functions, second] = result.codes
    assert functions.children[0].guid == GUID_B
    assert second.guid not in (GUID_A, GUID_B)
    assert uuid.UUID(second.guid).version == 4
    assert result.warnings == [
        f'Code "Protest": its GUID {GUID_B} is already used by code "Functions/Protest"; '
        "it was given a new one."
    ]


def test_read_qdc_calls_a_code_without_a_name_unnamed_and_keeps_its_children():
    data = codebook_xml(
        f'<Code guid="{GUID_A}" name="Functions" isCodable="false">'
        f'<Code guid="{GUID_B}" name="  " isCodable="true">'
        f'<Code guid="{GUID_C}" name="Protest" isCodable="true"/></Code></Code>'
        f'<Code guid="{GUID_D}" isCodable="true"/>'
    )

    result = read_qdc(data)

    assert result.codes == [
        QdcCode(
            guid=GUID_A,
            name="Functions",
            is_codable=False,
            children=[
                QdcCode(
                    guid=GUID_B, name="(unnamed)", children=[QdcCode(guid=GUID_C, name="Protest")]
                )
            ],
        ),
        QdcCode(guid=GUID_D, name="(unnamed)"),
    ]
    assert result.warnings == [
        'A code inside "Functions" had no name; it was called "(unnamed)".',
        'A code had no name; it was called "(unnamed)".',
    ]


def test_read_qdc_cuts_long_values_short_in_warnings():
    _, warnings = read_one(f'guid="{GUID_A}" name="Protest" isCodable="true" color="{"x" * 500}"')

    assert warnings == [
        f'Code "Protest": the colour "{"x" * 59}…" is not a colour we can read; it was left out.'
    ]


def test_read_qdc_trims_names_and_descriptions():
    code, warnings = read_one(
        f'guid="{GUID_A}" name="  Protest\t" isCodable="true"',
        "<Description>\n\n   Raising a grievance.  \n</Description>",
    )

    assert (code.name, code.definition, warnings) == ("Protest", "Raising a grievance.", [])


def test_read_qdc_splits_a_labelled_description_into_the_four_fields():
    code, _ = read_one(
        f'guid="{GUID_A}" name="Protest" isCodable="true"',
        "<Description>Raising a grievance.\n\nInclusion criteria: said aloud.\n\n"
        "EXCLUDE: grumbling afterwards.\n\nExamples: &quot;This is not fair.&quot;</Description>",
    )

    assert code == QdcCode(
        guid=GUID_A,
        name="Protest",
        definition="Raising a grievance.",
        inclusion="said aloud.",
        exclusion="grumbling afterwards.",
        example='"This is not fair."',
    )


def test_read_qdc_keeps_a_description_without_labels_as_the_definition():
    text = "Raising a grievance.\n\nIncludes complaints: loud or quiet.\nExample below:\n- one"
    code, _ = read_one(
        f'guid="{GUID_A}" name="Protest" isCodable="true"', f"<Description>{text}</Description>"
    )

    assert (code.definition, code.inclusion, code.exclusion, code.example) == (text, "", "", "")


def test_read_qdc_ignores_unknown_elements_comments_and_markup_in_descriptions():
    data = codebook_xml(
        "<!-- exported by hand -->"
        f'<Code guid="{GUID_A}" name="Protest" isCodable="true">'
        "<?vendor keep?>"
        "<Description>Raising a <b>grievance</b><!-- note -->.</Description>"
        f'<NoteRef targetGUID="{GUID_B}"/>'
        '<VendorColour xmlns="urn:example">blue</VendorColour>'
        "</Code>"
    )

    assert read_qdc(data) == QdcCodebook(
        codes=[QdcCode(guid=GUID_A, name="Protest", definition="Raising a grievance.")],
        warnings=[],
    )


def test_read_qdc_keeps_the_text_of_every_description_a_tool_wrote():
    code, _ = read_one(
        f'guid="{GUID_A}" name="Protest" isCodable="true"',
        "<Description>First.</Description><Description> </Description>"
        "<Description>Second.</Description>",
    )

    assert code.definition == "First.\n\nSecond."


@pytest.mark.parametrize(
    "data",
    [
        # UTF-16 with a byte order mark, as some Windows tools write.
        codebook_xml(f'<Code guid="{GUID_A}" name="Zoë" isCodable="true"/>')
        .replace(b"utf-8", b"utf-16")
        .decode()
        .encode("utf-16"),
        # UTF-8 with a byte order mark and no declaration.
        b"\xef\xbb\xbf"
        + f'<CodeBook xmlns="{NAMESPACE}"><Codes>'
        f'<Code guid="{GUID_A}" name="Zoë" isCodable="true"/></Codes></CodeBook>'.encode(),
    ],
    ids=["utf-16", "utf-8-bom"],
)
def test_read_qdc_reads_the_encodings_tools_write(data):
    assert read_qdc(data).codes == [QdcCode(guid=GUID_A, name="Zoë")]


def test_read_qdc_says_when_there_are_no_codes():
    assert read_qdc(codebook_xml("")) == QdcCodebook(
        codes=[], warnings=["The file holds no codes."]
    )
    assert read_qdc(f'<CodeBook xmlns="{NAMESPACE}"/>'.encode()).warnings == [
        "The file holds no codes."
    ]


def test_read_qdc_does_not_fetch_an_external_dtd():
    data = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE CodeBook SYSTEM "http://192.0.2.1/codebook.dtd">\n'
        f'<CodeBook xmlns="{NAMESPACE}"><Codes>'
        f'<Code guid="{GUID_A}" name="Protest" isCodable="true"/></Codes></CodeBook>'
    ).encode()

    started = time.monotonic()
    assert read_qdc(data).codes == [QdcCode(guid=GUID_A, name="Protest")]
    assert time.monotonic() - started < 1


# Files that cannot be read ---------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \n\t"])
def test_read_qdc_refuses_an_empty_file(data):
    assert refusal(data) == "The file is empty."


def test_read_qdc_refuses_invalid_xml_with_the_parsers_reason_and_line():
    data = codebook_xml(f'<Code guid="{GUID_A}" name="Protest" isCodable="true">\n\n</Codes>')

    message = refusal(data)

    assert re.fullmatch(
        r"The file is not valid XML: Opening and ending tag mismatch: Code line 2 and Codes, "
        r"line 4, column \d+\.",
        message,
    ), message


def test_read_qdc_refuses_a_file_that_is_not_xml():
    assert refusal(b"Protest, Sense-making\n").startswith("The file is not valid XML: ")


def test_read_qdc_refuses_another_root_element():
    data = b'<Project xmlns="urn:QDA-XML:project:1.0" name="Ward study"/>'

    assert refusal(data) == (
        "This is not a REFI-QDA codebook: its root element is <Project>, expected <CodeBook>."
    )


def test_read_qdc_refuses_a_file_over_20_mb_before_reading_it():
    data = codebook_xml("") + b" " * (MAX_BYTES + 1 - len(codebook_xml("")))

    assert refusal(data) == "The codebook file is larger than 20 MB."


def entity_attack(declarations: str, name: str = "Protest", description: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE CodeBook [{declarations}]>\n'
        f'<CodeBook xmlns="{NAMESPACE}"><Codes>'
        f'<Code guid="{GUID_A}" name="{name}" isCodable="true">'
        f"<Description>{description}</Description></Code></Codes></CodeBook>"
    ).encode()


LAUGHS = '<!ENTITY lol0 "lol">' + "".join(
    f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
)
BIG = f'<!ENTITY big "{"x" * 100_000}">'


@pytest.mark.parametrize(
    "data",
    [
        entity_attack(LAUGHS, description="&lol9;"),
        entity_attack(LAUGHS, name="&lol9;"),
        entity_attack(BIG, description="&big;" * 10_000),
        entity_attack(BIG, name="&big;" * 1_000),
        entity_attack('<!ENTITY secret SYSTEM "file:///etc/passwd">', description="&secret;"),
        entity_attack('<!ENTITY secret SYSTEM "file:///etc/passwd">', name="&secret;"),
        entity_attack('<!ENTITY org "Ward study">', description="&org;"),
    ],
    ids=[
        "laughs-in-text",
        "laughs-in-attribute",
        "quadratic-in-text",
        "quadratic-in-attribute",
        "external-in-text",
        "external-in-attribute",
        "harmless-looking",
    ],
)
def test_read_qdc_refuses_files_that_declare_entities_without_expanding_them(data):
    started = time.monotonic()

    assert refusal(data) == (
        "The file declares XML entities, which REFI-QDA codebooks never use; "
        "it was not read, to be safe."
    )
    assert time.monotonic() - started < 1


# Real exports ------------------------------------------------------------------------------------


def sample_project(name: str) -> bytes:
    with zipfile.ZipFile(SAMPLES / name) as archive:
        return archive.read("project.qde")


def sample_codes(name: str) -> tuple[list[QdcCode], list[str]]:
    project = etree.fromstring(sample_project(name))
    [codebook] = project.iter("{urn:QDA-XML:project:1.0}CodeBook")
    warnings: list[str] = []
    return codes_from_element(codebook, warnings), warnings


@needs_samples
def test_codes_from_element_reads_the_atlas_ti_sample_with_its_uppercase_guids():
    codes, warnings = sample_codes("atlasti-nested-codes.qdpx")

    assert codes == [
        QdcCode(
            guid="a182cd3a-d83c-4d8c-bc80-26d9103ec6d6",
            name="Commits",
            children=[
                QdcCode(
                    guid="2d2466f0-d77f-4f8c-bdf9-628966b6b74d",
                    name="2022-05-10T02:05:59Z 19e4dce",
                ),
                QdcCode(
                    guid="086ac733-7b1c-4749-a138-d7182f63a5c9",
                    name="2022-02-11T10:39:25Z cdbfd92",
                ),
            ],
        )
    ]
    assert warnings == []


@needs_samples
def test_codes_from_element_reads_the_qualcoder_sample_with_repeated_names():
    codes, warnings = sample_codes("qc-demo-158-selections.qdpx")

    every = list(walk(codes))
    assert [code.name for code in codes] == [
        "rq1_definition",
        "rq2_curriculum_and_instruction",
        "rq3_process",
    ]
    assert len(every) == 262
    assert depth(codes) == 7
    assert len({code.guid for code in every}) == 262
    assert [code.name for code in every].count("citizenship") == 3
    assert [code.name for code in codes[0].children][:3] == [
        "competencies",
        "concepts",
        "defining_education",
    ]
    assert codes[0].children[0].children[0] == QdcCode(
        guid="36636563-3863-6264-3638-303637613863", name="programming"
    )
    assert all(code.is_codable and code.colour is None and not code.definition for code in every)
    assert warnings == []


@needs_samples
@pytest.mark.parametrize("name", ["atlasti-nested-codes.qdpx", "qc-demo-158-selections.qdpx"])
def test_codes_from_element_takes_the_project_the_codebook_or_the_codes(name):
    project = etree.fromstring(sample_project(name))
    [codebook] = project.iter("{urn:QDA-XML:project:1.0}CodeBook")
    [codes_element] = codebook

    read = [codes_from_element(element, []) for element in (project, codebook, codes_element)]

    assert read[0] == read[1] == read[2] != []


@needs_samples
@needs_schema
@pytest.mark.parametrize("name", ["atlasti-nested-codes.qdpx", "qc-demo-158-selections.qdpx"])
def test_write_qdc_turns_each_sample_into_a_valid_codebook_that_reads_back_the_same(name):
    codes, _ = sample_codes(name)

    written = write_qdc(codes)

    assert validate(written, CODEBOOK_XSD) == []
    assert read_qdc(written) == QdcCodebook(codes=codes, warnings=[])


@needs_samples
def test_read_qdc_refuses_a_whole_project_from_a_sample():
    assert refusal(sample_project("atlasti-nested-codes.qdpx")) == (
        "This is not a REFI-QDA codebook: its root element is <Project>, expected <CodeBook>."
    )


# Validation --------------------------------------------------------------------------------------


@needs_schema
@pytest.mark.parametrize(
    ("codes", "after_codes", "reason"),
    [
        (
            f'<Code guid="{GUID_A}" name="Protest" isCodable="true"/>',
            "<Sets/>",
            "Element '{urn:QDA-XML:codebook:1.0}Sets': Missing child element(s).",
        ),
        (
            f'<Code guid="{GUID_A}" name="Protest"/>',
            "",
            "The attribute 'isCodable' is required but missing.",
        ),
        (
            f'<Code guid="{GUID_A}" name="Protest" isCodable="true" color="rgb(1,2,3)"/>',
            "",
            "The value 'rgb(1,2,3)' is not accepted by the pattern "
            "'#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})'.",
        ),
    ],
    ids=["empty-sets", "no-is-codable", "css-colour"],
)
def test_validate_lists_what_the_schema_refuses(codes, after_codes, reason):
    # The wording is libxml2's; only the part that names the rule is checked.
    [error] = validate(codebook_xml(codes, after_codes=after_codes), CODEBOOK_XSD)

    assert error.startswith("line 2: ")
    assert reason in error


@needs_schema
def test_validate_reports_a_file_that_is_not_xml():
    [error] = validate(b"<CodeBook>", CODEBOOK_XSD)

    assert error.startswith("The file is not valid XML: ")
    assert error.endswith("line 1, column 11.")


# Values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60",
        "6F1C2A4E-8B1D-4C3E-9F2A-1B2C3D4E5F60",
        "{6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60}",
        " \t{6F1C2A4E-8B1D-4C3E-9F2A-1B2C3D4E5F60}\n",
    ],
)
def test_normalise_guid_accepts_case_braces_and_whitespace(text):
    assert normalise_guid(text) == "6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60"


def test_normalise_guid_accepts_guids_of_no_uuid_version_as_the_schema_does():
    assert normalise_guid("34653336-3766-3235-6466-363134396437") == (
        "34653336-3766-3235-6466-363134396437"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "code-17",
        "6f1c2a4e8b1d4c3e9f2a1b2c3d4e5f60",
        "{6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60",
        "6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f6g",
        "6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60-0",
        "urn:uuid:6f1c2a4e-8b1d-4c3e-9f2a-1b2c3d4e5f60",
        None,
    ],
)
def test_normalise_guid_refuses_anything_else(text):
    with pytest.raises(ValueError):
        normalise_guid(text)


@pytest.mark.parametrize(
    ("text", "colour"),
    [
        ("#1D5C8A", "#1d5c8a"),
        ("#abc", "#aabbcc"),
        ("#1D5C8AFF", "#1d5c8a"),
        ("#abcd", "#aabbcc"),
        ("rgb(29, 92, 138)", "#1d5c8a"),
        ("rgba(29,92,138,0.25)", "#1d5c8a"),
        ("rgba(255, 255, 255, 1)", "#ffffff"),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_normalise_colour_reads_hex_and_css_forms(text, colour):
    assert normalise_colour(text) == colour


@pytest.mark.parametrize(
    "text",
    ["blue", "1d5c8a", "#1d5c8", "#1d5c8a0", "#xyz", "rgb(256, 0, 0)", "rgb(1, 2)", "rgb(١,2,3)"],
)
def test_normalise_colour_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        normalise_colour(text)


# Descriptions ------------------------------------------------------------------------------------


def test_compose_description_writes_the_definition_then_labelled_paragraphs():
    assert compose_description(
        definition=" Raising a grievance. ",
        inclusion="said aloud.\n\nin writing.",
        exclusion="",
        example='"This is not fair."',
    ) == (
        "Raising a grievance.\n\n"
        "Inclusion: said aloud.\n\nin writing.\n\n"
        'Example: "This is not fair."'
    )


def test_compose_description_of_empty_fields_is_empty():
    assert compose_description("", " ", "\n", "") == ""


def test_compose_description_without_definition_starts_with_a_label():
    assert compose_description("", "", "grumbling.", "") == "Exclusion: grumbling."


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("Inclusion: a", {"inclusion": "a"}),
        ("include: a", {"inclusion": "a"}),
        ("INCLUSION CRITERIA: a", {"inclusion": "a"}),
        ("Exclusion: a", {"exclusion": "a"}),
        ("Exclude: a", {"exclusion": "a"}),
        ("Exclusion criteria : a", {"exclusion": "a"}),
        ("Example: a", {"example": "a"}),
        ("examples: a", {"example": "a"}),
        ("Definition: a", {"definition": "a"}),
        ("Def\n \nInclusion:\n\na\n\nb", {"definition": "Def", "inclusion": "a\n\nb"}),
        ("Def\r\n\r\nExample: a\r\nb", {"definition": "Def", "example": "a\r\nb"}),
        ("Example: a\n\nExample: b", {"example": "a\n\nb"}),
        ("Def\n\n\nExclusion: a", {"definition": "Def", "exclusion": "a"}),
    ],
)
def test_split_description_reads_every_label_at_the_start_of_a_paragraph(text, fields):
    assert split_description(text) == {
        "definition": "",
        "inclusion": "",
        "exclusion": "",
        "example": "",
        **fields,
    }


@pytest.mark.parametrize(
    "text",
    [
        "Raising a grievance.",
        "Raising a grievance.\nInclusion: on the next line, not a new paragraph.",
        "Inclusions are many: loud, quiet.",
        "See Example: below.",
        "Exampleſ: a long s is not an s.",
        "",
    ],
)
def test_split_description_keeps_text_without_labels_as_the_definition(text):
    assert split_description(text) == {
        "definition": text,
        "inclusion": "",
        "exclusion": "",
        "example": "",
    }


@given(definition=field_texts, inclusion=field_texts, exclusion=field_texts, example=field_texts)
def test_split_description_reverses_compose_description(definition, inclusion, exclusion, example):
    fields = {
        "definition": definition,
        "inclusion": inclusion,
        "exclusion": exclusion,
        "example": example,
    }
    assume(any(fields.values()))

    assert split_description(compose_description(**fields)) == fields
