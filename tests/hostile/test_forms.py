"""Every URL that takes a POST, fed hostile form data.

The fields each URL takes are found from the pages themselves: every page the PI can open (as a
page and as an htmx fragment) is parsed for its forms, and each form's fields are credited to the
URL its `action` or `hx-post` names. Hypothesis then posts, for those fields, text with control
characters, NUL bytes, right-to-left marks, emoji, 10,000 characters, HTML and SQL injections,
numbers out of range, impossible dates and ids, leaves fields out and adds unknown ones.

Allowed: any answer but a 500 (the test client raises a view's exception, which fails the test
with the input shown); after an error status no table has gained or lost a row; and injected HTML
comes back escaped, on the answer and on the page a redirect leads to.
"""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DataError, connection, transaction
from django.urls import Resolver404, resolve, reverse
from hypothesis import given, reject
from hypothesis import strategies as st

from tests.test_permission_walk import EXPECTED, OK, ROUTES, url_kwargs  # noqa: F401

from .conftest import hostile

SCRIPT = "<script>alert(1)</script>"
# 410: a lay link that has been revoked or has expired.
ERROR_STATUSES = {400, 403, 404, 405, 409, 410, 413, 422, 429}
ALLOWED_STATUSES = {200, 204, 302, 303, *ERROR_STATUSES}
POST_URLS = sorted(name for name, (_, post, _) in EXPECTED.items() if post["pi"] != 405)
GET_PAGES = sorted(name for name, (get, _, _) in EXPECTED.items() if get["pi"] == OK)
# Tables an error answer may still write to, by design.
KEPT_ON_ERROR = {
    # A lay member's words are saved as a draft before sending is tried, so that a refused send
    # (no name yet, the panel closed) loses nothing they typed.
    "panel:form": {"panel_laydraft"},
}
# Fields that scripts post, which no page's HTML names.
SCRIPTED_FIELDS = {
    "coding:excerpt_create": {"start", "end", "codes", "memo", "unsure", "code", "coder"},
    "coding:excerpt_change": {"start", "end", "codes", "set_codes", "memo", "unsure", "revision"},
    "coding:excerpt_delete": {"revision", "code", "coder"},
    "coding:event_undo": {"revision", "code", "coder"},
    "coding:code_merge": {"confirm"},
    "coding:code_recode": {"confirm", "keep"},
    "panel:draft": {"name", "answer-0", "answer-1"},
    "rounds:assignment_done": {"done", "next"},
    "adjudication:reopen": {"code", "coder", "status", "round"},
    "password_reset_confirm": {"new_password1", "new_password2"},
}
# Lay members answer through their link without an account.
ANONYMOUS = {name for name in POST_URLS if "key" in ROUTES[name]}

HOSTILE_TEXT = [
    SCRIPT,
    f'"><img src=x onerror=alert(1)>{SCRIPT}',
    "' OR 1=1 --",
    "1; DROP TABLE projects_project; --",
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m\x7f",
    "\u202eevil\u202c\u200f\u200e",
    "🙂" * 50,
    "x" * 10_000,
    "Zoe\u0301\r\nline\rline",
    "",
    " ",
    "-1",
    "0",
    "2147483648",
    "-9223372036854775809",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "3.5",
    "²",  # a digit to str.isdigit(), not to int()
    "١٢",
    "2026-02-30",
    "2026-13-01T25:61",
    "0000-00-00 00:00",
    "9999-12-31T23:59:59",
    "on",
    "true",
    "../../etc/passwd",
    "{{ 7|add:7 }}{% debug %}",
    "%s%n%x",
    "#zzzzzz",
    "00000000-0000-0000-0000-000000000000",
    "up",
    "qdpx",
]
hostile_text = st.sampled_from(HOSTILE_TEXT) | st.text(max_size=30) | st.integers().map(str)


class _Forms(HTMLParser):
    """Each form's target and fields: {target path: {field name: (kind, values seen)}}."""

    FIELDS = {"input", "textarea", "select", "button"}

    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.targets: dict[str, dict[str, tuple[str, set[str]]]] = {}
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = self._target(attrs) or self.page_path
            self.targets.setdefault(self._form, {})
        elif tag in self.FIELDS and attrs.get("name"):
            target = self._target(attrs) or self._form
            if target is None:
                return
            kind = "file" if attrs.get("type") == "file" else tag
            fields = self.targets.setdefault(target, {})
            _, values = fields.setdefault(attrs["name"], (kind, set()))
            if attrs.get("value") is not None:
                values.add(attrs["value"])
            if tag == "select":
                self._select = values
        elif tag == "option" and self._select is not None and attrs.get("value") is not None:
            self._select.add(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None

    def _target(self, attrs) -> str | None:
        target = attrs.get("hx-post") or attrs.get("formaction") or attrs.get("action")
        return urlsplit(target).path if target else None


FIELDS: dict[str, dict[str, tuple[str, set[str]]]] = {}


def discover_fields(client, kwargs) -> dict[str, dict[str, tuple[str, set[str]]]]:
    """{url name: {field name: (kind, values)}} from every page the PI can open; once per run,
    as the names do not depend on which objects the fixture made."""
    if FIELDS:
        return FIELDS
    for name in GET_PAGES:
        path = reverse(name, kwargs={param: kwargs[param] for param in ROUTES[name]})
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(path, headers=headers)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            parser = _Forms(path)
            parser.feed(response.content.decode())
            for target, fields in parser.targets.items():
                try:
                    target_name = resolve(target).view_name
                except Resolver404:
                    continue
                known = FIELDS.setdefault(target_name, {})
                for field, (kind, values) in fields.items():
                    known.setdefault(field, (kind, set()))[1].update(values)
    return FIELDS


def row_counts() -> dict[str, int]:
    """The number of rows of every table, in one query."""
    tables = sorted(
        {
            model._meta.db_table
            for model in apps.get_models(include_auto_created=True)
            if model._meta.managed and not model._meta.proxy
        }
    )
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables, cursor.fetchone(), strict=True))


def changed_tables(before: dict[str, int], after: dict[str, int], name: str) -> dict:
    return {
        table: (before[table], after[table])
        for table in before
        if before[table] != after[table] and table not in KEPT_ON_ERROR.get(name, ())
    }


def _refuse_nul(execute, sql, params, many, context):
    """What PostgreSQL does with a NUL character in text or JSON, so that SQLite runs catch it:
    psycopg raises DataError, a 500 unless the view cleaned the input first."""
    rows = params if many else [params]
    for row in rows or ():
        for value in (row.values() if isinstance(row, dict) else row) or ():
            if isinstance(value, str) and ("\x00" in value or "\\u0000" in value):
                raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    return execute(sql, params, many, context)


def sqlite_integer_limit(error: Exception) -> bool:
    """SQLite's integers stop at 64 bits, and Django's `pk__in` passes a longer one through to
    raise OverflowError. PostgreSQL, which production runs on, simply finds no row."""
    return connection.vendor == "sqlite" and isinstance(error, OverflowError)


def _value(kind: str, known: set[str]):
    choices = [hostile_text, st.lists(hostile_text, min_size=2, max_size=3)]
    if known:
        choices.append(st.sampled_from(sorted(known)))
    if kind == "file":
        choices.append(
            st.builds(
                SimpleUploadedFile,
                st.sampled_from(
                    ["notes.txt", "notes.docx", "codes.qdc", "study.qdpx", "x", SCRIPT]
                ),
                st.binary(max_size=512),
            )
        )
    return st.one_of(choices)


def payloads(fields: dict[str, tuple[str, set[str]]], example: dict):
    """Form data: each known field given a hostile value, its own value, or left out; unknown
    fields added."""
    names = sorted({*fields, *example} - {"csrfmiddlewaretoken"})
    known = {
        name: (
            fields.get(name, ("input", set()))[0],
            fields.get(name, ("input", set()))[1]
            | ({str(example[name])} if name in example else set()),
        )
        for name in names
    }
    given_fields = st.fixed_dictionaries(
        {},
        optional={name: _value(kind, values) for name, (kind, values) in known.items()},
    )
    unknown = st.dictionaries(
        st.sampled_from(["id", "pk", "project", "user", "is_superuser", "role", "__proto__"])
        | st.text(min_size=1, max_size=10),
        hostile_text,
        max_size=3,
    )
    return st.tuples(given_fields, unknown).map(lambda parts: {**parts[1], **parts[0]})


def _shown(data: dict) -> dict:
    return {
        key: (f"<file {value.name!r} {value.size} bytes>" if hasattr(value, "size") else value)
        for key, value in data.items()
    }


def _check_escaped(response, where: str) -> None:
    if "html" in response.get("Content-Type", "") and not response.streaming:
        assert SCRIPT not in response.content.decode(errors="replace"), f"unescaped script: {where}"


@pytest.mark.parametrize("name", POST_URLS)
def test_hostile_post(client, users, url_kwargs, name):  # noqa: F811
    client.force_login(users["pi"])
    fields = dict(discover_fields(client, url_kwargs).get(name, {}))
    for field in SCRIPTED_FIELDS.get(name, ()):
        fields.setdefault(field, ("input", set()))
    path = reverse(name, kwargs={param: url_kwargs[param] for param in ROUTES[name]})
    example = EXPECTED[name][2]

    @hostile(12)
    @given(data=payloads(fields, example), htmx=st.booleans())
    def post(data, htmx):
        where = f"POST {name} {'(htmx) ' if htmx else ''}with {_shown(data)!r}"
        for value in data.values():
            if hasattr(value, "seek"):
                value.seek(0)
        with transaction.atomic():
            client.logout()
            if name not in ANONYMOUS:
                client.force_login(users["pi"])
            before = row_counts()
            try:
                with connection.execute_wrapper(_refuse_nul):
                    response = client.post(
                        path, data, headers={"HX-Request": "true"} if htmx else {}
                    )
            except Exception as error:
                if sqlite_integer_limit(error):
                    reject()
                pytest.fail(f"{where} raised {error!r}")
            assert response.status_code in ALLOWED_STATUSES, f"{response.status_code}: {where}"
            if response.status_code in ERROR_STATUSES:
                changed = changed_tables(before, row_counts(), name)
                assert not changed, f"rows changed on {response.status_code}: {changed} {where}"
            _check_escaped(response, where)
            location = response.get("Location") or response.get("HX-Redirect")
            if location and location.startswith("/"):
                try:
                    followed = client.get(location)
                except Exception as error:
                    if sqlite_integer_limit(error):
                        reject()
                    pytest.fail(f"GET {location} after {where} raised {error!r}")
                assert followed.status_code != 500, f"GET {location} after {where}"
                _check_escaped(followed, f"GET {location} after {where}")
            transaction.set_rollback(True)

    post()


# Values that got through to a 500 once. Characters `str.isdigit()` accepts and `int()` refuses
# ("²".isdigit() and int("²") was a 500), integers no database column holds, and NUL, which
# PostgreSQL refuses in text and JSON.
NOT_INTEGERS = ["²", "99999999999999999999999"]
NUL_TEXT = ["a\x00b"]


@pytest.mark.parametrize("value", [*NOT_INTEGERS, *NUL_TEXT])
def test_values_int_or_postgresql_cannot_take_in_every_field(client, users, url_kwargs, value):  # noqa: F811
    if value.isdecimal() and connection.vendor == "sqlite":
        pytest.skip("SQLite cannot hold the integer; PostgreSQL runs this one")
    client.force_login(users["pi"])
    fields = discover_fields(client, url_kwargs)
    failures = []
    for name in POST_URLS:
        names = {*fields.get(name, {}), *SCRIPTED_FIELDS.get(name, ()), *EXPECTED[name][2]}
        names |= {"code", "coder", "e1", "e2", "revision"}
        path = reverse(name, kwargs={param: url_kwargs[param] for param in ROUTES[name]})
        with transaction.atomic():
            client.logout()
            if name not in ANONYMOUS:
                client.force_login(users["pi"])
            try:
                with connection.execute_wrapper(_refuse_nul):
                    status = client.post(path, dict.fromkeys(names, value)).status_code
            except Exception as error:
                status = 400 if sqlite_integer_limit(error) else repr(error)
            if status not in ALLOWED_STATUSES:
                failures.append(f"POST {name}: {status}")
            transaction.set_rollback(True)
    query = {param: value for param in ("code", "coder", "observer", "round", "status", "window")}
    client.force_login(users["pi"])
    for name in GET_PAGES if value in NOT_INTEGERS else ():
        path = reverse(name, kwargs={param: url_kwargs[param] for param in ROUTES[name]})
        try:
            status = client.get(path, query).status_code
        except Exception as error:
            status = 400 if sqlite_integer_limit(error) else repr(error)
        if status not in ALLOWED_STATUSES:
            failures.append(f"GET {name}: {status}")
    assert not failures, "\n".join(failures)


def test_revising_with_an_unreadable_file_shows_why(client, users, fieldnote):
    client.force_login(users["pi"])
    url = reverse("fieldnotes:revise", args=[fieldnote.meeting.project_id, fieldnote.pk])
    response = client.post(url, {"file": SimpleUploadedFile("notes.txt", b"")})
    assert response.status_code == 302
    preview = client.get(response["Location"])
    assert preview.status_code == 200
    assert "<strong>notes.txt</strong>: The file is empty." in preview.content.decode()


def test_changing_an_excerpt_to_a_code_of_no_codebook_is_refused(client, users, excerpt):
    client.force_login(users["coder"])
    project_id = excerpt.fieldnote.meeting.project_id
    url = reverse("coding:excerpt_change", args=[project_id, excerpt.pk])
    response = client.post(url, {"revision": str(excerpt.revision), "codes": "987654"})
    assert response.status_code == 400
    assert response.json() == {"error": "One of the codes is not in this project's codebook."}
    assert list(excerpt.codes.values_list("name", flat=True)) == ["Protest"]


def test_an_agenda_of_two_billion_items_is_refused_with_a_message(client, users, project):
    client.force_login(users["pi"])
    data = {
        "title": "Board",
        "starts_at": "2026-03-01T09:00",
        "ends_at": "2026-03-01T12:00",
        "agenda_items-TOTAL_FORMS": "2147483648",
        "agenda_items-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("meetings:create", args=[project.pk]), data)
    assert response.status_code == 400
    assert "A meeting can have at most 100 agenda items." in response.content.decode()
    assert response.content.decode().count('class="agenda-row"') == 100
    assert not project.meetings.filter(title="Board").exists()
