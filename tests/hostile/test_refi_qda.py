"""REFI-QDA archives that are damaged, forged or just odd, read and imported.

`read_qdpx` either gives a `QdeProject` or raises `QdeError` with a sentence. Whatever it reads,
`import_qde` either makes a project whose every excerpt lies inside its fieldnote's text, or
raises `QdeError` with a sentence and leaves no row behind.
"""

import functools
import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from coding.models import Code, Excerpt, ExcerptCode
from exchange.project_import import import_qde
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
from exchange.qdpx import NAMESPACE, read_qdpx, write_qdpx
from fieldnotes.models import Fieldnote
from projects.models import Membership, Project
from tests.factories import UserFactory
from tests.fieldnotes.samples import replace_member

from .conftest import assert_sentence, hostile
from .test_parsers import _mutate, edit_lists

User = get_user_model()
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "refi-qda" / "samples"
SAMPLE_NAMES = ["atlasti-nested-codes.qdpx", "qc-demo-158-selections.qdpx"]
COUNTED = (Project, Membership, User, Fieldnote, Excerpt, ExcerptCode, Code)


def guid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


ANN, POWER, VOICE, TRUST, SOURCE_A, SOURCE_B, NOTE = (guid(n) for n in range(1, 8))
TEXT_A = "Ann: We decide\n\U0001f642 together, cafe\u0301.\nEnd."
TEXT_B = "Zoë wrote: “agenda item 3” was skipped.\n"


def _selection(n: int, start: int, end: int, *codes: str) -> QdeSelection:
    return QdeSelection(
        guid=guid(100 + n),
        start=start,
        end=end,
        creating_user=ANN,
        codings=[QdeCoding(guid=guid(200 + 10 * n + i), code_guid=c) for i, c in enumerate(codes)],
    )


@functools.cache
def small_export() -> bytes:
    """A small .qdpx of our own: nested codes, two sources, selections, a note."""
    project = QdeProject(
        name="Ward interviews",
        origin="NVivo 14",
        users=[QdeUser(ANN, "Ann Lee")],
        codes=[
            QdeCode(POWER, "Power", colour="#ff0000", children=[QdeCode(VOICE, "Voice")]),
            QdeCode(TRUST, "Trust"),
        ],
        sources=[
            QdeSource(
                guid=SOURCE_A,
                name="Interview 1",
                text=TEXT_A,
                selections=[
                    _selection(1, 5, 14, POWER),
                    _selection(2, 19, 27, VOICE, TRUST),
                    _selection(3, 34, 37, TRUST),
                ],
            ),
            QdeSource(
                guid=SOURCE_B,
                name="Notes",
                text=TEXT_B,
                selections=[_selection(4, 0, 3, VOICE)],
                note_refs=[NOTE],
            ),
        ],
        notes=[QdeNote(NOTE, "Memo", "About Zoë.")],
    )
    out = io.BytesIO()
    write_qdpx(project, out)
    return out.getvalue()


@functools.cache
def sample(name: str) -> bytes:
    if name == "small":
        return small_export()
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"the REFI-QDA sample {name} is not in {SAMPLES} (kept outside the repository)")
    return path.read_bytes()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def read_and_import(data: bytes, user) -> None:
    """Read and import `data`, failing unless each step ends in one of its allowed outcomes."""
    try:
        qde = read_qdpx(data)
    except QdeError as error:
        assert_sentence(str(error), data[:100])
        return
    for warning in qde.warnings:
        assert_sentence(warning)
    with transaction.atomic():
        before = counts()
        try:
            record = import_qde(qde, user=user, source_name="hostile.qdpx")
        except QdeError as error:
            assert_sentence(str(error))
            assert counts() == before, f"rows left behind after {error}"
        else:
            excerpts = Excerpt.objects.filter(fieldnote__meeting__project=record.project)
            for excerpt in excerpts.select_related("fieldnote"):
                text = excerpt.fieldnote.text
                assert 0 <= excerpt.start < excerpt.end <= len(text), (excerpt.pk, len(text))
                assert excerpt.excerpt_codes.exists(), excerpt.pk
            for sentence in [*record.report["skipped"], *record.report["warnings"]]:
                assert_sentence(sentence)
        # Each example starts from the same empty database.
        transaction.set_rollback(True)


@pytest.fixture
def importer(db):
    return UserFactory(username="pat")


def test_the_unchanged_archives_import(importer):
    for name in ["small", *SAMPLE_NAMES]:
        qde = read_qdpx(sample(name))
        record = import_qde(qde, user=importer, source_name=name)
        assert record.project.memberships.filter(user=importer).exists(), name


@hostile(40)
@given(
    data=st.binary(max_size=2048) | st.binary(max_size=64).map(lambda tail: b"PK\x03\x04" + tail)
)
def test_random_bytes(importer, data):
    read_and_import(data, importer)


@hostile(40)
@given(name=st.sampled_from(["small", *SAMPLE_NAMES]), edits=edit_lists)
def test_mutated_archives(importer, name, edits):
    read_and_import(_mutate(sample(name), edits), importer)


@hostile(40)
@given(name=st.sampled_from(["small", *SAMPLE_NAMES]), edits=edit_lists)
def test_archives_with_corrupted_project_file(importer, name, edits):
    data = sample(name)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        project = archive.read("project.qde")
    read_and_import(replace_member(data, "project.qde", _mutate(project, edits)), importer)


@hostile(25)
@given(name=st.sampled_from(["small", *SAMPLE_NAMES]), cut=st.integers(min_value=0))
def test_truncated_archives(importer, name, cut):
    data = sample(name)
    read_and_import(data[: cut % len(data)], importer)


# Attribute values that a reader must not trust; XML cannot carry control characters at all.
XML_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
    max_size=40,
)
POSITIONS = (
    st.integers(min_value=-(10**30), max_value=10**30).map(str)
    | st.integers(min_value=-3, max_value=80).map(str)
    | st.sampled_from(["", " ", "1.5", "1e3", "0x10", "NaN", "-0", "+7", " 12 ", "٣", "１２"])
    | XML_TEXT
)
GUIDS = (
    st.sampled_from(
        [guid(999), "", "not-a-guid", "{" + POWER.upper() + "}", POWER, VOICE, SOURCE_A, NOTE, ANN]
    )
    | XML_TEXT
)


def _elements(root, local_name):
    return [element for element in root.iter(f"{{{NAMESPACE}}}{local_name}")]


def _apply(root, operation) -> None:
    kind, index, value = operation
    if kind == "position":
        selections = _elements(root, "PlainTextSelection")
        if selections:
            element = selections[index % len(selections)]
            element.set("startPosition" if index % 2 else "endPosition", value)
    elif kind == "swap":
        for element in _elements(root, "PlainTextSelection")[index % 3 :: 2]:
            start, end = element.get("startPosition"), element.get("endPosition")
            element.set("startPosition", end)
            element.set("endPosition", start)
    elif kind == "code_ref":
        refs = _elements(root, "CodeRef")
        if refs:
            refs[index % len(refs)].set("targetGUID", value)
    elif kind == "guid":
        owners = [element for element in root.iter() if element.get("guid") is not None]
        if owners:
            owners[index % len(owners)].set("guid", value)
    elif kind == "duplicate_guid":
        owners = [element for element in root.iter() if element.get("guid") is not None]
        if len(owners) > 1:
            source = owners[index % len(owners)]
            target = owners[(index + 1 + len(value)) % len(owners)]
            target.set("guid", source.get("guid"))
    elif kind == "attribute":
        elements = list(root.iter())
        element = elements[index % len(elements)]
        names = [*element.keys(), "name", "isCodable", "color", "plainTextPath", "origin"]
        element.set(names[index % len(names)], value)
    elif kind == "remove":
        elements = list(root.iter())[1:]
        if elements:
            element = elements[index % len(elements)]
            element.getparent().remove(element)
    elif kind == "nest":
        codes = _elements(root, "Code")
        parent = codes[index % len(codes)] if codes else root
        for depth in range(index % 300):
            parent = etree.SubElement(
                parent, f"{{{NAMESPACE}}}Code", guid=guid(5000 + depth), name=value[:20] or "x"
            )


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "position",
                "swap",
                "code_ref",
                "guid",
                "duplicate_guid",
                "attribute",
                "remove",
                "nest",
            ]
        ),
        st.integers(min_value=0, max_value=10_000),
        POSITIONS | GUIDS,
    ),
    min_size=1,
    max_size=6,
)


@hostile(30)
@given(name=st.sampled_from(["small", *SAMPLE_NAMES]), operations=OPERATIONS)
def test_archives_with_forged_attributes(importer, name, operations):
    data = sample(name)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = etree.fromstring(archive.read("project.qde"))
    for operation in operations:
        _apply(root, operation)
    forged = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    read_and_import(replace_member(data, "project.qde", forged), importer)


@hostile(25)
@given(
    text=st.text(max_size=60) | st.binary(max_size=60),
    which=st.sampled_from([SOURCE_A, SOURCE_B]),
)
def test_archives_whose_source_text_changed_under_the_selections(importer, text, which):
    data = small_export()
    content = text if isinstance(text, bytes) else text.encode("utf-8")
    read_and_import(replace_member(data, f"sources/{which}.txt", content), importer)
