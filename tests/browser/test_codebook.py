"""Editing the codebook in Chromium, by keyboard: add, edit in place, merge and archive."""

import re

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_pi_creates_edits_merges_and_archives_codes_by_keyboard(page, demo_server):
    base = demo_server["url"]
    log_in(page, base, "priya")
    page.goto(base + "/projects/1/codebook/")

    # Add: open the form from its summary with Enter, fill it, choose a colour with the space bar.
    summary = page.locator("#add-code summary")
    summary.focus()
    page.keyboard.press("Enter")
    page.get_by_label("Name").fill("Silence")
    page.get_by_label("Definition").fill("Nobody speaks for a noticeable moment.")
    page.locator("#add-code").get_by_label("#8e3b8e").focus()
    page.keyboard.press("Space")
    page.get_by_label("Keyboard shortcut").fill("9")
    page.get_by_role("button", name="Add code").focus()
    page.keyboard.press("Enter")
    entry = page.locator(
        "section.code-entry", has=page.get_by_role("heading", name=re.compile("^Silence"))
    )
    entry.wait_for()
    assert "Nobody speaks for a noticeable moment." in entry.inner_text()
    assert entry.locator("kbd").inner_text() == "9"
    assert entry.locator("svg rect").get_attribute("fill") == "#8e3b8e"

    # Edit in place: Enter on the link swaps the entry for its form, and back.
    entry.get_by_role("link", name="Edit Silence").focus()
    page.keyboard.press("Enter")
    definition = page.locator("section.editing").get_by_label("Definition")
    definition.fill("Nobody speaks for more than a few seconds.")
    page.locator("section.editing").get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    # The form gives way to the entry: wait for the swap rather than for the text, which the
    # form itself shows until the answer arrives.
    page.locator("section.editing").wait_for(state="detached")
    page.get_by_text("Nobody speaks for more than a few seconds.").wait_for()

    # Merge: preview first, then confirm.
    page.get_by_role("link", name="Merge Silence into…").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Merge into").select_option(label="What the meeting does/Protest")
    page.get_by_role("button", name="Show what would change").click()
    page.get_by_text("Moves 0 excerpts; 0 already carry both.").wait_for()
    page.get_by_role("button", name="Merge", exact=True).click()
    page.get_by_text(
        "Merged Silence into Protest: moved 0 excerpts; 0 already carried both."
    ).wait_for()
    assert page.get_by_role("heading", name=re.compile("^Silence")).count() == 0

    # Archive a new code, then find it again among the archived ones.
    summary = page.locator("#add-code summary")
    summary.click()
    page.get_by_label("Name").fill("Temporary")
    page.get_by_role("button", name="Add code").click()
    page.get_by_role("heading", name=re.compile("^Temporary")).wait_for()
    page.get_by_role("button", name="Archive Temporary").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=re.compile("^Temporary")).wait_for(state="detached")
    page.get_by_label("Show archived codes").check()
    archived = page.locator("section.code-entry.archived", has_text="Temporary")
    archived.wait_for()
    assert "archived" in archived.locator(".badge-muted").inner_text()
    assert page.get_by_text("merged into Protest").count() == 1

    page.get_by_role("link", name="History and versions").click()
    history = page.locator("main").inner_text()
    assert "Merged 'Silence' into 'Protest'" in history
    assert "Archived 'Temporary'" in history
    assert page.console_errors == []
