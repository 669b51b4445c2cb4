"""Database helpers the hot paths share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connection, connections


@contextmanager
def hot_cursor(alias: str = DEFAULT_DB_ALIAS):
    """A cursor for a hot path's one statement, wrapped as Django wraps its own (query logging,
    execute wrappers, error translation).

    On PostgreSQL it binds parameters on the server instead of psycopg's client-side binding,
    which Django uses by default: the statement is prepared once per connection (psycopg
    prepares a query it has seen `DATABASE_PREPARE_THRESHOLD` times, see settings; Django turns
    preparing off unless told) and a body travels as binary, not as an escaped
    literal the client builds and the server parses again; and it skips the per-request health
    check (below). Elsewhere it is Django's cursor.
    """
    db = connections[alias]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            yield cursor
        return
    import psycopg

    # No health check (CONN_HEALTH_CHECKS' `SELECT 1` before a request's first query): it is a
    # round trip as long as the statement itself. A connection that died meanwhile (PostgreSQL
    # restarted) fails this one statement instead, which the hot paths already answer without
    # losing anything (a webhook's 503 that the store retries, a click spooled), and Django
    # closes it at the request's end, so the next request reconnects.
    db.ensure_connection()
    with db.wrap_database_errors:
        cursor = db._prepare_cursor(psycopg.Cursor(db.connection))
    with cursor:
        yield cursor


@contextmanager
def summed_aside(name: str, select: str, params: Sequence | dict) -> Iterator[tuple[str, list]]:
    """A large read-only query (`select`, an aggregate or a join) for an INSERT to read: on
    PostgreSQL computed into a temporary table `name` first, where it may run on several cores
    (a statement that writes never does; at a million orders it is most of a rollup's build),
    and yielded as a SELECT of that table with no parameters; elsewhere yielded as it is."""
    if connection.vendor != "postgresql":
        yield select, params
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} AS {select}", params)
    yield f"SELECT * FROM pg_temp.{name}", []  # noqa: S608 - a name, not a value
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE pg_temp.{name}")


def among(column: str, values: Sequence) -> tuple[str, list]:
    """`column` is one of `values`, as SQL and its parameters. On PostgreSQL one array
    parameter (`= ANY(%s)`): the statement's text is the same however many values it names, so
    a `hot_cursor` prepares it once; elsewhere `IN (%s, ...)`."""
    if not values:
        return "1 = 0", []
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def decimal_read(value, places: Decimal) -> Decimal | None:
    """A numeric column's value read by a raw statement, as Django reads the field: SQLite
    answers REAL (or INTEGER) for numeric columns, PostgreSQL a Decimal."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(places)


def datetime_read(value) -> datetime | None:
    """A datetime column's value read by a raw statement, aware, as Django reads the field:
    SQLite answers text or a naive UTC datetime, PostgreSQL an aware datetime."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    return connection.ops.convert_datetimefield_value(value, None, connection)


@contextmanager
def pipelined(alias: str = DEFAULT_DB_ALIAS):
    """Statements run inside are sent without waiting for each one's answer (psycopg's pipeline
    mode, on PostgreSQL): a write whose result nobody reads costs no round trip of its own, it
    travels with the next statement that is read or with the block's end. Errors are raised at
    that point, translated as Django translates them. No COPY inside, nor a raw queryset (it reads
    a statement's columns before its rows have come back). Elsewhere it does nothing."""
    db = connections[alias]
    if db.vendor != "postgresql":
        yield
        return
    db.ensure_connection()
    with db.wrap_database_errors, db.connection.pipeline():
        yield
