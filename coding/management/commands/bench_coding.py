"""How fast the coding page is on a long fieldnote: `manage.py bench_coding`.

Builds, inside a transaction that is rolled back at the end, a fieldnote of 50,000 words with
2,000 excerpts by three coders, then measures through Django's test client (server time, no
network): rendering the coding page for a PI who sees everyone's coding, its HTML size against
the target (twice the text plus 300 bytes per excerpt), and applying a code (a new excerpt,
answered with a fragment). Prints medians of several runs.
"""

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from coding.management.rollback import WORDS, describe, rolled_back
from coding.models import Excerpt, ExcerptCode
from fieldnotes.models import Fieldnote, Observer
from meetings.models import Meeting
from projects.models import Membership, Project, Role
from projects.services import create_project


class Command(BaseCommand):
    help = (
        "Times the coding page and applying a code on a 50,000-word fieldnote with 2,000 excerpts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--words", type=int, default=50_000)
        parser.add_argument("--excerpts", type=int, default=2_000)
        parser.add_argument("--runs", type=int, default=7)

    def handle(self, *args, words, excerpts, runs, **options):
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
        self.stdout.write(describe(settings))
        with rolled_back(self.stdout):
            self.measure(words, excerpts, runs)

    def measure(self, words, excerpt_count, runs):
        rng = random.Random(7)
        User = get_user_model()
        pi = User.objects.create(username="bench-pi")
        coders = [User.objects.create(username=f"bench-coder-{i}") for i in range(3)]
        project = create_project(name="Benchmark", created_by=pi, starter="what-meetings-do")
        for coder in coders:
            Membership.objects.create(project=project, user=coder, role=Role.CODER)
        start = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
        meeting = Meeting.objects.create(
            project=project, title="Long", starts_at=start, ends_at=start + timedelta(hours=8)
        )
        paragraphs = []
        for _ in range(words // 100):
            paragraphs.append(" ".join(rng.choice(WORDS) for _ in range(100)) + ".")
        text = "\n\n".join(paragraphs)
        fieldnote = Fieldnote.objects.create(
            meeting=meeting,
            observer=Observer.objects.create(project=project, name="Long"),
            title="Long",
            text=text,
        )
        codes = [c for c in project.codebook.codes.all() if c.is_codable]
        rows = []
        for index in range(excerpt_count):
            begin = rng.randrange(0, len(text) - 400)
            rows.append(
                Excerpt(
                    fieldnote=fieldnote,
                    coder=coders[index % 3],
                    start=begin,
                    end=begin + rng.randrange(20, 400),
                )
            )
        Excerpt.objects.bulk_create(rows)
        links = []
        for excerpt in Excerpt.objects.filter(fieldnote=fieldnote):
            for code in rng.sample(codes, rng.choice([1, 1, 2])):
                links.append(ExcerptCode(excerpt=excerpt, code=code))
        ExcerptCode.objects.bulk_create(links)

        client = Client()
        client.force_login(pi)
        url = f"/projects/{project.pk}/fieldnotes/{fieldnote.pk}/code/"
        times, size = [], 0
        for _ in range(runs):
            began = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - began)
            size = len(response.content)
        assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        target = 2 * len(text.encode()) + 300 * excerpt_count
        self.stdout.write(
            f"coding page  {len(text.split()):,} words, {excerpt_count:,} excerpts, 3 coders: "
            f"median {statistics.median(times) * 1000:.0f} ms (target 150 ms), "
            f"HTML {size / 1024:.0f} KiB (target under {target / 1024:.0f} KiB), "
            f"{len(queries)} queries"
        )

        coder = coders[0]
        client.force_login(coder)
        create = f"/projects/{project.pk}/fieldnotes/{fieldnote.pk}/excerpts/"
        times, fragment = [], 0
        for index in range(runs):
            begin = 1000 + index * 500
            began = time.perf_counter()
            response = client.post(
                create, {"start": begin, "end": begin + 60, "codes": [codes[0].pk]}
            )
            times.append(time.perf_counter() - began)
            fragment = len(response.content)
            assert response.status_code == 200, response.content
        self.stdout.write(
            f"apply a code  median {statistics.median(times) * 1000:.0f} ms (target 30 ms), "
            f"answer {fragment / 1024:.1f} KiB (a fragment, not the page)"
        )
        Project.objects.filter(pk=project.pk)  # everything is rolled back by the caller
