"""`make run` serves the demo study: log in, open a fieldnote, and see the worker do a job."""

import time

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_coder_logs_in_and_reads_a_fieldnote(page, demo_server):
    base = demo_server["url"]
    log_in(page, base, "amira")
    assert page.get_by_role("heading", name="Your projects").is_visible()
    page.get_by_role("link", name="Learning Together").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Learning Together"
    page.get_by_role("link", name="Fieldnotes – Learning Community Event 3 – Chloe Nkemelu").click()
    text = page.get_by_role("article", name="Text of the fieldnote")
    paragraphs = text.locator("p")
    assert (
        paragraphs.first.inner_text() == "Fieldnotes – Learning Community Event 3 – Chloe Nkemelu"
    )
    assert paragraphs.count() > 30
    assert "Grace" in text.inner_text()
    # The stylesheet and htmx came from our own server, and nothing broke the CSP.
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(251, 250, 247)"
    assert page.console_errors == []


def test_lay_member_sees_only_her_own_observations(page, demo_server):
    base = demo_server["url"]
    log_in(page, base, "margaret")
    page.get_by_role("link", name="Learning Together").click()
    links = page.locator("main ul.plain-list a")
    assert links.all_inner_texts() == [
        "My observations – Learning Community Event 3 – Margaret Hughes"
    ]
    assert page.get_by_role("link", name="Codebook").count() == 0


def test_pi_invites_a_member_and_the_worker_sends_the_email(page, demo_server):
    base = demo_server["url"]
    log_in(page, base, "priya")
    page.get_by_role("link", name="Learning Together").click()
    page.get_by_role("link", name="Members", exact=True).click()
    # The browser accepts an address without a dot in its domain; the server does not.
    page.get_by_label("Email address").fill("raymond@example")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Enter a valid email address.").wait_for()
    assert page.get_by_label("Email address").input_value() == "raymond@example"
    page.get_by_label("Email address").fill("raymond@example.org")
    page.get_by_label("Role").select_option("lay")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invited raymond@example.org as Lay panel member.").wait_for()
    mail_dir = demo_server["var"] / "mail"
    deadline = time.monotonic() + 30
    while not (mail_dir.exists() and any(mail_dir.iterdir())):
        assert time.monotonic() < deadline, (
            "the worker sent no email:\n" + demo_server["log"].read_text()
        )
        time.sleep(0.3)
    body = next(mail_dir.iterdir()).read_text()
    assert "To: raymond@example.org" in body
    assert "Priya Raman has invited you to the project" in body
