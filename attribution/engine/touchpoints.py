"""A rebuild's journeys found in the database (PostgreSQL): the click touches of every order
(rules 1 and 2 of `attribution.journeys`) in one statement, instead of every click of the period
loaded into Python and matched order by order.

`journey_clicks` learns the customer links the orders show (one upsert), then writes each
order's clicks into a scratch table: the click the order carries, the clicks the storefront
snippet kept for it inside the lookback, and the clicks of its visitors (the carried click's
visitor, and the visitors linked to its customer by the order's time) inside the lookback.
`journeys` reads them back in journey order and completes each journey in Python with the rules
that need no click (landing UTMs, coupons, referrers: `JourneyContext.completed`), so both paths
share them. The removal effects read the same scratch table to tell converting
visitors from the others (`effects.compute`). The live path keeps `JourneyContext.load`, and a
test keeps the two equal for every model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction

from attribution.engine.bulk import bulk_memory
from attribution.journeys import JourneyContext, JourneyTouch, click_reach
from attribution.models import Click, MatchedField, VisitorIdentity
from commerce.models import CommerceOrder
from omnisocial.models import Post, Workspace

# The scratch table of one rebuild's journey clicks (temporary: this connection's only).
TABLE = "rebuild_journey_clicks"
FETCH = 20_000

_TABLES = {
    "orders": CommerceOrder._meta.db_table,
    "clicks": Click._meta.db_table,
    "identities": VisitorIdentity._meta.db_table,
    "posts": Post._meta.db_table,
    "scratch": TABLE,
}


def _orders_where(since: datetime | None) -> str:
    return "o.workspace_id = %(workspace)s" + (" AND o.created_at >= %(since)s" if since else "")


# Each link dated by the earliest order that shows it, never moved later (as identities_learn);
# in key order, as the unique index is laid out (a million links: each insert or conflict check
# lands beside the last one instead of anywhere in the index).
_LEARN = """
INSERT INTO {identities} (workspace_id, customer_key, visitor_id, first_seen_at)
SELECT %(workspace)s, o.customer_key, c.visitor_id, MIN(o.created_at)
FROM {orders} o JOIN {clicks} c ON c.click_id = o.osc_click
WHERE {where} AND o.customer_key <> '' AND o.osc_click <> ''
  AND c.workspace_id = %(workspace)s AND NOT c.is_bot AND c.visitor_id <> ''
GROUP BY o.customer_key, c.visitor_id
ORDER BY o.customer_key, c.visitor_id
ON CONFLICT (workspace_id, customer_key, visitor_id) DO UPDATE
SET first_seen_at = EXCLUDED.first_seen_at
WHERE EXCLUDED.first_seen_at < {identities}.first_seen_at
"""

# Rule 1: the click the order carries (however old, never after the order), and the clicks the
# snippet kept (`osc_clicks`) inside the lookback. Rule 2: the clicks of the visitors linked to
# the order's customer by its time, inside the lookback; for an order without a customer, of its
# carried click's visitor. The learnt links include the carried click's visitor (dated by this
# order at the latest), so the branches find clicks the others do not; a kept click is left to
# the branch that finds it anyway (the carried one, or one of the order's visitors'), so no step
# has to remove duplicates.
_JOURNEY_CLICKS = """
CREATE TEMPORARY TABLE {scratch} AS
WITH o AS (
    SELECT o.id, o.created_at, o.osc_click, o.osc_clicks, o.customer_key
    FROM {orders} o WHERE {where}
), direct AS (
    SELECT o.id AS order_id, o.created_at, o.customer_key, c.id AS click_pk, c.visitor_id,
           c.post_id, c.clicked_at, c.click_id
    FROM o JOIN {clicks} c ON c.click_id = o.osc_click
    WHERE o.osc_click <> '' AND c.workspace_id = %(workspace)s AND NOT c.is_bot
      AND c.clicked_at <= o.created_at
), visitors AS (
    SELECT o.id AS order_id, o.created_at, i.visitor_id
    FROM o JOIN {identities} i ON i.customer_key = o.customer_key
    WHERE o.customer_key <> '' AND i.workspace_id = %(workspace)s
      AND i.first_seen_at <= o.created_at AND i.visitor_id <> ''
    UNION ALL
    SELECT order_id, created_at, visitor_id FROM direct
    WHERE customer_key = '' AND visitor_id <> ''
), kept AS (
    SELECT o.id AS order_id, c.id AS click_pk, c.visitor_id, c.post_id, c.clicked_at, c.click_id
    FROM o CROSS JOIN LATERAL jsonb_array_elements_text(o.osc_clicks) AS k(click_id)
    JOIN {clicks} c ON c.click_id = k.click_id
    WHERE o.osc_clicks <> '[]'::jsonb AND k.click_id <> o.osc_click
      AND c.workspace_id = %(workspace)s AND NOT c.is_bot
      AND c.clicked_at >= o.created_at - %(lookback)s * INTERVAL '1 second'
      AND c.clicked_at <= o.created_at
)
SELECT v.order_id, c.id AS click_pk, c.visitor_id, c.post_id, c.clicked_at, c.click_id
FROM visitors v JOIN {clicks} c ON c.visitor_id = v.visitor_id
WHERE c.workspace_id = %(workspace)s AND NOT c.is_bot
  AND c.clicked_at >= v.created_at - %(lookback)s * INTERVAL '1 second'
  AND c.clicked_at <= v.created_at
UNION ALL
SELECT order_id, click_pk, visitor_id, post_id, clicked_at, click_id FROM direct
WHERE visitor_id = '' OR clicked_at < created_at - %(lookback)s * INTERVAL '1 second'
UNION ALL
SELECT order_id, click_pk, visitor_id, post_id, clicked_at, click_id FROM kept k
WHERE NOT EXISTS (
    SELECT 1 FROM visitors v WHERE v.order_id = k.order_id AND v.visitor_id = k.visitor_id
)
"""

# JourneyTouch's fields, in journey order within each order (time, then click).
_TOUCHES = """
SELECT j.order_id, j.post_id, p.campaign_id, COALESCE(p.platform, ''), j.clicked_at,
       j.click_id, j.click_pk, j.visitor_id
FROM {scratch} j LEFT JOIN {posts} p ON p.id = j.post_id AND p.workspace_id = %(workspace)s
ORDER BY j.order_id, j.clicked_at, j.click_pk
"""


@contextmanager
def journey_clicks(workspace: Workspace, *, since: datetime | None) -> Iterator[str]:
    """Learns the orders' customer links, then yields the scratch table of every order's
    journey clicks (order_id, click_pk, and the click's visitor_id, post_id, clicked_at and
    click_id) until the block ends."""
    where = _orders_where(since)
    arguments = {
        "workspace": workspace.pk,
        "since": since,
        "lookback": workspace.lookback_days * 86400,
    }
    # Committed at once: the live path upserts the same links, and must not wait for us.
    with transaction.atomic(), connection.cursor() as cursor:
        bulk_memory()
        cursor.execute(_LEARN.format(where=where, **_TABLES), arguments)
    # One transaction for the scratch table's life: it works behind a pooler that hands each
    # transaction its own server connection, and the read runs on a cursor without hold. The
    # removal effects' statements run in it too, with the same memory to sort in.
    with transaction.atomic(), connection.cursor() as cursor:
        bulk_memory()
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{TABLE}")  # never a real table
        cursor.execute(_JOURNEY_CLICKS.format(where=where, **_TABLES), arguments)
        cursor.execute(f"ANALYZE {TABLE}")
        yield TABLE  # an error rolls the table back with the transaction
        cursor.execute(f"DROP TABLE pg_temp.{TABLE}")


def journeys(workspace: Workspace, orders: Sequence, table: str) -> dict[int, list[JourneyTouch]]:
    """Every order's journey: its click touches read from `table`, completed by the rules that
    need no click."""
    found: dict[int, list[tuple]] = {}
    with connection.chunked_cursor() as cursor:
        cursor.execute(_TOUCHES.format(**_TABLES | {"scratch": table}), {"workspace": workspace.pk})
        while rows := cursor.fetchmany(FETCH):
            for row in rows:
                listed = found.get(row[0])
                if listed is None:
                    found[row[0]] = [row]
                else:
                    listed.append(row)
    context = JourneyContext.load_references(workspace, orders)
    return {
        order.pk: context.completed(order, _click_touches(order, found.pop(order.pk, ())))
        for order in orders
    }


def _click_touches(order, rows: Sequence[tuple]) -> list[JourneyTouch]:
    """An order's click rows as journey touches, each with how it was reached (the carried
    click's visitor tells this browser's clicks from the customer's other ones)."""
    if not rows:
        return []
    cookie = order.osc_click
    cookie_visitor = next((row[7] for row in rows if cookie and row[5] == cookie), "")
    click_id = MatchedField.CLICK_ID
    return [
        JourneyTouch(post_id, campaign_id, platform, at, click_id, value, pk, pk,
                     click_reach(order, value, visitor, cookie_visitor))
        for _, post_id, campaign_id, platform, at, value, pk, visitor in rows
    ]  # fmt: skip
