"""The lay panel journey in Chromium: a phone, a personal link, typing, reloading, losing the
connection, sending, and the PI seeing it arrive."""

import re

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _make_link(page, base, label):
    log_in(page, base, "priya")
    page.goto(base + "/projects/1/meetings/1/")
    page.get_by_role("link", name="Lay panel forms").click()
    page.get_by_label("Who is the link for?").fill(label)
    page.get_by_role("button", name="Make link").click()
    return page.get_by_role("textbox", name="Link", exact=True).input_value()


def test_lay_member_types_reloads_goes_offline_sends_and_pi_sees_it(browser, page, demo_server):
    base = demo_server["url"]
    link = _make_link(page, base, "Raymond")
    assert re.fullmatch(rf"{re.escape(base)}/lay/[A-Za-z0-9_-]{{40,}}/", link)

    phone = browser.new_context(**PHONE)
    lay = phone.new_page()
    lay.goto(link)
    assert lay.get_by_role("heading", level=1).inner_text() == "Learning Community Event 3"
    lay.get_by_label("Your name").fill("Raymond")
    answer = lay.get_by_label("What happened?")
    answer.fill("Tony asked where the patients were in the slides, at about 2pm.")
    lay.get_by_text(re.compile(r"^Saved at \d\d:\d\d\.$")).wait_for()

    lay.reload()
    assert lay.get_by_label("What happened?").input_value() == (
        "Tony asked where the patients were in the slides, at about 2pm."
    )
    assert lay.get_by_label("Your name").input_value() == "Raymond"

    # The connection drops while typing: the text stays on the phone and is sent once it is back.
    phone.set_offline(True)
    lay.get_by_label("Did anything concern you?").fill("Nobody looked at Margaret when she spoke.")
    lay.get_by_text(re.compile("Not saved to the server yet")).wait_for()
    phone.set_offline(False)
    lay.evaluate("window.dispatchEvent(new Event('online'))")
    lay.get_by_text(re.compile(r"^Saved at ")).wait_for()

    # Typed offline and the tab closed before the connection came back: the next visit restores it.
    phone.set_offline(True)
    lay.get_by_label("Who spoke, and who did not?").fill("Pat never spoke in the big room.")
    lay.wait_for_timeout(200)
    phone.set_offline(False)
    lay.close()
    lay = phone.new_page()
    lay.goto(link)
    assert (
        lay.get_by_label("Who spoke, and who did not?").input_value()
        == "Pat never spoke in the big room."
    )
    lay.get_by_text(re.compile(r"^Saved at ")).wait_for()

    lay.get_by_role("button", name="Send to the research team").click()
    lay.get_by_role("heading", name="Thank you").wait_for()
    assert "Pat never spoke in the big room." in lay.locator(".lay-sent").inner_text()
    phone.close()

    page.goto(base + "/projects/1/meetings/1/")
    fieldnotes = page.locator("#fieldnote-list")
    assert "Raymond" in fieldnotes.inner_text()
    page.get_by_role(
        "link", name=re.compile("Observations of Learning Community Event 3 by Raymond")
    ).click()
    text = page.get_by_role("article", name="Text of the fieldnote").text_content()
    assert "What happened?\nTony asked where the patients were in the slides, at about 2pm." in text
    assert "Did anything concern you?\nNobody looked at Margaret when she spoke." in text
    assert page.console_errors == []
