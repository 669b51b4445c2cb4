"""What a rebuild's set-based statements share."""

from django.db import connection

# Memory a rebuild's statements may sort and hash in (PostgreSQL; for the current transaction
# only): with the default 4 MB the joins, sorts and aggregates of a million orders spill to disk.
BULK_WORK_MEM = "256MB"


def bulk_memory() -> None:
    """Raises work_mem for the current transaction, and turns its JIT compilation off
    (PostgreSQL; elsewhere nothing): a rebuild's statements are few and large, the planner
    compiles each of them (most of a second apiece, measured), and they ran no faster for it."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{BULK_WORK_MEM}'")
        cursor.execute("SET LOCAL jit = off")
