"""Data-driven credit's removal effects: computed over every journey of a workspace (Markov
chains, attribution.markov) in a full rebuild, stored, and read back by the live path."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from attribution import markov
from attribution.journeys import JourneyTouch
from attribution.models import (
    AttributionState,
    Click,
    RemovalEffect,
    credited_key,
    key_columns,
)
from omnisocial.db import among, hot_cursor
from omnisocial.models import Workspace


def stored(workspace: Workspace, keys: Iterable | None = None) -> dict | None:
    """The stored removal effects by key (`JourneyTouch.key`): all of them, or only those of
    `keys` (one order's journey reads a handful of rows, not one per post of the workspace).
    None when there are none."""
    if keys is None:
        rows = RemovalEffect.objects.filter(workspace=workspace)
        effects = {row.key: row.effect for row in rows}
        return effects or None
    posts, campaigns, platforms = set(), set(), set()
    for post, campaign, platform in map(key_columns, keys):
        if post is not None:
            posts.add(post)
        elif campaign is not None:
            campaigns.add(campaign)
        else:
            platforms.add(platform)
    # One raw statement: the live path runs it for every order (the ORM's three-way OR compiles
    # in about a millisecond).
    clauses, arguments = [], [workspace.pk]
    for column, values in (("post_id", posts), ("campaign_id", campaigns), ("platform", platforms)):
        if values:
            among_values, values_params = among(column, sorted(values))
            clauses.append(f"{_KEY_OF[column]} AND {among_values}")
            arguments.extend(values_params)
    if not clauses:
        return None
    with hot_cursor() as cursor:
        cursor.execute(
            f"SELECT post_id, campaign_id, platform, effect FROM {RemovalEffect._meta.db_table} "  # noqa: S608 - names only
            f"WHERE workspace_id = %s AND (({') OR ('.join(clauses)}))",
            arguments,
        )
        found = cursor.fetchall()
    effects = {
        credited_key(post, campaign, platform): effect for post, campaign, platform, effect in found
    }
    return effects or None


# Which rows hold which kind of key (RemovalEffect's docstring).
_KEY_OF = {
    "post_id": "TRUE",
    "campaign_id": "post_id IS NULL",
    "platform": "post_id IS NULL AND campaign_id IS NULL",
}


def _row(workspace: Workspace, key, effect: float) -> RemovalEffect:
    post, campaign, platform = key_columns(key)
    return RemovalEffect(workspace=workspace, post_id=post, campaign_id=campaign,
                         platform=platform, effect=effect)  # fmt: skip


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
    RemovalEffect.objects.filter(workspace=workspace).delete()
    RemovalEffect.objects.bulk_create(
        [_row(workspace, key, value) for key, value in effects.items()], batch_size=2000
    )
    AttributionState.objects.filter(pk=state.pk).update(converting_journeys=len(converting))
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
