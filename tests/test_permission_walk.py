"""Every URL in the URLconf, tried as every kind of user with GET and POST.

Adding a URL without adding it to EXPECTED fails `test_every_url_is_in_the_table`, so no page can
ship without a decision about who may see it. Outsiders get 404, the wrong role 403.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from .conftest import ROLES

LOGIN = "login-redirect"  # a 302 to the login page
R = "redirect"  # any other 302
OK = 200

ALL_OK = {role: OK for role in ROLES}
MEMBERS_ONLY = {
    "pi": OK,
    "coder": OK,
    "observer": OK,
    "lay": OK,
    "outsider": 404,
    "anonymous": LOGIN,
}
RESEARCHERS_ONLY = {
    "pi": OK,
    "coder": OK,
    "observer": OK,
    "lay": 403,
    "outsider": 404,
    "anonymous": LOGIN,
}
PI_ONLY_POST = {
    "pi": R,
    "coder": 403,
    "observer": 403,
    "lay": 403,
    "outsider": 404,
    "anonymous": LOGIN,
}
PI_ONLY_GET = {
    "pi": OK,
    "coder": 403,
    "observer": 403,
    "lay": 403,
    "outsider": 404,
    "anonymous": LOGIN,
}
PI_ONLY_BAD_POST = {**PI_ONLY_GET, "pi": 400}
CODERS_ONLY = {
    "pi": OK,
    "coder": OK,
    "observer": 403,
    "lay": 403,
    "outsider": 404,
    "anonymous": LOGIN,
}
AUTHOR_OR_PI = {
    "pi": OK,
    "coder": 403,
    "observer": OK,
    "lay": 403,
    "outsider": 404,
    "anonymous": LOGIN,
}
OWNER_ONLY = {
    "pi": OK,
    "coder": 404,
    "observer": 404,
    "lay": 403,
    "outsider": 404,
    "anonymous": LOGIN,
}
LOGGED_IN = {"pi": OK, "coder": OK, "observer": OK, "lay": OK, "outsider": OK, "anonymous": LOGIN}
NOT_ALLOWED = {role: 405 for role in ROLES}
NOT_ALLOWED_ANON_LOGIN = {**NOT_ALLOWED, "anonymous": LOGIN}

# url name -> (GET outcome by role, POST outcome by role, POST data)
EXPECTED = {
    "projects:list": (
        LOGGED_IN,
        {**{r: R for r in ROLES}, "anonymous": LOGIN},
        {"name": "Pilot study"},
    ),
    "projects:home": (MEMBERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "projects:members": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "projects:member_invite": (
        NOT_ALLOWED_ANON_LOGIN,
        PI_ONLY_POST,
        {"email": "new@example.org", "role": "coder"},
    ),
    "projects:member_role": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {"role": "observer"}),
    "projects:member_remove": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "meetings:detail": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    # An empty form is refused with 400 for the PI; nobody else reaches the form.
    "meetings:create": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "meetings:edit": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "fieldnotes:detail": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    # The fixture's fieldnote was written by the observer: they and the PI may revise it.
    "fieldnotes:revise": (AUTHOR_OR_PI, {**AUTHOR_OR_PI, "pi": 400, "observer": 400}, {}),
    "fieldnotes:markers": (AUTHOR_OR_PI, {**AUTHOR_OR_PI, "pi": R, "observer": R}, {}),
    "fieldnotes:upload": (
        RESEARCHERS_ONLY,
        {**RESEARCHERS_ONLY, "pi": 400, "coder": 400, "observer": 400},
        {},
    ),
    # The PI's own upload batch: other researchers cannot see that it exists.
    "fieldnotes:preview": (OWNER_ONLY, {**OWNER_ONLY, "pi": 400}, {}),
    "fieldnotes:discard": (NOT_ALLOWED_ANON_LOGIN, {**OWNER_ONLY, "pi": R}, {}),
    "panel:manage": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    "panel:invite": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_BAD_POST, {}),
    "panel:prompts": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {"prompts": "What happened?"}),
    "panel:lock": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {"locked": "1"}),
    "panel:revoke": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "panel:reissue": (NOT_ALLOWED_ANON_LOGIN, {**PI_ONLY_POST, "pi": OK}, {}),
    # Lay panel links need no account: everyone holding the link gets the same answer.
    "panel:form": (ALL_OK, {role: 400 for role in ROLES}, {}),
    "panel:draft": (NOT_ALLOWED, ALL_OK, {"name": "Margaret", "answer-0": "A lot happened."}),
    "panel:sent": ({role: R for role in ROLES}, NOT_ALLOWED, {}),
    "coding:codebook": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "coding:code_add": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_BAD_POST, {}),
    "coding:history": (RESEARCHERS_ONLY, {**PI_ONLY_BAD_POST, "lay": 403}, {}),
    "coding:import": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "coding:export_qdc": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "coding:export_csv": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    # Without htmx a code's own URL sends the browser to its place in the codebook.
    "coding:code": (
        {**RESEARCHERS_ONLY, "pi": R, "coder": R, "observer": R},
        NOT_ALLOWED_ANON_LOGIN,
        {},
    ),
    "coding:code_edit": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "coding:code_styles": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "analysis:retrieval": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "analysis:retrieval_csv": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "analysis:cooccurrence": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "search:search": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "search:memos": (
        RESEARCHERS_ONLY,
        {**RESEARCHERS_ONLY, "pi": R, "coder": R, "observer": R},
        {"title": "Reading notes", "text": "First thoughts."},
    ),
    # The memo was written by the PI: every researcher reads it, only the PI changes it.
    "search:memo": (RESEARCHERS_ONLY, PI_ONLY_POST, {"title": "Revised", "text": "Second."}),
    "search:memo_delete": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "coding:coding_page": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    # Coding is for PIs and coders; a post without a selection is refused as bad input.
    "coding:excerpt_create": (NOT_ALLOWED_ANON_LOGIN, {**CODERS_ONLY, "pi": 400, "coder": 400}, {}),
    "coding:excerpt": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "coding:excerpt_change": (NOT_ALLOWED_ANON_LOGIN, {**CODERS_ONLY, "pi": 400, "coder": 400}, {}),
    "coding:excerpt_delete": (NOT_ALLOWED_ANON_LOGIN, CODERS_ONLY, {}),
    "coding:event_undo": (NOT_ALLOWED_ANON_LOGIN, CODERS_ONLY, {}),
    "coding:code_move": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {"direction": "up"}),
    "coding:code_archive": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {"archived": "1"}),
    "coding:code_merge": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "coding:code_split": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "coding:code_recode": (PI_ONLY_GET, PI_ONLY_POST, {}),
    # --- Part A: coding rounds. The walk's round is not blind and has the coder assigned to the
    # fieldnote: the coder sees it and ticks that assignment off; a PI who is not assigned has
    # nothing to tick (404). An empty form is refused with 400.
    "rounds:list": (CODERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "rounds:create": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "rounds:detail": (CODERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "rounds:edit": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "rounds:reveal": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "rounds:close": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "rounds:assignment_done": (
        NOT_ALLOWED_ANON_LOGIN,
        {**CODERS_ONLY, "pi": 404, "coder": R},
        {"done": "1"},
    ),
    # --- end of part A
    # --- Part C: adjudication. The walk's disagreement is an unmatched span of the coder's on a
    # round that is not blind: the coder reads and discusses it, only the PI settles it.
    "adjudication:queue": (CODERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "adjudication:disagreement": (CODERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "adjudication:resolve": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {"resolution": "first"}),
    "adjudication:reopen": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "adjudication:comment": (
        NOT_ALLOWED_ANON_LOGIN,
        {**CODERS_ONLY, "pi": R, "coder": R},
        {"text": "Why did we differ here?"},
    ),
    # --- end of part C
    # --- Part B: agreement reports, PIs only. The walk's report is finished (computed through
    # the service); the progress fragment sends a browser that is not htmx to the report.
    "reports:list": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    "reports:create": (PI_ONLY_GET, PI_ONLY_BAD_POST, {}),
    "reports:detail": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    "reports:progress": ({**PI_ONLY_GET, "pi": R}, NOT_ALLOWED_ANON_LOGIN, {}),
    # Only a failed report runs again; the PI is sent back to the report with a message.
    "reports:run_again": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "reports:csv": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    "reports:xlsx": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    "reports:print": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    # --- end of part B
    # --- Triangulation: every researcher compares the observers of a meeting (only the excerpts
    # their blind rounds let them see); without a code or observer the cell page shows them all.
    "meetings:compare": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "meetings:compare_cell": (RESEARCHERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    # Storing the comparison's figures as a report is for PIs, like every report.
    "meetings:observer_report": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {"window": "15"}),
    # --- end of triangulation
    # --- Data for R and pandas (export_data: PIs and coders). The walk's API token is the PI's:
    # a coder cannot see that it exists (404). The JSON API takes a bearer token only, never the
    # session the walk logs in with, so every role gets 401 (no login redirect either); it is
    # read-only, so POST is 405.
    "data:home": (CODERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "data:excerpts_csv": (CODERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "data:matrix_csv": (CODERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "data:workbook": (CODERS_ONLY, NOT_ALLOWED_ANON_LOGIN, {}),
    "data:token_create": (NOT_ALLOWED_ANON_LOGIN, CODERS_ONLY, {"label": "R scripts"}),
    "data:token_revoke": (
        NOT_ALLOWED_ANON_LOGIN,
        {**PI_ONLY_POST, "coder": 404},
        {},
    ),
    "api:project": ({role: 401 for role in ROLES}, NOT_ALLOWED, {}),
    "api:codes": ({role: 401 for role in ROLES}, NOT_ALLOWED, {}),
    "api:fieldnotes": ({role: 401 for role in ROLES}, NOT_ALLOWED, {}),
    "api:excerpts": ({role: 401 for role in ROLES}, NOT_ALLOWED, {}),
    "api:matrix": ({role: 401 for role in ROLES}, NOT_ALLOWED, {}),
    # --- end of data
    # --- Exchange: whole projects in and out are the PI's (exchange_project); starting a project
    # from a .qdpx is open to every account (an empty form is shown again with its errors). The
    # walk's export is finished with its file on disk; it is done, so "run again" is refused with
    # a message, and the empty mapping form is refused the same way.
    "exchange:import": (LOGGED_IN, LOGGED_IN, {}),
    "exchange:project": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    "exchange:jobs": ({**PI_ONLY_GET, "pi": R}, NOT_ALLOWED_ANON_LOGIN, {}),
    "exchange:export": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {"kind": "qdpx"}),
    "exchange:export_again": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "exchange:download": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    "exchange:map_placeholder": (NOT_ALLOWED_ANON_LOGIN, PI_ONLY_POST, {}),
    "exchange:import_report": (PI_ONLY_GET, NOT_ALLOWED_ANON_LOGIN, {}),
    # --- end of exchange
    "healthz": (ALL_OK, NOT_ALLOWED, {}),
    "login": (ALL_OK, ALL_OK, {"username": "nobody", "password": "wrong"}),
    # Logging out leads to the login page, as does any page for an anonymous user.
    "logout": (NOT_ALLOWED_ANON_LOGIN, {r: LOGIN for r in ROLES}, {}),
    "password_change": (LOGGED_IN, LOGGED_IN, {"old_password": "wrong"}),
    "password_change_done": (LOGGED_IN, NOT_ALLOWED_ANON_LOGIN, {}),
    "password_reset": (ALL_OK, {r: R for r in ROLES}, {"email": "nobody@example.org"}),
    "password_reset_done": (ALL_OK, NOT_ALLOWED, {}),
    "password_reset_confirm": (ALL_OK, ALL_OK, {}),
    "password_reset_complete": (ALL_OK, NOT_ALLOWED, {}),
}

# The admin checks staff status itself; tests/test_admin.py covers it.
EXCLUDED_NAMESPACES = {"admin"}


# Under htmx some successful posts answer with a fragment or a client-side redirect instead.
HX = "hx-redirect"
HTMX_POST_OUTCOMES = {
    "projects:member_invite": {"pi": HX},
    "projects:member_role": {"pi": OK},
    "coding:code_move": {"pi": OK},
    "search:memos": {"pi": HX, "coder": HX, "observer": HX},
    "search:memo": {"pi": HX},
    "search:memo_delete": {"pi": HX},
    "coding:code_archive": {"pi": OK},
    # Part C: settling and reopening redirect on the client; a comment answers with the thread.
    "adjudication:resolve": {"pi": HX},
    "adjudication:reopen": {"pi": HX},
    "adjudication:comment": {"pi": OK, "coder": OK},
}
# Part A: revealing and closing redirect on the client; a done toggle answers with itself.
HTMX_POST_OUTCOMES |= {
    "rounds:reveal": {"pi": HX},
    "rounds:close": {"pi": HX},
    "rounds:assignment_done": {"coder": OK},
}
# Data: revoking a token under htmx answers with the token list.
HTMX_POST_OUTCOMES |= {"data:token_revoke": {"pi": OK}}
HTMX_GET_OUTCOMES = {
    "coding:code": {"pi": OK, "coder": OK, "observer": OK},
    # Exchange: under htmx the export list answers with itself.
    "exchange:jobs": {"pi": OK},
}
# Part B: under htmx the progress fragment of a finished report asks the page to reload itself.
HTMX_GET_OUTCOMES |= {"reports:progress": {"pi": OK}}


def _routes(patterns, namespace=None, params=(), prefix=""):
    """(qualified name, route parameter names, full route) of every URL pattern."""
    for pattern in patterns:
        own = (*params, *_parameters(pattern.pattern))
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            if inner not in EXCLUDED_NAMESPACES:
                yield from _routes(pattern.url_patterns, inner, own, route)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, (
                f"URL pattern {pattern.pattern} has no name, so it cannot be walked"
            )
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), own, route


def _parameters(pattern):
    """A path()'s converters, or a re_path()'s named groups."""
    return dict.fromkeys([*pattern.converters, *pattern.regex.groupindex])


def route_table(patterns):
    """Qualified name -> route parameters. Two patterns may share a name only when they share the
    route too (the first shadows the second, which nobody can reach): otherwise one of them would
    silently go unwalked."""
    table, seen = {}, {}
    for name, params, route in _routes(patterns):
        assert seen.setdefault(name, route) == route, (
            f"{name} names both {seen[name]!r} and {route!r}; only one of them would be walked"
        )
        table[name] = params
    return table


ROUTES = route_table(get_resolver().url_patterns)


def test_every_url_is_in_the_table():
    assert set(ROUTES) == set(EXPECTED)


def _names_django_knows(resolver, namespace=None):
    """The URL names Django itself can reverse, found its own way (not through `_routes`)."""
    for key in resolver.reverse_dict:
        if isinstance(key, str):
            yield f"{namespace}:{key}" if namespace else key
    for name, (_, inner) in resolver.namespace_dict.items():
        qualified = f"{namespace}:{name}" if namespace else name
        if qualified not in EXCLUDED_NAMESPACES:
            yield from _names_django_knows(inner, qualified)


def test_the_walk_lists_every_name_django_can_reverse():
    assert set(_names_django_knows(get_resolver())) == set(ROUTES)


def test_the_walk_finds_urls_under_new_and_nested_namespaces():
    from django.urls import include, path, re_path

    def view(request):
        raise AssertionError

    nested = ([path("deep/<int:x_id>/", view, name="deep")], "inner")
    added = (
        [
            path("<uuid:key>/", view, name="page"),
            path("more/", include(nested)),
            re_path(r"^old/(?P<slug>[a-z]+)/$", view, name="legacy"),
        ],
        "added",
    )
    patterns = [
        path("projects/<int:project_id>/", include(added)),
        path("api/v2/", include(([path("things/", view, name="things")], "api2"))),
        path("plain/", include([path("x/", view, name="plain")])),
    ]
    assert route_table(patterns) == {
        "added:page": ("project_id", "key"),
        "added:inner:deep": ("project_id", "x_id"),
        "added:legacy": ("project_id", "slug"),
        "api2:things": (),
        "plain": (),
    }


def test_a_name_given_to_two_routes_fails_the_walk():
    from django.urls import path

    def view(request):
        raise AssertionError

    with pytest.raises(AssertionError, match="only one of them would be walked"):
        route_table([path("a/", view, name="same"), path("b/", view, name="same")])
    # The same route twice is allowed: the log-in view shadows django.contrib.auth's.
    assert route_table([path("a/", view, name="same"), path("a/", view, name="same")]) == {
        "same": ()
    }


@pytest.fixture
def url_kwargs(project, users, meeting, fieldnote, code, excerpt, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return build_url_kwargs(project, users, meeting, fieldnote, code, excerpt, tmp_path)


@pytest.fixture(scope="module")
def walk(django_db_setup, django_db_blocker, tmp_path_factory):
    """The walk's world, made once for the module in a transaction rolled back at its end. Each
    test runs in a savepoint inside it (pytest-django's `db`), so what a POST changes is undone
    before the next test, as if the world were made afresh, at a fraction of the cost."""
    from django.db import transaction
    from django.test import override_settings

    from .conftest import (
        make_code,
        make_excerpt,
        make_fieldnote,
        make_meeting,
        make_project,
        make_users,
    )

    var_dir = tmp_path_factory.mktemp("walk-var")
    with django_db_blocker.unblock(), override_settings(VAR_DIR=var_dir), transaction.atomic():
        project = make_project()
        users = make_users(project)
        meeting = make_meeting(project)
        fieldnote = make_fieldnote(meeting, users)
        code = make_code(project)
        excerpt = make_excerpt(fieldnote, users, code)
        kwargs = build_url_kwargs(project, users, meeting, fieldnote, code, excerpt, var_dir)
        yield {"users": users, "kwargs": kwargs}
        transaction.set_rollback(True)


def build_url_kwargs(project, users, meeting, fieldnote, code, excerpt, var_dir):
    """An object for every URL parameter of the URLconf, reachable by the walk's roles."""
    from coding.models import ProjectMemo
    from fieldnotes.models import PendingUpload
    from panel.services import create_invitation

    coder_membership = project.memberships.get(user=users["coder"])
    pending = PendingUpload.objects.create(
        batch=uuid.uuid4(),
        meeting=meeting,
        uploaded_by=users["pi"],
        source_name="notes.txt",
        source_format="txt",
        text="09:30 We began.",
    )
    invitation, key = create_invitation(meeting=meeting, label="Margaret", created_by=users["pi"])
    return {
        "project_id": project.pk,
        "meeting_id": meeting.pk,
        "fieldnote_id": fieldnote.pk,
        "membership_id": coder_membership.pk,
        "uidb64": "MQ",
        "token": "not-a-token",
        "batch": pending.batch,
        "invitation_id": invitation.pk,
        "key": key,
        "code_id": code.pk,
        "memo_id": ProjectMemo.objects.create(project=project, author=users["pi"], title="Plan").pk,
        "excerpt_id": excerpt.pk,
        "event_id": _changed(excerpt, users["coder"]).pk,
        "token_id": _api_token(project, users["pi"]).pk,
        **_exchange(project, users, var_dir),
        **_reliability(project, users, fieldnote, code, excerpt),
        "var_dir": var_dir,
    }


def _reliability(project, users, fieldnote, code, excerpt):
    """A coding round with the coder assigned, a finished report on it and one disagreement."""
    from coding.models import Assignment, CodingRound, Disagreement
    from coding.reports import compute_report, request_report

    coding_round = CodingRound.objects.create(project=project, name="Pilot", blind=False)
    coding_round.fieldnotes.add(fieldnote)
    coding_round.coders.add(users["coder"])
    Assignment.objects.create(coding_round=coding_round, fieldnote=fieldnote, coder=users["coder"])
    # Computed through the reports service: one coder, so it is done with nothing to compare.
    report = request_report(project=project, user=users["pi"], coding_round=coding_round)
    compute_report(report.pk, report.attempt)
    disagreement = Disagreement.objects.create(
        report=report,
        fieldnote=fieldnote,
        code=code,
        kind=Disagreement.Kind.UNMATCHED,
        first_excerpt=excerpt,
        first_coder=users["coder"],
        first_start=excerpt.start,
        first_end=excerpt.end,
    )
    return {
        "round_id": coding_round.pk,
        "report_id": report.pk,
        "disagreement_id": disagreement.pk,
    }


def _exchange(project, users, var_dir):
    """A finished export with its file, an import record and a placeholder coder."""
    from exchange.models import ExportJob, ImportRecord
    from projects.models import Membership, Role
    from tests.factories import UserFactory

    (var_dir / "exports" / str(project.pk)).mkdir(parents=True)
    (var_dir / "exports" / str(project.pk) / "1.qdpx").write_bytes(b"PK")
    job = ExportJob.objects.create(
        project=project, status=ExportJob.Status.DONE, file_path=f"{project.pk}/1.qdpx", size=2
    )
    record = ImportRecord.objects.create(project=project, source_name="study.qdpx", report={})
    placeholder = Membership.objects.create(
        project=project,
        user=UserFactory(username="imported-ann", is_active=False),
        role=Role.CODER,
        is_placeholder=True,
    )
    return {"job_id": job.pk, "record_id": record.pk, "placeholder_id": placeholder.pk}


def _api_token(project, pi):
    from exchange.api import create_token

    return create_token(project=project, user=pi, label="PI's scripts")[0]


def _changed(excerpt, coder):
    from coding.services import change_excerpt

    change_excerpt(excerpt=excerpt, user=coder, memo="Looked again.")
    return excerpt.events.get()


def assert_outcome(response, expected, where):
    if expected == LOGIN:
        assert response.status_code == 302, where
        assert response["Location"].startswith(reverse("login")), where
    elif expected == R:
        assert response.status_code == 302, where
        assert not response["Location"].startswith(reverse("login")), where
    elif expected == HX:
        assert response.status_code == 200, where
        assert response["HX-Redirect"], where
    else:
        assert response.status_code == expected, where


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_url_access(walk, db, settings, client, name, role, method, htmx):
    users, url_kwargs = walk["users"], walk["kwargs"]
    settings.VAR_DIR = url_kwargs["var_dir"]
    get_expected, post_expected, data = EXPECTED[name]
    if role != "anonymous":
        client.force_login(users[role])
    url = reverse(name, kwargs={param: url_kwargs[param] for param in ROUTES[name]})
    headers = {"HX-Request": "true"} if htmx else {}
    if method == "GET":
        response = client.get(url, headers=headers)
        expected = get_expected[role]
        if htmx:
            expected = HTMX_GET_OUTCOMES.get(name, {}).get(role, expected)
    else:
        response = client.post(url, data, headers=headers)
        expected = post_expected[role]
        if htmx:
            expected = HTMX_POST_OUTCOMES.get(name, {}).get(role, expected)
    assert_outcome(response, expected, f"{method} {name} as {role}{' (htmx)' if htmx else ''}")
