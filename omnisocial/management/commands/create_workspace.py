from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from omnisocial import services


class Command(BaseCommand):
    help = "Creates a workspace with its owner; --api-key also prints a new API key, once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner", required=True, metavar="EMAIL")
        parser.add_argument("--password", help="Owner's password (new users get none otherwise).")
        parser.add_argument("--currency", default="USD", help="Reporting currency (ISO 4217).")
        parser.add_argument("--time-zone", default="UTC", help="IANA time zone, e.g. Europe/Paris.")
        parser.add_argument("--api-key", action="store_true", help="Create an API key too.")

    def handle(self, *args, **options):
        try:
            workspace = services.workspace_create(
                name=options["name"],
                owner_email=options["owner"],
                owner_password=options["password"],
                reporting_currency=options["currency"],
                time_zone=options["time_zone"],
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from exc
        self.stdout.write(f"Created workspace {workspace.name!r} (slug {workspace.slug}).")
        if options["api_key"]:
            _, raw_key = services.api_key_create(workspace=workspace, name="Created at set-up")
            self.stdout.write(f"API key (shown once, store it now): {raw_key}")


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)
