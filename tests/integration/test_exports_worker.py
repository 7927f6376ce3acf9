"""A whole-project export written by a real Celery worker on Redis, and served to the PI."""

import pytest
from django.urls import reverse

from exchange import exports
from exchange.models import ExportJob
from exchange.qdpx import read_qdpx
from projects.models import Role
from tests.factories import (
    CodeFactory,
    ExcerptFactory,
    FieldnoteFactory,
    MeetingFactory,
    MembershipFactory,
    ObserverFactory,
    ProjectFactory,
    UserFactory,
)

from .conftest import wait_for

pytestmark = pytest.mark.integration


def test_an_export_is_written_by_the_worker_and_downloaded(
    celery_worker, settings, tmp_path, client
):
    settings.VAR_DIR = tmp_path  # where the worker writes (see the celery_worker fixture)
    pi = UserFactory(username="helen")
    project = ProjectFactory(name="Ward study")
    MembershipFactory(project=project, user=pi, role=Role.PI)
    code = CodeFactory(codebook=project.codebook, name="Protest")
    note = FieldnoteFactory(
        meeting=MeetingFactory(project=project),
        observer=ObserverFactory(project=project, name="Chloe"),
        text="Ward 7 said no. 😀 Then they agreed.",
    )
    excerpt = ExcerptFactory(fieldnote=note, coder=pi, start=0, end=15)
    excerpt.excerpt_codes.create(code=code)

    job = exports.request_export(project=project, user=pi)  # sent on commit: autocommit here
    done = wait_for(
        lambda: ExportJob.objects.filter(pk=job.pk, status__in=("done", "failed")).first(),
        what="the export to finish",
    )
    assert (done.status, done.error, done.progress) == ("done", "", 1.0)
    assert done.summary["selections"] == 1
    client.force_login(pi)
    response = client.get(reverse("exchange:download", args=[project.pk, job.pk]))
    qde = read_qdpx(b"".join(response.streaming_content))
    (source,) = qde.sources
    assert source.text == "Ward 7 said no. 😀 Then they agreed."
    (selection,) = source.selections
    assert (selection.start, selection.end, selection.codings[0].code_guid) == (
        0,
        15,
        str(code.guid),
    )
