from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from imis.shared_apps.accounts.models import User
from imis.shared_apps.accounts.services import api_token_create
from imis.shared_apps.tenants.models import Municipality


class Command(BaseCommand):
    help = "Create a personal API token for a user in one municipality; prints the token once."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--municipality", required=True, help="slug")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, **options):
        user = User.objects.filter(email=options["email"].lower()).first()
        if user is None:
            raise CommandError(f"No user with email {options['email']}.")
        municipality = Municipality.objects.filter(slug=options["municipality"]).first()
        if municipality is None:
            raise CommandError(f"No municipality with slug {options['municipality']}.")
        try:
            _token, key = api_token_create(user=user, municipality=municipality, name=options["name"])
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(key)
