from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from projects.demo import DEMO_PASSWORD, DEMO_PROJECT, PEOPLE, demo_exists, load_demo_study


class Command(BaseCommand):
    help = "Loads the demo study (a two-day learning community event) with demo logins."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "The demo study has well-known passwords, so it loads only when DEBUG is on."
            )
        if demo_exists():
            self.stdout.write(f"The demo study {DEMO_PROJECT!r} is already loaded.")
        else:
            project = load_demo_study()
            self.stdout.write(self.style.SUCCESS(f"Loaded the demo study {project.name!r}."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for person in PEOPLE:
            self.stdout.write(
                f"  {person.username:<9} {person.first_name} {person.last_name}, {person.role}"
            )
