from itertools import batched

from django.core.management.base import BaseCommand

from attribution.models import TrackedLink
from attribution.selectors import link_cache_put


class Command(BaseCommand):
    help = (
        "Writes every tracked link's redirect data into the shared cache (CACHE_URL), so that "
        "every link redirects while the database is down. New and changed links are written on "
        "their own; run this once after pointing CACHE_URL at a new or emptied Redis."
    )

    def handle(self, *args, **options):
        links = TrackedLink.objects.only("code", "workspace_id", "post_id", "tagged_url")
        count = 0
        for batch in batched(links.order_by("pk").iterator(chunk_size=2000), 2000):
            link_cache_put(batch)
            count += len(batch)
        self.stdout.write(f"{count} links written to the link cache.")
