"""The whole API against its own OpenAPI schema: schemathesis generates requests for every
operation of `/api/schema` (valid and invalid bodies, parameters, ids) and sends them through the
WSGI application with a workspace API key; no answer may be a server error, and every answer's
status code, content type and body must be ones the schema documents for the operation.

`/api/schema` answers authenticated requests only, and at collection there is no database to hold
an API key: the schema is made by the generator and renderer the endpoint uses, and
`test_the_schema_under_test_is_the_one_served` checks it is the very document the endpoint serves.

The number of examples per operation is bounded so the module stays fast; raise
`SCHEMATHESIS_EXAMPLES` for a longer run.
"""

import json
import os
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.settings import spectacular_settings
from hypothesis import HealthCheck, settings

from analytics.kpis import services as analytics_services
from commerce import services as commerce_services
from omnisocial import services
from omnisocial.wsgi import application
from tests.factories import AllowedDomainFactory, CampaignFactory, PostFactory, WorkspaceFactory

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))


def served_schema() -> dict:
    """What `GET /api/schema?format=json` answers, made as SpectacularAPIView makes it."""
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS(
        urlconf=spectacular_settings.SERVE_URLCONF
    )
    document = generator.get_schema(request=None, public=spectacular_settings.SERVE_PUBLIC)
    return json.loads(OpenApiJsonRenderer().render(document))


# Loaded once, at collection; the requests go through the WSGI application.
schema = schemathesis.openapi.from_dict(served_schema())
schema.app = application
schema.location = "/api/schema"


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes database connections at the end of each request, which would end
    the test's transaction on PostgreSQL; Django's own test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db):
    """A workspace with a little of everything, so ids 1, 2... name real objects."""
    workspace = WorkspaceFactory()
    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    campaign = CampaignFactory(workspace=workspace)
    PostFactory(workspace=workspace, campaign=campaign, link_url="https://shop.example/p")
    commerce_services.store_connect(
        workspace=workspace, platform="custom", shop_domain="shop.example"
    )
    analytics_services.kpi_create(workspace=workspace, name="Monthly", target=Decimal("100"))
    commerce_services.exchange_rates_load(
        rates=[(datetime(2026, 11, 1, tzinfo=UTC).date(), "EUR", "USD", Decimal("1.08"))]
    )
    _, raw_key = services.api_key_create(workspace=workspace, name="schemathesis")
    return raw_key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error_or_off_its_schema(case, api_key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        checks=[
            schemathesis.checks.not_a_server_error,
            schemathesis.checks.status_code_conformance,
            schemathesis.checks.content_type_conformance,
            schemathesis.checks.response_schema_conformance,
        ],
    )


def test_the_schema_under_test_is_the_one_served(api_key):
    response = Client().get(
        "/api/schema?format=json", headers={"authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 200
    assert response.json() == served_schema()
    assert schema.raw_schema == served_schema()
