from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from coding.models import CodingRound
from exchange.api import create_token, revoke_token
from exchange.models import ApiToken
from projects.models import Membership
from tests.factories import LONDON, ExcerptFactory, MembershipFactory, ProjectFactory, UserFactory

from .tidy_study import HEADER, build_study, expected_rows


@pytest.fixture
def study(project, users, meeting):
    return build_study(project, users, meeting)


@pytest.fixture
def token(project, users):
    """A token of the coder's, raw."""
    return create_token(project=project, user=users["coder"], label="R scripts")[1]


@pytest.fixture
def pi_token(project, users):
    return create_token(project=project, user=users["pi"], label="pandas")[1]


def _get(client, name, project, raw, **query):
    return client.get(
        reverse(f"api:{name}", args=[project.pk]),
        query,
        headers={"Authorization": f"Bearer {raw}"} if raw else {},
    )


def _typed(row):
    """A CSV row as the API gives it: numbers, booleans and null for an untimed moment."""
    item = dict(zip(HEADER, row, strict=True))
    item["fieldnote_version"] = int(item["fieldnote_version"])
    item["start"], item["end"] = int(item["start"]), int(item["end"])
    item["unsure"] = item["unsure"] == "true"
    item["moment"] = item["moment"] or None
    return item


def test_project_summary(client, study, project, token):
    response = _get(client, "project", project, token)
    assert response.status_code == 200
    base = f"http://testserver/api/v1/projects/{project.pk}/"
    assert response.json() == {
        "id": project.pk,
        "name": "Ward study",
        "description": "",
        "role": "coder",
        "counts": {"meetings": 1, "fieldnotes": 3, "codes": 3, "excerpts": 4},
        "links": {
            "codes": f"{base}codes/",
            "fieldnotes": f"{base}fieldnotes/",
            "excerpts": f"{base}excerpts/",
            "matrix": f"{base}matrix/",
        },
    }
    assert response["Cache-Control"] == "private, no-store"
    assert "Authorization" in response["Vary"]


def test_codes(client, study, project, token):
    assert _get(client, "codes", project, token).json() == {
        "count": 3,
        "results": [
            {
                "guid": str(study.folder.guid),
                "name": "Sense-making",
                "path": "Sense-making",
                "parent_guid": None,
                "colour": "#1d5c8a",
                "is_codable": False,
                "archived": False,
            },
            {
                "guid": str(study.validation.guid),
                "name": "Validation",
                "path": "Sense-making > Validation",
                "parent_guid": str(study.folder.guid),
                "colour": "#2e7d32",
                "is_codable": True,
                "archived": False,
            },
            {
                "guid": str(study.protest.guid),
                "name": "Protest",
                "path": "Protest",
                "parent_guid": None,
                "colour": "#a4262c",
                "is_codable": True,
                "archived": False,
            },
        ],
    }


def test_fieldnotes_without_and_with_text(client, study, project, token):
    expected = [
        {
            "guid": str(study.ann.guid),
            "title": "Ann's notes",
            "meeting": "Learning event",
            "observer": "Ann",
            "version": 1,
            "length": 78,
        },
        {
            "guid": str(study.bea.guid),
            "title": "Bea's notes",
            "meeting": "Learning event",
            "observer": "Bea",
            "version": 1,
            "length": 42,
        },
        {
            "guid": str(study.zed.guid),
            "title": "Zed's notes",
            "meeting": "Learning event",
            "observer": "Zed",
            "version": 2,
            "length": 10,
        },
    ]
    assert _get(client, "fieldnotes", project, token).json() == {"count": 3, "results": expected}
    with_text = _get(client, "fieldnotes", project, token, text="1").json()["results"]
    assert [note["text"] for note in with_text] == [study.ann.text, study.bea.text, "New words."]


def test_excerpts_are_the_csv_rows_paginated(client, study, project, pi_token):
    rows = [_typed(row) for row in expected_rows(study)]
    first = _get(client, "excerpts", project, pi_token, page_size="2").json()
    url = f"http://testserver/api/v1/projects/{project.pk}/excerpts/"
    assert first == {
        "count": 5,
        "page": 1,
        "page_size": 2,
        "next": f"{url}?page_size=2&page=2",
        "previous": None,
        "results": rows[:2],
    }
    last = _get(client, "excerpts", project, pi_token, page_size="2", page="3").json()
    assert (last["count"], last["next"], last["previous"]) == (5, None, f"{url}?page_size=2&page=2")
    assert last["results"] == rows[4:]
    assert _get(client, "excerpts", project, pi_token).json()["results"] == rows


def test_excerpts_filters(client, study, project, pi_token):
    def starts(**query):
        return [
            item["start"]
            for item in _get(client, "excerpts", project, pi_token, **query).json()["results"]
        ]

    assert starts(code=str(study.validation.guid)) == [15, 8]
    assert starts(fieldnote=str(study.bea.guid)) == [8, 21]
    assert starts(coder="the-pi") == [41]
    assert starts(coder="the-coder", code=str(study.protest.guid).upper()) == [15, 21]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"code": "nope"}, "code='nope' is not a GUID of a code."),
        (
            {"fieldnote": "5f0c7a8e-8f54-4bb8-9d0e-2b0d1c3c6f11"},
            "This project has no fieldnote '5f0c7a8e-8f54-4bb8-9d0e-2b0d1c3c6f11'.",
        ),
        ({"coder": "nobody"}, "This project has no member 'nobody'."),
        ({"page_size": "1001"}, "page_size can be at most 1000."),
        ({"page": "0"}, "page must be a whole number from 1."),
        ({"page": "9"}, "There is no page 9: the last is page 1."),
    ],
)
def test_excerpts_bad_queries_say_what_is_wrong(client, study, project, pi_token, query, detail):
    response = _get(client, "excerpts", project, pi_token, **query)
    assert response.status_code == (404 if "page 9" in detail else 400)
    assert response.json()["detail"] == detail


def test_matrix(client, study, project, pi_token):
    codes = [
        {"guid": str(study.validation.guid), "path": "Sense-making > Validation"},
        {"guid": str(study.protest.guid), "path": "Protest"},
    ]

    def rows(values):
        notes = [("Ann's notes", "Ann", study.ann), ("Bea's notes", "Bea", study.bea)]
        notes.append(("Zed's notes", "Zed", study.zed))
        return [
            {
                "meeting": "Learning event",
                "fieldnote": title,
                "fieldnote_guid": str(note.guid),
                "observer": observer,
                "values": cells,
            }
            for (title, observer, note), cells in zip(notes, values, strict=True)
        ]

    assert _get(client, "matrix", project, pi_token).json() == {
        "measure": "excerpts",
        "codes": codes,
        "rows": rows([[1, 2], [1, 1], [0, 0]]),
    }
    characters = _get(client, "matrix", project, pi_token, measure="characters").json()
    assert characters == {
        "measure": "characters",
        "codes": codes,
        "rows": rows([[44, 56], [6, 7], [0, 0]]),
    }
    wrong = _get(client, "matrix", project, pi_token, measure="words")
    assert (wrong.status_code, wrong.json()["detail"]) == (
        400,
        "measure must be one of excerpts, characters.",
    )


# Authentication


def _unauthorised(response, detail):
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "detail": detail}
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="Triangulate", error="invalid_token", error_description="{detail}"'
    )


def test_no_token_is_401(client, project, users):
    response = _get(client, "project", project, None)
    assert response.status_code == 401
    assert response.json() == {
        "error": "no_token",
        "detail": "This API needs a token: send it in an 'Authorization: Bearer <token>' header. "
        "Make one on the project's Data page.",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="Triangulate"'


def test_a_session_does_not_open_the_api(client, project, users):
    client.force_login(users["pi"])
    response = _get(client, "excerpts", project, None)
    assert (response.status_code, response.json()["error"]) == (401, "no_token")


def test_another_scheme_is_no_token(client, project, token):
    response = client.get(
        reverse("api:project", args=[project.pk]), headers={"Authorization": f"Basic {token}"}
    )
    assert (response.status_code, response.json()["error"]) == (401, "no_token")


def test_unknown_token_is_401(client, project, token):
    _unauthorised(
        _get(client, "project", project, token + "x"),
        "This token is not known. Check it, or make a new one.",
    )


def test_revoked_token_is_401(client, project, token):
    stored = ApiToken.objects.get()
    revoke_token(token=stored)
    stored.revoked_at = datetime(2026, 3, 1, 14, 5, tzinfo=LONDON)
    stored.save()
    _unauthorised(
        _get(client, "project", project, token), "This token was revoked on 2026-03-01 14:05."
    )


def test_expired_token_is_401(client, project, token):
    ApiToken.objects.update(expires_at=datetime(2020, 1, 2, 9, 0, tzinfo=LONDON))
    _unauthorised(
        _get(client, "project", project, token), "This token expired on 2020-01-02 09:00."
    )


def test_token_of_another_project_is_404(client, project, users, token):
    other = ProjectFactory(name="Other study")
    MembershipFactory(project=other, user=users["coder"], role="coder")
    response = _get(client, "project", other, token)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "No such project for this token."}


def test_removed_member_is_403(client, project, users, token):
    Membership.objects.filter(project=project, user=users["coder"]).delete()
    response = _get(client, "codes", project, token)
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "detail": "The member this token belongs to is no longer in this project.",
    }


def test_member_whose_role_changed_is_403(client, project, users, token):
    Membership.objects.filter(project=project, user=users["coder"]).update(role="observer")
    response = _get(client, "codes", project, token)
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "The role this token's member now has in the project does not allow data exports."
    )


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writing_methods_are_405(client, project, token, method):
    response = getattr(client, method)(
        reverse("api:excerpts", args=[project.pk]), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {
        "error": "method_not_allowed",
        "detail": "This API is read-only: use GET.",
    }


def test_last_used_is_written_at_most_once_a_minute(client, project, token):
    _get(client, "codes", project, token)
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    _get(client, "codes", project, token)
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - timedelta(seconds=61))
    _get(client, "codes", project, token)
    assert ApiToken.objects.get().last_used_at > first


def test_blind_round_holds_in_the_api(client, study, project, users, token):
    other = UserFactory(username="other-coder")
    MembershipFactory(project=project, user=other, role="coder")
    hidden = ExcerptFactory(fieldnote=study.ann, coder=other, start=0, end=5)
    hidden.excerpt_codes.create(code=study.protest)
    coding_round = CodingRound.objects.create(project=project, name="Pilot", blind=True)
    coding_round.fieldnotes.add(study.ann)
    coding_round.coders.add(users["coder"], other)

    found = _get(client, "excerpts", project, token).json()
    assert found["count"] == 4
    assert {item["excerpt_guid"] for item in found["results"]} == {
        str(study.quote.guid),
        str(study.sat.guid),
        str(study.formula.guid),
    }
    assert _get(client, "project", project, token).json()["counts"]["excerpts"] == 3
    assert _get(client, "matrix", project, token).json()["rows"][0]["values"] == [1, 1]
