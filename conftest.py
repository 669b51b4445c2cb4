"""Fixtures shared by the whole suite: workspace -> user -> client / api_client."""

import pytest
from django.core.cache import cache
from django_q.conf import Conf

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory


@pytest.fixture(autouse=True)
def _tasks_run_synchronously(monkeypatch):
    """django-q2 runs tasks in-process during tests, so a test sees their effects at once."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with empty throttle buckets (they live in the cache)."""
    cache.clear()
    yield
    cache.clear()


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
