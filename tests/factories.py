from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import factory
from django.contrib.auth import get_user_model

from coding.models import Code, Codebook, Excerpt
from fieldnotes.models import Fieldnote, Observer
from meetings.models import AgendaItem, Meeting
from projects.models import Membership, Project, Role

LONDON = ZoneInfo("Europe/London")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    first_name = factory.Faker("first_name")
    password = factory.django.Password("correct-horse-battery")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Study {n}")
    codebook = factory.RelatedFactory(
        "tests.factories.CodebookFactory", factory_related_name="project"
    )


class CodebookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Codebook

    project = factory.SubFactory(ProjectFactory, codebook=None)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.CODER


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Ward meeting {n}")
    starts_at = datetime(2026, 3, 10, 9, 30, tzinfo=LONDON)
    ends_at = factory.LazyAttribute(lambda meeting: meeting.starts_at + timedelta(hours=3))


class AgendaItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgendaItem

    meeting = factory.SubFactory(MeetingFactory)
    title = "Welcome"
    starts_at = factory.LazyAttribute(lambda item: item.meeting.starts_at)
    ends_at = factory.LazyAttribute(lambda item: item.meeting.starts_at + timedelta(minutes=30))


class ObserverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Observer

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Observer {n}")


class FieldnoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fieldnote

    meeting = factory.SubFactory(MeetingFactory)
    observer = factory.SubFactory(
        ObserverFactory, project=factory.SelfAttribute("..meeting.project")
    )
    title = factory.Sequence(lambda n: f"Fieldnote {n}")
    text = '09:30 The meeting opened.\n\n09:45 Grace said: "We are not here to be marked."'


class CodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Code

    codebook = factory.SubFactory(CodebookFactory)
    name = factory.Sequence(lambda n: f"Code {n}")
    colour = "#1d5c8a"


class ExcerptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Excerpt

    fieldnote = factory.SubFactory(FieldnoteFactory)
    coder = factory.SubFactory(UserFactory)
    start = 0
    end = 5
