from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from omnisocial.crypto import EncryptedTextField


class Command(BaseCommand):
    help = (
        "Re-encrypts every stored secret with the first key of FIELD_ENCRYPTION_KEYS; after it, "
        "the older keys can be removed from the setting."
    )

    def handle(self, *args, **options):
        done = 0
        for model in apps.get_models():
            names = [f.name for f in model._meta.concrete_fields
                     if isinstance(f, EncryptedTextField)]  # fmt: skip
            if not names:
                continue
            with transaction.atomic():
                # Read with any key, written with the first: saving encrypts afresh.
                for row in model.objects.select_for_update().iterator():
                    row.save(update_fields=names)
                    done += 1
        self.stdout.write(f"Re-encrypted the secrets of {done} rows with the first key.")
