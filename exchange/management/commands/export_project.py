from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exchange.backup import BackupError, export_backup
from projects.models import Project


class Command(BaseCommand):
    help = (
        "Writes a whole project as a backup: a .qdpx that other tools can open, plus what "
        "REFI-QDA cannot hold (accounts with password hashes, rounds, reports, history, lay "
        "panel links). Keep it as safely as the database itself."
    )

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int, help="The project's id (in its address).")
        parser.add_argument("path", help="Where to write the backup, e.g. study.qdpx.")

    def handle(self, *args, project_id, path, **options):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"There is no project with id {project_id}.")
        target = Path(path)
        if not target.parent.is_dir():
            raise CommandError(f"The folder {str(target.parent)!r} does not exist.")
        # Written beside the target and renamed at the end: a failed export leaves no half file.
        partial = target.with_name(f".{target.name}.partial")
        try:
            with partial.open("wb") as out:
                counts = export_backup(project, out)
            partial.replace(target)
        except (BackupError, OSError) as error:
            partial.unlink(missing_ok=True)
            raise CommandError(f"The backup could not be written: {error}") from None
        self.stdout.write(
            self.style.SUCCESS(f"Wrote project {project.pk} “{project.name}” to {target}.")
        )
        for name, count in counts.items():
            self.stdout.write(f"  {name.replace('_', ' ')}: {count}")
        self.stdout.write(
            "The backup holds password hashes: keep it as safely as the database itself."
        )
