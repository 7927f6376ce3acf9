"""A blind round in Chromium, from assignment to adjudication: the PI assigns a fieldnote to two
coders, each codes it without seeing the other's work and marks it done, the PI reveals the
round, runs its agreement report through the demo's real Celery worker, follows a figure to the
disagreements and settles one into the consensus coding."""

import re
import sqlite3

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser

FIELDNOTE = "amira.txt"
AMIRA_QUOTE = "Helen Marsh stood to open, beside rather than behind the lectern."
BEN_QUOTE = "Helen Marsh stood to open"  # 25 of 66 characters: partly matched


def _stored(demo_server, sql, *args):
    with sqlite3.connect(demo_server["var"] / "triangulate.sqlite3") as db:
        return db.execute(sql, args).fetchall()


def _one(demo_server, sql, *args):
    rows = _stored(demo_server, sql, *args)
    assert len(rows) == 1, rows
    return rows[0][0]


def _person(browser, base, username):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, base, username)
    return context, page


def _code_and_finish(page, base, fieldnote_id, text, quote, *, hidden_quote=None):
    page.goto(base + "/projects/1/rounds/")
    assignment = page.locator("section.my-round", has_text="Browser round")
    assignment.get_by_role("link", name=re.compile("Amira Haddad")).first.click()
    page.wait_for_load_state("load")
    assert f"/fieldnotes/{fieldnote_id}/code/" in page.url
    if hidden_quote is not None:
        # The other coder's excerpt is not on the page while the round is blind.
        assert page.locator("#excerpt-list li").count() == 0
    start = text.index(quote)
    page.evaluate("([s, e]) => window.triangulateSelect(s, e)", [start, start + len(quote)])
    page.locator("#code-choices").get_by_label("Sense-making").check()
    page.get_by_role("button", name="Apply to the selection").click()
    page.locator("#excerpt-list li").first.wait_for()
    page.get_by_role("button", name=re.compile("^Mark done")).click()
    page.get_by_role("button", name=re.compile("^Not done yet")).wait_for()
    return start, start + len(quote)


def test_blind_round_from_assignment_to_adjudication(browser, page, demo_server):
    base = demo_server["url"]
    fieldnote_id = _one(
        demo_server, "select id from fieldnotes_fieldnote where source_name = ?", FIELDNOTE
    )
    text = _one(demo_server, "select text from fieldnotes_fieldnote where id = ?", fieldnote_id)
    amira_id = _one(demo_server, "select id from auth_user where username = 'amira'")
    ben_id = _one(demo_server, "select id from auth_user where username = 'ben'")

    # The PI sets up a blind round: one fieldnote, two coders.
    log_in(page, base, "priya")
    page.goto(base + "/projects/1/rounds/new/")
    page.get_by_label("Name").fill("Browser round")
    assert page.get_by_label("Blind round").is_checked()
    page.locator(f"input[name=fieldnotes][value='{fieldnote_id}']").check()
    page.locator(f"input[name=coders][value='{amira_id}']").check()
    page.locator(f"input[name=coders][value='{ben_id}']").check()
    page.get_by_role("button", name="Create the round").click()
    page.wait_for_url(re.compile(r"/rounds/\d+/$"))
    round_url = page.url

    # Each coder codes the fieldnote on their own and marks it done.
    amira_context, amira = _person(browser, base, "amira")
    amira_span = _code_and_finish(amira, base, fieldnote_id, text, AMIRA_QUOTE)
    ben_context, ben = _person(browser, base, "ben")
    ben_span = _code_and_finish(ben, base, fieldnote_id, text, BEN_QUOTE, hidden_quote=AMIRA_QUOTE)
    assert sorted(
        _stored(
            demo_server,
            "select coder_id, start, end from coding_excerpt"
            " where fieldnote_id = ? and coder_id in (?, ?)",
            fieldnote_id,
            amira_id,
            ben_id,
        )
    ) == sorted([(amira_id, *amira_span), (ben_id, *ben_span)])

    # The PI sees both done, reveals the round, and now Ben sees Amira's excerpt.
    page.goto(round_url)
    assert page.locator("td.is-done").count() == 2
    page.get_by_text("Reveal the round…").click()
    page.get_by_role("button", name=re.compile("^Yes, reveal")).click()
    page.wait_for_load_state("load")
    ben.goto(base + f"/projects/1/fieldnotes/{fieldnote_id}/code/")
    assert ben.locator("#excerpt-list li").count() == 1  # a coder's own view
    hidden = _one(
        demo_server,
        "select id from coding_excerpt where fieldnote_id = ? and coder_id = ?",
        fieldnote_id,
        amira_id,
    )
    ben.goto(base + f"/projects/1/excerpts/{hidden}/")
    assert AMIRA_QUOTE in ben.locator("body").inner_text()
    amira_context.close()

    # The report for the round runs on the worker; the page polls until it is done.
    page.goto(round_url)
    page.get_by_role("link", name="Agreement report for this round").click()
    page.get_by_role("button", name="Run the report").click()
    page.wait_for_url(re.compile(r"/reports/\d+/$"))
    page.get_by_role("heading", name="By code", exact=True).wait_for(timeout=60_000)
    report_id = int(re.search(r"/reports/(\d+)/", page.url).group(1))
    assert _one(
        demo_server, "select status from coding_agreementreport where id = ?", report_id
    ) == ("done")

    # One partly matched pair: the same code, overlapping by less than 90 % of their union.
    disagreement = _one(
        demo_server,
        "select id from coding_disagreement where report_id = ? and kind = 'partial'",
        report_id,
    )
    page.goto(base + f"/projects/1/reports/{report_id}/disagreements/")
    page.get_by_role("link", name=re.compile("Sense-making in “Fieldnotes")).first.click()
    page.wait_for_load_state("load")
    assert f"/disagreements/{disagreement}/" in page.url
    # Side by side; Ben's span starts at the same place and is shorter, so it comes first.
    assert page.get_by_role("heading", name="A: Ben Carter").is_visible()
    assert page.get_by_role("heading", name="B: Amira Haddad").is_visible()
    page.get_by_label(re.compile("^Union")).check()
    page.get_by_role("button", name="Settle", exact=True).click()
    page.wait_for_load_state("load")
    consensus = _stored(
        demo_server,
        "select e.start, e.end from coding_excerpt e join projects_membership m"
        " on m.user_id = e.coder_id and m.is_consensus where e.fieldnote_id = ?",
        fieldnote_id,
    )
    assert consensus == [(min(amira_span[0], ben_span[0]), max(amira_span[1], ben_span[1]))]
    ben_context.close()
    assert page.console_errors == []
