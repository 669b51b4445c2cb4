"""Database helpers the hot paths share."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections


@contextmanager
def hot_cursor(alias: str = DEFAULT_DB_ALIAS):
    """A cursor for a hot path's one statement, wrapped as Django wraps its own (query logging,
    execute wrappers, error translation).

    On PostgreSQL it binds parameters on the server instead of psycopg's client-side binding,
    which Django uses by default: the statement is prepared once per connection (psycopg
    prepares a query it has seen five times) and a body travels as binary, not as an escaped
    literal the client builds and the server parses again. Elsewhere it is Django's cursor.
    """
    db = connections[alias]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    import psycopg

    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        cursor = db._prepare_cursor(psycopg.Cursor(db.connection))
    with cursor:
        yield cursor
