"""How fast a whole project goes out and comes back in: `manage.py bench_exchange`.

Builds, inside a transaction that is rolled back at the end, the engine benchmark's study as
database rows (200 fieldnotes of 30,000 characters, 5 coders, 30 codes, about 40,000 excerpts),
then times each step of the REFI-QDA round trip: reading the project (`build_qde`), writing the
`.qdpx`, reading it back, importing it as a new project (one transaction), and the tidy
excerpts.csv a quantitative collaborator downloads. Prints each time, the archive's size and the
process's peak memory.
"""

import io
import resource
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from coding.management.rollback import build_study, describe, rolled_back
from exchange import tidy
from exchange.project_export import build_qde
from exchange.project_import import import_qde
from exchange.qdpx import read_qdpx, write_qdpx


class Command(BaseCommand):
    help = "Times a .qdpx export, read and import of 6 million characters and 40,000 excerpts."

    def add_arguments(self, parser):
        parser.add_argument("--texts", type=int, default=200)
        parser.add_argument("--length", type=int, default=30_000)
        parser.add_argument("--excerpts", type=int, default=40_000)

    def handle(self, *args, texts, length, excerpts, **options):
        from tests.agreement.study import CODERS, synthetic_study

        self.stdout.write(describe(settings))
        study = synthetic_study(texts=texts, length=length, excerpts=excerpts)
        with rolled_back(self.stdout):
            self.measure(build_study(study, CODERS, self.stdout))

    def measure(self, built):
        built.project.role = "pi"  # as `projects.access.get_project_for` gives it to the views
        times = {}

        def timed(label, step):
            began = time.perf_counter()
            result = step()
            times[label] = time.perf_counter() - began
            return result

        qde = timed(
            "read the project from the database (build_qde)", lambda: build_qde(built.project)
        )
        out = io.BytesIO()
        timed("write the .qdpx (project.qde and sources)", lambda: write_qdpx(qde, out))
        data = out.getvalue()
        back = timed("read the .qdpx back (read_qdpx)", lambda: read_qdpx(data))
        record = timed(
            "import it as a new project (one transaction)",
            lambda: import_qde(back, user=built.pi, source_name="bench.qdpx"),
        )
        rows = timed(
            "excerpts.csv for the PI (tidy)",
            lambda: tidy.excerpts_csv(tidy.load(user=built.pi, project=built.project)),
        )
        counts = record.report["counts"]
        self.stdout.write(
            f"archive: {len(data) / 1_048_576:.1f} MB; imported {counts['fieldnotes']} fieldnotes, "
            f"{counts['excerpts']:,} excerpts, {counts['codings']:,} codings; excerpts.csv "
            f"{len(rows) / 1_048_576:.1f} MB"
        )
        for label, seconds in times.items():
            self.stdout.write(f"  {seconds:6.2f} s  {label}")
        self.stdout.write(f"  {sum(times.values()):6.2f} s  in all")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(f"peak memory of the process: {peak:.0f} MB")
