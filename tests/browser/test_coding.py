"""Coding in Chromium: select text (across an emoji), apply codes by click and by shortcut,
overlap two excerpts, move a boundary, delete and undo, and check the stored offsets."""

import re
import sqlite3

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.browser

NOTE = (
    '09:30 Grace said 🙂 "We are not here to be marked." Café talk followed.\n\n'
    "10:15 Tony asked where the patients were. Nobody answered for a while."
)


def _stored(demo_server, sql, *args):
    with sqlite3.connect(demo_server["var"] / "triangulate.sqlite3") as db:
        return db.execute(sql, args).fetchall()


def _make_fieldnote(page, base):
    page.goto(base + "/projects/1/meetings/1/upload/")
    page.get_by_label("Or paste the text").fill(NOTE)
    page.get_by_label("Title of the pasted text").fill("Emoji notes")
    page.get_by_role("button", name="Read and preview").click()
    page.get_by_role("button", name=re.compile("^Save 1 fieldnote")).click()
    page.get_by_role("link", name="Emoji notes").click()
    page.get_by_role("link", name="Code this fieldnote").click()
    page.wait_for_load_state("load")
    return int(re.search(r"/fieldnotes/(\d+)/code/", page.url).group(1))


def _select(page, needle):
    start = NOTE.index(needle)
    page.evaluate("([s, e]) => window.triangulateSelect(s, e)", [start, start + len(needle)])
    return start, start + len(needle)


def test_coder_codes_overlaps_moves_a_boundary_and_undoes_a_delete(page, demo_server):
    base = demo_server["url"]
    log_in(page, base, "amira")
    fieldnote = _make_fieldnote(page, base)
    text = page.locator("#fieldnote-text")

    # By click, across the emoji: the page's offsets are code points, as the server stores them.
    start, end = _select(page, 'said 🙂 "We are not')
    assert page.evaluate("window.triangulateSelection()")["start"] == start
    assert page.evaluate("window.triangulateSelection()")["end"] == end
    page.locator("#code-choices").get_by_label("Protest").check()
    page.get_by_role("button", name="Apply to the selection").click()
    page.locator("#excerpt-list li").first.wait_for()
    rows = _stored(
        demo_server,
        "select e.start, e.end, c.name from coding_excerpt e"
        " join coding_excerptcode ec on ec.excerpt_id = e.id"
        " join coding_code c on c.id = ec.code_id where e.fieldnote_id = ?",
        fieldnote,
    )
    assert rows == [(start, end, "Protest")]
    assert NOTE[start:end] == 'said 🙂 "We are not'

    # By shortcut (4 is Protest, 5 Resolution), overlapping the first excerpt.
    start2, end2 = _select(page, "not here to be marked")
    text.focus()
    page.evaluate("([s, e]) => window.triangulateSelect(s, e)", [start2, end2])
    page.keyboard.press("5")
    page.locator("#excerpt-list li").nth(1).wait_for()
    stored = sorted(
        _stored(
            demo_server, "select start, end from coding_excerpt where fieldnote_id = ?", fieldnote
        )
    )
    assert stored == [(start, end), (start2, end2)]
    ids = _stored(
        demo_server,
        "select id from coding_excerpt where fieldnote_id = ? order by start",
        fieldnote,
    )
    overlap = text.locator(f'.x[data-x="{ids[0][0]} {ids[1][0]}"]')
    assert overlap.inner_text() == "not"
    assert "".join(text.all_inner_texts()).replace("\n", "") == NOTE.replace("\n", "")

    # Move the second excerpt's end one word later.
    page.locator("#excerpt-list li").nth(1).get_by_role("button").click()
    page.get_by_role("button", name="End one word later").click()
    new_end = start2 + len('not here to be marked."')
    page.get_by_text(f"Boundaries ({start2}–{new_end})").wait_for()
    stored_end = _stored(
        demo_server,
        "select end from coding_excerpt where start = ? and fieldnote_id = ?",
        start2,
        fieldnote,
    )
    assert stored_end == [(new_end,)]

    # Delete it, then undo.
    page.get_by_role("button", name="Delete excerpt").click()
    page.get_by_role("button", name="Undo").wait_for()
    assert (
        len(_stored(demo_server, "select id from coding_excerpt where fieldnote_id = ?", fieldnote))
        == 1
    )
    page.get_by_role("button", name="Undo").click()
    page.locator("#excerpt-list li").nth(1).wait_for()
    assert sorted(
        _stored(
            demo_server, "select start, end from coding_excerpt where fieldnote_id = ?", fieldnote
        )
    ) == [
        (start, end),
        (start2, new_end),
    ]
    # The page's text still equals the stored text, run by run.
    runs = page.evaluate(
        "Array.from(document.querySelectorAll('#fieldnote-text > span'))"
        ".map(r => [Number(r.dataset.s), r.textContent])"
    )
    assert "".join(chunk for _, chunk in runs) == NOTE
    position = 0
    for start_of_run, chunk in runs:
        assert start_of_run == position
        position += len(chunk)
    # Labels in the margin, level with their passages.
    page.locator("#margin-labels .mlabel").nth(1).wait_for()
    assert page.locator("#margin-labels .mlabel").count() == 2

    # Keyboard only: find a passage by typing, tick a code with the space bar, apply with Enter.
    page.get_by_label("Select by typing a passage").fill("Nobody answered")
    page.keyboard.press("Enter")
    begin = NOTE.index("Nobody answered")
    assert page.evaluate("window.triangulateSelection()")["start"] == begin
    page.locator("#code-choices").get_by_label("Resolution").focus()
    page.keyboard.press("Space")
    apply = page.get_by_role("button", name="Apply to the selection")
    # The button is enabled once the page has seen both the selection and the ticked code; a
    # disabled button cannot take focus, so wait for it rather than race it.
    expect(apply).to_be_enabled()
    apply.focus()
    page.keyboard.press("Enter")
    page.locator("#excerpt-list li").nth(2).wait_for()
    assert (begin, begin + len("Nobody answered")) in _stored(
        demo_server, "select start, end from coding_excerpt where fieldnote_id = ?", fieldnote
    )
    assert page.console_errors == []
