from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exchange.backup import BackupError, import_backup


class Command(BaseCommand):
    help = (
        "Restores a project from a backup made by export_project, as a new project; its accounts "
        "come along, matched to existing ones by their exchange GUID, else by username. A plain "
        ".qdpx from another tool is imported as a REFI-QDA project."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup (.qdpx) to restore.")
        parser.add_argument(
            "--as",
            dest="username",
            help="Who is recorded as importing it (needed for a plain .qdpx, who becomes its PI).",
        )

    def handle(self, *args, path, username=None, **options):
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"There is no file {path!r}.")
        user = None
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"There is no account with the username {username!r}.")
        try:
            project = import_backup(source.read_bytes(), user=user, source_name=source.name)
        except BackupError as error:
            raise CommandError(f"{source.name} could not be imported: {error}") from None
        record = project.import_records.order_by("-pk").first()
        backup = (record.report or {}).get("backup", {}) if record else {}
        self.stdout.write(
            self.style.SUCCESS(f"Imported {source.name} as project {project.pk} “{project.name}”.")
        )
        for name, count in backup.get("counts", {}).items():
            self.stdout.write(f"  {name.replace('_', ' ')}: {count}")
        for note in backup.get("notes", []):
            self.stdout.write(self.style.WARNING(note))
