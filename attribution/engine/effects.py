"""Data-driven credit's removal effects: computed over every journey of a workspace (Markov
chains, attribution.markov) in a full rebuild, stored, and read back by the live path."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from attribution import markov
from attribution.journeys import JourneyTouch
from attribution.models import AttributionState, Click
from omnisocial.models import Workspace


def stored(workspace: Workspace, keys: Iterable | None = None) -> dict | None:
    """The stored removal effects: all of them, or only those of `keys` (one order's journey
    reads a handful of keys from the database instead of parsing one per post of the
    workspace)."""
    if keys is None:
        state = AttributionState.objects.filter(workspace=workspace).first()
        if state is None or not state.removal_effects:
            return None
        return {_key_from_json(key): value for key, value in state.removal_effects.items()}
    names = sorted({_key_to_json(key) for key in keys})
    if not names:
        return None
    # Raw SQL: Django's JSON key lookups read an all-digit key ("123", a post) as an array index.
    if connection.vendor == "postgresql":
        column, arguments = "removal_effects ->> %s::text", names
    else:
        column, arguments = "json_extract(removal_effects, %s)", [f'$."{n}"' for n in names]
    columns = ", ".join([column] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {AttributionState._meta.db_table} WHERE workspace_id = %s",  # noqa: S608
            [*arguments, workspace.pk],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    effects = {
        _key_from_json(name): float(value)
        for name, value in zip(names, found, strict=True)
        if value is not None
    }
    return effects or None


def _key_to_json(key) -> str:
    return str(key) if isinstance(key, int) else f"{key[0]}:{key[1]}"


def _key_from_json(key: str):
    if key.isdigit():
        return int(key)
    kind, _, value = key.partition(":")
    return (kind, int(value) if value.isdigit() else value)


def compute(
    workspace, state, journeys: dict[int, list[JourneyTouch]], *, clicks_table=None
) -> dict:
    """Markov removal effects over every journey of the workspace: the orders' (converting) and
    the visitors' click paths that led to no order (non-converting: every human click of a
    visitor none of whose clicks is in a journey). `clicks_table`, when given, is the rebuild's
    scratch table of journey clicks (`touchpoints.journey_clicks`): the paths are then gathered
    in the database."""
    converting = [[t.key for t in journey] for _, journey in sorted(journeys.items()) if journey]
    if clicks_table is None:
        not_converting = _paths_not_converting(workspace, journeys)
    else:
        not_converting = _paths_not_converting_sql(workspace, clicks_table)
    effects = markov.removal_effects(
        [(keys, True) for keys in converting] + [(keys, False) for keys in not_converting]
    )
    AttributionState.objects.filter(pk=state.pk).update(
        removal_effects={_key_to_json(key): value for key, value in effects.items()},
        converting_journeys=len(converting),
    )
    return effects or None


def _paths_not_converting(workspace, journeys) -> list[list[int]]:
    """Each non-converting visitor's posts in click order, visitors in id order."""
    used_clicks = {t.click_pk for journey in journeys.values() for t in journey if t.click_pk}
    paths: dict[str, list] = {}
    clicks = (
        Click.objects.filter(workspace=workspace, is_bot=False)
        .exclude(visitor_id="")
        .order_by("visitor_id", "clicked_at", "pk")
        .values_list("visitor_id", "pk", "post_id")
    )
    converted_visitors = set()
    for visitor, pk, post_id in clicks.iterator(chunk_size=10_000):
        paths.setdefault(visitor, []).append(post_id)
        if pk in used_clicks:
            converted_visitors.add(visitor)
    return [path for visitor, path in paths.items() if visitor not in converted_visitors]


_NOT_CONVERTING = """
WITH converted AS (SELECT DISTINCT visitor_id FROM {scratch})
SELECT array_agg(c.post_id ORDER BY c.clicked_at, c.id)
FROM {clicks} c
WHERE c.workspace_id = %s AND NOT c.is_bot AND c.visitor_id <> ''
  AND NOT EXISTS (SELECT 1 FROM converted v WHERE v.visitor_id = c.visitor_id)
GROUP BY c.visitor_id
ORDER BY c.visitor_id
"""


def _paths_not_converting_sql(workspace, clicks_table: str) -> list[list[int]]:
    """The same paths, in the same order, gathered by one statement (PostgreSQL)."""
    statement = _NOT_CONVERTING.format(scratch=clicks_table, clicks=Click._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(statement, [workspace.pk])
        return [path for (path,) in cursor.fetchall()]
