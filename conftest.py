"""Fixtures shared by the whole suite: workspace -> user -> client / api_client."""

import os

import pytest
from django.core.cache import cache
from django_q.conf import Conf
from hypothesis import settings as hypothesis_settings

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

# `make test` (and CI) draws the same examples every run, so a verdict is reproducible on any
# machine; `make fuzz` (HYPOTHESIS_PROFILE=explore) draws new ones each time and keeps exploring.
hypothesis_settings.register_profile("seeded", derandomize=True, database=None)
hypothesis_settings.register_profile(
    "explore",
    derandomize=False,
    database=None,
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "100")),
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "seeded"))


@pytest.fixture(autouse=True)
def _tasks_run_synchronously(monkeypatch):
    """django-q2 runs tasks in-process during tests, so a test sees their effects at once."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with empty throttle buckets (they live in the cache) and no hot links."""
    from attribution.selectors import hot_links_clear

    cache.clear()
    hot_links_clear()
    yield
    cache.clear()
    hot_links_clear()


@pytest.fixture
def workspace(db):
    return WorkspaceFactory()


@pytest.fixture
def user(workspace):
    user = UserFactory()
    MembershipFactory(user=user, workspace=workspace)
    return user


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def anon_client():
    from django.test import Client

    return Client()


@pytest.fixture
def api_client(user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(user)
    return api


@pytest.fixture(autouse=True)
def _domain_receivers_stay_connected():
    """A test that leaves the commerce signals without the attribution receivers would silently
    turn attribution off for every later test: fail that test instead."""
    from commerce import signals

    yield
    for name in ("order_recorded", "order_changed", "orders_bulk_written"):
        uids = [lookup_key[0] for lookup_key, *_ in getattr(signals, name).receivers]
        assert f"attribution.{name}" in uids, f"a test disconnected attribution's {name} receiver"
