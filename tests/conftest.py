"""Shared fixtures: one project with a member of every role, an outsider, and some content."""

import pytest

from projects.models import Role

from .factories import (
    AgendaItemFactory,
    CodeFactory,
    ExcerptFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ObserverFactory,
    ProjectFactory,
    UserFactory,
)

ROLES = ["pi", "coder", "observer", "lay", "outsider", "anonymous"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_cache(settings, request):
    """An empty cache for every test, never a running site's Redis: log-in failure counts live in
    the cache, and one test's failed log-ins must not lock another test out."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def users(project):
    """A user for every role in `project`, plus one who belongs to another project only."""
    return make_users(project)


@pytest.fixture
def meeting(project):
    return make_meeting(project)


@pytest.fixture
def fieldnote(meeting, users):
    return make_fieldnote(meeting, users)


@pytest.fixture
def lay_fieldnote(meeting, users):
    observer = ObserverFactory(project=meeting.project, name="The lay member", user=users["lay"])
    return FieldnoteFactory(
        meeting=meeting, observer=observer, title="Lay notes", text="What happened: a lot."
    )


@pytest.fixture
def code(project):
    return make_code(project)


@pytest.fixture
def excerpt(fieldnote, users, code):
    return make_excerpt(fieldnote, users, code)


# The same things as plain functions, for fixtures of a wider scope (the permission walk).


def make_project():
    return ProjectFactory(name="Ward study")


def make_users(project):
    people = {}
    for role in (Role.PI, Role.CODER, Role.OBSERVER, Role.LAY):
        user = UserFactory(username=f"the-{role}")
        MembershipFactory(project=project, user=user, role=role)
        people[str(role)] = user
    outsider = UserFactory(username="the-outsider")
    MembershipFactory(user=outsider, role=Role.PI)
    people["outsider"] = outsider
    return people


def make_meeting(project):
    meeting = MeetingFactory(project=project, title="Learning event")
    AgendaItemFactory(meeting=meeting, title="Welcome")
    return meeting


def make_fieldnote(meeting, users):
    observer = ObserverFactory(project=meeting.project, name="The observer", user=users["observer"])
    return FieldnoteFactory(meeting=meeting, observer=observer, title="Observer's notes")


def make_code(project):
    return CodeFactory(codebook=project.codebook, name="Protest", colour="#a4262c", shortcut="4")


def make_excerpt(fieldnote, users, code):
    excerpt = ExcerptFactory(fieldnote=fieldnote, coder=users["coder"], start=0, end=5)
    excerpt.excerpt_codes.create(code=code)
    return excerpt


@pytest.fixture
def login(client):
    def as_user(user):
        if user is not None:
            client.force_login(user)
        return client

    return as_user
