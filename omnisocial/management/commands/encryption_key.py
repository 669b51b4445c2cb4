from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Prints a new key for FIELD_ENCRYPTION_KEYS (put it first to encrypt with it)."

    def handle(self, *args, **options):
        self.stdout.write(Fernet.generate_key().decode())
