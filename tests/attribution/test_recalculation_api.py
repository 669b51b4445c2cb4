"""Starting and following a recalculation through the API, and reading the removal effects the
data-driven model credits from: real keys, real HTTP, the real engine (tasks run in-process)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from attribution.engine import effects
from attribution.models import AttributionState, Recalculation, RevenueAttribution
from commerce.models import CommerceOrder
from omnisocial.models import ApiKey, Post, Workspace
from tests.analytics.conftest import key_client, order_record
from tests.analytics.test_reconciliation import shop, today  # noqa: F401 - fixtures
from tests.attribution.test_engine import ORDER_AT
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    WorkspaceFactory,
)

LIST = "/attribution/recalculations"


@pytest.fixture
def store(db):
    workspace = WorkspaceFactory(slug="north")
    store = StoreConnectionFactory(workspace=workspace)
    post = PostFactory(workspace=workspace, platform="instagram", reference="post-1")
    for n in range(1, 4):
        order_record(store, n, at=ORDER_AT - timedelta(days=n), total="30.00",
                     utm_content=post.reference)  # fmt: skip
    return store


def test_a_recalculation_is_queued_then_followed_to_its_outcome(
    store, django_capture_on_commit_callbacks
):
    api = key_client(store.workspace)
    CommerceOrder.objects.filter(workspace=store.workspace).update(total_price="45.00")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(LIST, {}, format="json")
    assert response.status_code == 202
    queued = response.json()
    assert (queued["status"], queued["since"], queued["orders"]) == ("queued", None, None)
    assert queued["requestedBy"].startswith("test client (osk_")
    assert response["Location"] == f"{LIST}/{queued['id']}"

    done = api.get(response["Location"]).json()
    assert (done["status"], done["orders"], done["attributions"], done["error"]) == (
        "done", 3, 3 * 6, "",
    )  # fmt: skip
    assert done["startedAt"] <= done["finishedAt"]
    # The rebuild read the orders as they are now.
    credited = RevenueAttribution.objects.filter(
        workspace=store.workspace, attribution_model="last-touch"
    ).values_list("revenue", flat=True)
    assert sorted(str(amount) for amount in credited) == ["45.00"] * 3
    assert [row["id"] for row in api.get(LIST).json()["results"]] == [queued["id"]]


def test_a_second_request_while_one_is_pending_is_a_409_naming_it(store):
    api = key_client(store.workspace)
    first = api.post(LIST, {"since": "2026-11-01"}, format="json").json()  # not yet run
    assert first["since"] == "2026-11-01"

    again = api.post(LIST, {}, format="json")
    assert again.status_code == 409
    assert again.json() == {
        "detail": f"Recalculation {first['id']} is queued; follow it at {LIST}/{first['id']}.",
        "code": "conflict",
    }
    assert Recalculation.objects.count() == 1


def test_a_run_whose_worker_died_no_longer_blocks_a_new_one(store):
    api = key_client(store.workspace)
    lost = api.post(LIST, {}, format="json").json()
    Recalculation.objects.filter(pk=lost["id"]).update(
        status="running", started_at=timezone.now() - timedelta(hours=1),
        created_at=timezone.now() - timedelta(hours=1),  # asked for an hour ago: no cooldown
    )  # fmt: skip
    assert api.post(LIST, {}, format="json").status_code == 202
    old = api.get(f"{LIST}/{lost['id']}").json()
    assert old["status"] == "failed"
    assert old["error"].startswith("The worker running it stopped")


def test_a_failing_recalculation_records_why(store, django_capture_on_commit_callbacks):
    Workspace.objects.filter(pk=store.workspace.pk).update(time_zone="Mars/Olympus_Mons")
    api = key_client(Workspace.objects.get(pk=store.workspace.pk))
    with django_capture_on_commit_callbacks(execute=True):
        location = api.post(LIST, {}, format="json")["Location"]
    failed = api.get(location).json()
    assert failed["status"] == "failed"
    assert "No time zone found with key Mars/Olympus_Mons" in failed["error"]
    assert failed["orders"] is None


@pytest.mark.parametrize(
    ("since", "reason"),
    [("0001-01-01", "Give a day from 2000-01-01 to 2099-12-31."), ("soon", "Date has wrong")],
)
def test_a_bad_since_is_a_400_and_queues_nothing(store, since, reason):
    response = key_client(store.workspace).post(LIST, {"since": since}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["since"][0].startswith(reason)
    assert not Recalculation.objects.exists()


def test_recalculations_are_the_workspaces_own_and_need_a_write_role(store):
    mine = key_client(store.workspace).post(LIST, {}, format="json").json()
    other = key_client(WorkspaceFactory(slug="south"))
    assert other.get(f"{LIST}/{mine['id']}").status_code == 404
    assert other.get(LIST).json()["results"] == []

    from rest_framework.test import APIClient

    from omnisocial.services import api_key_create

    _, raw = api_key_create(workspace=store.workspace, name="read", scope=ApiKey.Scope.READ)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert reader.post(LIST, {}, format="json").status_code == 403
    assert reader.get(f"{LIST}/{mine['id']}").json()["id"] == mine["id"]


def test_the_removal_effects_are_those_data_driven_credit_uses(
    shop,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    workspace = shop["workspace"]
    api = key_client(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(LIST, {}, format="json").status_code == 202
    answer = api.get("/attribution/removal-effects").json()
    state = AttributionState.objects.get(workspace=workspace)
    stored = effects.stored(workspace)
    assert answer["convertingJourneys"] == state.converting_journeys >= 30
    assert answer["fallback"] is False
    assert answer["computedAt"] is not None
    assert len(answer["effects"]) == len(stored)
    by_post = {row["postId"]: row["effect"] for row in answer["effects"] if row["postId"]}
    assert by_post == {key: value for key, value in stored.items() if isinstance(key, int)}
    values = [row["effect"] for row in answer["effects"]]
    assert values == sorted(values, reverse=True)
    platforms = {row["postId"]: row["platform"] for row in answer["effects"] if row["postId"]}
    assert platforms == dict(workspace.posts.filter(pk__in=by_post).values_list("pk", "platform"))
    # Data-driven rows are computed from them (no fallback to multi-touch).
    rows = RevenueAttribution.objects.filter(workspace=workspace, attribution_model="data-driven")
    assert rows.exists() and not rows.filter(is_fallback=True).exists()


def test_removal_effects_before_any_recalculation_say_they_fall_back(store):
    answer = key_client(store.workspace).get("/attribution/removal-effects").json()
    assert answer == {"convertingJourneys": 0, "computedAt": None, "fallback": True, "effects": []}


def test_the_compare_page_shows_the_largest_removal_effects_the_api_lists(
    shop,  # noqa: F811 - the fixture
    django_capture_on_commit_callbacks,
):
    workspace = shop["workspace"]
    api = key_client(workspace)
    page = Client()
    page.force_login(MembershipFactory(workspace=workspace).user)
    before = page.get("/analytics/revenue/compare/").content.decode()
    assert "no full recalculation has run yet" in before
    assert 'id="effects"' not in before

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(LIST, {}, format="json").status_code == 202
    answer = api.get("/attribution/removal-effects").json()
    response = page.get("/analytics/revenue/compare/")
    html = response.content.decode()
    assert f"From {answer['convertingJourneys']} converting journeys" in html
    shown = response.context["learnt"].effects
    assert len(shown) == min(10, len(answer["effects"]))
    assert [(row.post_id, row.effect) for row in shown] == [
        (row["postId"], row["effect"]) for row in answer["effects"][: len(shown)]
    ]
    table = html[html.index('id="effects"') :]
    rows = table.split("</tr>")[1 : len(shown) + 1]
    for row, effect in zip(rows, shown, strict=True):
        if effect.post_id:
            caption = Post.objects.get(pk=effect.post_id).caption[:20]
            assert f"/analytics/posts/{effect.post_id}/" in row and caption in row
        assert f"{Decimal(effect.effect) * 100:.1f}%" in row
    assert table.count("<tr>") == len(shown) + 1  # the head and one row per effect


@pytest.mark.django_db(transaction=True)
def test_the_removal_effects_stored_as_json_become_rows():
    """Migration 0015 carries a workspace's stored effects over, keys of every kind."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    workspace = WorkspaceFactory(slug="west")
    post = PostFactory(workspace=workspace)
    campaign = CampaignFactory(workspace=workspace)
    executor = MigrationExecutor(connection)
    executor.migrate([("attribution", "0014_daily_revenue_cells")])
    old = executor.loader.project_state([("attribution", "0014_daily_revenue_cells")]).apps
    old.get_model("attribution", "AttributionState").objects.create(
        workspace_id=workspace.pk, converting_journeys=41,
        removal_effects={str(post.pk): 0.625, f"campaign:{campaign.pk}": 0.1,
                         "platform:tiktok": 1 / 3},
    )  # fmt: skip
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert effects.stored(workspace) == {
        post.pk: 0.625,
        ("campaign", campaign.pk): 0.1,
        ("platform", "tiktok"): 1 / 3,
    }
    assert effects.stored(workspace, [("platform", "tiktok"), post.pk, ("campaign", 999)]) == {
        post.pk: 0.625,
        ("platform", "tiktok"): 1 / 3,
    }
    assert AttributionState.objects.get(workspace=workspace).converting_journeys == 41
