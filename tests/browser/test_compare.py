"""Comparing the observers of the demo meeting in Chromium: the timeline's lanes and marks, a
matrix cell followed to its excerpts, and the page on a phone."""

import re

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser

DEMO_OBSERVERS = [
    "Amira Haddad",
    "Ben Carter",
    "Chloe Nkemelu",
    "Margaret Hughes",
    "Sam Whitfield",
    "Tony Reilly",
]


def _open_comparison(page, base):
    log_in(page, base, "priya")
    page.get_by_role("link", name="Learning Together").click()
    page.get_by_role("link", name="Learning Community Event 3").first.click()
    page.get_by_role("link", name="Compare observers").click()
    page.get_by_role("heading", name="Compare observers", level=1).wait_for()


def test_pi_compares_observers_and_follows_a_matrix_cell(page, demo_server):
    base = demo_server["url"]
    _open_comparison(page, base)

    # One lane per observer of the demo meeting (other browser tests may add notes to it).
    lanes = page.locator("svg.tri-timeline text.tri-lane-name").all_text_contents()
    assert [name for name in lanes if name in DEMO_OBSERVERS] == DEMO_OBSERVERS
    # All six notes are coded, so every lane has marks; focus shows what a mark is.
    marks = page.locator("svg.tri-timeline a.tri-mark")
    assert marks.count() >= 140
    first = marks.first
    tip = first.locator("text.tri-tip")
    assert not tip.is_visible()
    first.focus()
    assert tip.is_visible()
    assert re.match(r"Day 1 \d\d:\d\d · Amira Haddad · ", tip.text_content())
    assert re.search(r"/fieldnotes/\d+/code/#excerpt-\d+$", first.get_attribute("href"))

    # The matrix is a table; a cell leads to the excerpts behind it.
    table = page.get_by_role("table", name=re.compile("^Excerpts per code and observer"))
    cell = table.get_by_role(
        "link", name=re.compile(r"^\d+ excerpts? of Protest by Chloe Nkemelu$")
    )
    count = int(cell.inner_text().split()[0])
    cell.click()
    page.get_by_role("heading", name="Protest in Chloe Nkemelu’s notes", level=1).wait_for()
    excerpts = page.locator("ol.tri-excerpts > li")
    assert excerpts.count() == count
    assert page.get_by_text(
        'At 2.20pm Grace Okafor stood up and said, firmly and not loudly, "We are not here to be '
        'marked."'
    ).first.is_visible()
    # An excerpt leads into its fieldnote's coding page, where the excerpt is listed.
    excerpts.first.get_by_role("link", name=re.compile("^Open in the fieldnote")).click()
    page.wait_for_url(re.compile(r"/fieldnotes/\d+/code/#excerpt-\d+$"))
    anchor = page.url.rsplit("#", 1)[1]
    assert page.locator(f"#{anchor}").count() == 1
    assert page.console_errors == []


def test_comparison_fits_a_phone(browser, demo_server):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    try:
        _open_comparison(page, demo_server["url"])
        # The page itself does not scroll sideways; the timeline and the table do, inside their
        # own containers.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        wrap = page.locator(".tri-timeline-wrap")
        assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
        table_wrap = page.locator(".tri-table-wrap").first
        assert table_wrap.evaluate("el => el.scrollWidth > el.clientWidth")
        # A window size chosen in the form reloads the results without leaving the page.
        page.get_by_label("Time windows").select_option("agenda")
        page.get_by_text("Per agenda-item window").wait_for()
        assert "window=agenda" in page.url
        assert errors == []
    finally:
        context.close()
