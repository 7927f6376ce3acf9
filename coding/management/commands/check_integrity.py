"""Finds rows that break the rules the services keep: `manage.py check_integrity [--project ID]`.

Prints a one-line summary when everything holds; otherwise one line per problem, and exits with
status 1 so that a script or CI step fails. See `coding/integrity.py` for what is checked.
"""

from django.core.management.base import BaseCommand, CommandError

from coding.integrity import check_integrity, counts
from projects.models import Project


def plural(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


class Command(BaseCommand):
    help = (
        "Checks that excerpts lie inside their texts, codes belong to their project, reports "
        "name their codebook version and more; exits with status 1 when anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, help="Check only the project with this id.")

    def handle(self, *args, project=None, **options):
        if project is not None and not Project.objects.filter(pk=project).exists():
            raise CommandError(f"There is no project with id {project}.")
        problems = check_integrity(project)
        checked = counts(project)
        where = plural(checked.pop("project"), "project")
        if not problems:
            what = ", ".join(plural(number, noun) for noun, number in checked.items())
            self.stdout.write(f"No problems found in {where} ({what}).")
            return
        for problem in problems:
            self.stdout.write(str(problem))
        raise CommandError(f"{plural(len(problems), 'problem')} found in {where}.")
