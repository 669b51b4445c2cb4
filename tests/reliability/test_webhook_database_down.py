"""PostgreSQL goes away while a store delivers an order: the store is told 503 (so it retries),
nothing is half-written, and the retried delivery creates the order exactly once."""

import psycopg
import pytest
from django.db import connection
from django.test import Client

from commerce.models import CommerceOrder, WebhookDelivery
from tests.commerce.signing import url
from tests.factories import StoreConnectionFactory, WorkspaceFactory
from tests.reliability.conftest import (
    database_unreachable,
    deliveries_drain,
    postgresql_only,
    shopify_body,
    shopify_meta,
)

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def store():
    return StoreConnectionFactory(workspace=WorkspaceFactory(reporting_currency="USD"))


def deliver(store, body, event_id="evt-down-1"):
    return Client().post(
        url(store), body, content_type="application/json", **shopify_meta(store, body, event_id)
    )


def assert_retried_delivery_creates_the_order_once(store, body):
    first = deliver(store, body)
    deliveries_drain()
    again = deliver(store, body)  # the store's own retry of an answered delivery
    deliveries_drain()
    assert (first.status_code, again.status_code) == (200, 200)
    assert CommerceOrder.objects.filter(store=store, external_id="7001").count() == 1
    statuses = sorted(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "processed"]


def test_database_refusing_connections_answers_503_and_the_retry_creates_the_order_once(store):
    body = shopify_body(7001)
    with database_unreachable():
        response = deliver(store, body)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert b"Database unavailable" in response.content
    assert WebhookDelivery.objects.count() == 0
    assert CommerceOrder.objects.count() == 0

    assert_retried_delivery_creates_the_order_once(store, body)


def test_database_dying_mid_request_answers_503_with_nothing_half_written(store):
    """The server terminates the session just as the delivery is being written."""
    body = shopify_body(7001)
    pid = connection.cursor().connection.info.backend_pid
    params = {
        k: v
        for k, v in connection.get_connection_params().items()
        if k in {"dbname", "user", "password", "host", "port"}
    }

    def kill_before_insert(execute, sql, params_, many, context):
        if sql.startswith('INSERT INTO "commerce_webhookdelivery"'):
            with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return execute(sql, params_, many, context)

    try:
        with connection.execute_wrapper(kill_before_insert):
            response = deliver(store, body)
    finally:
        connection.close()  # what Django does with an unusable connection after a request
    assert response.status_code == 503
    assert WebhookDelivery.objects.count() == 0
    assert CommerceOrder.objects.count() == 0

    assert_retried_delivery_creates_the_order_once(store, body)


def test_a_connection_dead_between_requests_costs_one_503_and_the_next_delivery_reconnects(store):
    """The hot path skips Django's per-request health check (a round trip): a connection that
    died since the last request fails that one delivery with 503, which the store retries, and
    Django's end-of-request check closes it, so the retry reconnects and is stored once."""
    assert deliver(store, shopify_body(7001), "evt-up").status_code == 200
    pid = connection.connection.info.backend_pid
    params = {
        k: v
        for k, v in connection.get_connection_params().items()
        if k in {"dbname", "user", "password", "host", "port"}
    }
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    body = shopify_body(7002)
    assert deliver(store, body, "evt-after").status_code == 503
    connection.close_if_unusable_or_obsolete()  # what Django does when a request finishes
    assert deliver(store, body, "evt-after").status_code == 200
    deliveries_drain()
    assert CommerceOrder.objects.filter(store=store, external_id="7002").count() == 1
