"""Customer-visitor links learnt by attribution keep the earliest time each was seen, whether a
few arrive (the live path) or more than one statement's batch, and never touch another
workspace's links."""

from datetime import UTC, datetime, timedelta

import pytest

from attribution.engine.live import identities_learn
from attribution.engine.rows import BATCH
from attribution.models import VisitorIdentity
from tests.factories import WorkspaceFactory

AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("links", [3, BATCH + 500])
def test_links_are_stored_once_with_their_earliest_time(links):
    workspace, other = WorkspaceFactory(), WorkspaceFactory()
    VisitorIdentity.objects.create(
        workspace=workspace, customer_key="c0", visitor_id="v0", first_seen_at=AT
    )
    VisitorIdentity.objects.create(
        workspace=workspace, customer_key="c1", visitor_id="v1", first_seen_at=AT
    )
    VisitorIdentity.objects.create(
        workspace=other, customer_key="c0", visitor_id="v0", first_seen_at=AT
    )
    learnt = {(f"c{n}", f"v{n}"): AT + timedelta(minutes=n) for n in range(links)}
    learnt["c0", "v0"] = AT - timedelta(days=1)  # earlier than stored: it wins
    identities_learn(workspace, learnt)

    stored = dict(
        VisitorIdentity.objects.filter(workspace=workspace).values_list(
            "customer_key", "first_seen_at"
        )
    )
    assert len(stored) == links
    assert stored["c0"] == AT - timedelta(days=1)
    assert stored["c1"] == AT  # stored earlier than what was learnt: kept
    assert stored[f"c{links - 1}"] == AT + timedelta(minutes=links - 1)
    assert VisitorIdentity.objects.get(workspace=other).first_seen_at == AT
