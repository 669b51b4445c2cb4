"""Workspace isolation, walked over every URL pattern the project has.

Workspace B gets one object of every kind (post, campaign, link, click, allowed domain, store,
delivery, order, coupon, KPI, alert, API key), each carrying the marker `bravosecret` in a field the
pages or the API would show. A user of workspace A (browser session) and an API key of workspace A
then request every pattern:

- a pattern with an object id is requested with B's object id, with every method the view
  implements: the answer is 404 or 403 (an API key on a page is sent to the login page instead:
  keys never open a browser session), never B's data, and B's objects are unchanged afterwards;
- a pattern without an id is requested (GET, also with B's ids as filters) and never shows B's data.

A pattern the walk cannot map to one of B's objects fails the test: add its url name to
`OBJECT_OF` (or, for a public or staff-only pattern, to `EXCLUDED` with the reason).
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django.utils import timezone

from analytics.kpis import services as analytics_services
from analytics.models import Alert
from attribution import engine
from attribution import services as attribution_services
from attribution.models import Click, Recalculation
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData
from commerce.models import CommerceOrder, WebhookDelivery
from omnisocial import services
from omnisocial.models import ApiKey
from tests.commerce import signing
from tests.factories import (
    AllowedDomainFactory,
    CampaignFactory,
    MembershipFactory,
    PostFactory,
    StoreConnectionFactory,
    UserFactory,
    WorkspaceFactory,
)

MARKER = "bravosecret"

# url name -> the kind of B's object its id names.
OBJECT_OF = {
    "post-detail": "post",
    "post-edit": "post",
    "post-links": "post",
    "api-post": "post",
    "api-campaign": "campaign",
    "api-key": "api_key",
    "attribution:api-domain": "domain",
    "attribution:api-recalculation": "recalculation",
    "revenue-api:post": "post",
    "commerce:store-detail": "store",
    "commerce:store-disconnect": "store",
    "commerce:api-store-detail": "store",
    "commerce:api-store-rotate": "store",
    "analytics:post": "post",
    "analytics:order": "order",
    "analytics:kpi-delete": "kpi",
    "analytics:api-kpi-detail": "kpi",
    "analytics:alert-acknowledge": "alert",
    "analytics:api-alert-acknowledge": "alert",
}

# Patterns outside the walk, each with the reason.
EXCLUDED = {
    # Public by design: the visitor following a short link has no account; the code is the secret.
    "click-redirect": "public short-link redirect",
    # Public by design: authenticated by the store's signature, tested in tests/commerce.
    "commerce:webhook": "store webhooks, authenticated by signature",
    # Logging in and out concern no workspace's data.
    "login": "the login form",
    "logout": "logging out",
    # Keyed by a secret: a random token of which only the hash is stored (tests/omnisocial/
    # test_team.py), and Django's password-reset token.
    "invitation-accept": "an invitation link, keyed by its token",
    "password_reset_confirm": "a password-reset link, keyed by Django's token",
}
# The admin is staff-only (superusers see every workspace): test_admin_refuses_non_staff below.
EXCLUDED_PREFIXES = ("admin/",)
METHODS = ("get", "post", "put", "patch", "delete")


def walk(patterns, prefix="", namespace=""):
    """(url name, pattern text, URLPattern) of every leaf pattern, with namespaces."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            yield name, prefix + str(pattern.pattern), pattern


def id_parameters(pattern: URLPattern) -> list[str]:
    converters = getattr(pattern.pattern, "converters", {})
    return [name for name, conv in converters.items() if isinstance(conv, IntConverter)]


def implemented_methods(pattern: URLPattern) -> list[str]:
    view = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
    if view is None:
        return list(METHODS)
    return [method for method in METHODS if hasattr(view, method)]


def is_page(pattern: URLPattern) -> bool:
    """Pages (Django views) as opposed to the API (DRF views, which take API keys)."""
    return not hasattr(pattern.callback, "cls")


@pytest.fixture
def workspace_b(db, django_capture_on_commit_callbacks):
    now = timezone.now()
    b = WorkspaceFactory(name=f"Workspace {MARKER}", slug=f"ws-{MARKER}")
    owner = UserFactory(username=f"owner@{MARKER}.example")
    MembershipFactory(user=owner, workspace=b)
    store = StoreConnectionFactory(
        workspace=b, name=f"Store {MARKER}", shop_domain=f"{MARKER}.myshopify.com",
        webhook_secret=f"shpss_{MARKER}_secret",
    )  # fmt: skip
    domain = AllowedDomainFactory(workspace=b, domain=f"{MARKER}-shop.example")
    campaign = CampaignFactory(workspace=b, name=f"Campaign {MARKER}", slug=f"{MARKER}-sale")
    post = PostFactory(
        workspace=b, campaign=campaign, caption=f"Caption {MARKER}", reference=f"{MARKER}-post",
        link_url=f"https://{MARKER}-shop.example/products/hat", published_at=now - timedelta(days=2),
    )  # fmt: skip
    link = attribution_services.link_tag(post=post, url=f"https://{store.shop_domain}/p/{MARKER}")
    Client().get(link.short_path, headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64)"})
    coupon = commerce_services.coupon_save(workspace=b, code=f"{MARKER}10", posts=[post])
    data = OrderData(
        external_id=f"{MARKER}-1", order_number=f"#{MARKER}-1", created_at=now - timedelta(days=1),
        updated_at=now - timedelta(days=1), currency="USD", total_price=Decimal("123.45"),
        attribution=Attribution(utm_content=f"{MARKER}-post", utm_source="instagram",
                                utm_campaign=f"{MARKER}-sale"),
        coupon_codes=[coupon.code], customer_id=f"{MARKER}-customer",
        lines=[LineData(title=f"Hat {MARKER}", quantity=1, price=Decimal("123.45"))],
    )  # fmt: skip
    order = commerce_services.order_save(store=store, data=data)
    engine.order_attribute(order_id=order.pk)
    # A delivery through the real endpoint, signed with B's secret.
    payload = json.loads(signing.fixture_bytes("shopify_order_create.json"))
    payload.update(id=990001, name=f"#{MARKER}-2", note=MARKER)
    body = json.dumps(payload).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            signing.url(store), body, content_type="application/json",
            **signing.shopify_headers(store, body, event_id=f"{MARKER}-event"),
        )  # fmt: skip
    assert response.status_code == 200, response.content
    delivery = WebhookDelivery.objects.get(store=store)
    assert delivery.status == WebhookDelivery.Status.PROCESSED, delivery.error
    kpi = analytics_services.kpi_create(workspace=b, name=f"KPI {MARKER}", target=Decimal("10"))
    alert = Alert.objects.create(
        workspace=b, kind=Alert.Kind.KPI_BEHIND, title=f"Alert {MARKER}", message=MARKER, kpi=kpi,
        dedupe_key=f"{MARKER}-alert", created_at=now,
    )  # fmt: skip
    api_key, _ = services.api_key_create(workspace=b, name=f"Key {MARKER}")
    recalculation = Recalculation.objects.create(workspace=b, requested_by=f"Key {MARKER}")
    assert Click.objects.filter(link=link).exists()
    return {
        "workspace": b, "store": store, "domain": domain, "campaign": campaign, "post": post,
        "link": link, "coupon": coupon, "order": order, "delivery": delivery, "kpi": kpi,
        "alert": alert, "api_key": api_key, "recalculation": recalculation,
    }  # fmt: skip


@pytest.fixture
def clients(db):
    """A session user of workspace A and an API key of workspace A, A holding objects too."""
    a = WorkspaceFactory(name="Workspace A")
    user = UserFactory()
    MembershipFactory(user=user, workspace=a)
    StoreConnectionFactory(workspace=a)
    PostFactory(workspace=a, caption="A's own post")
    session = Client()
    session.force_login(user)
    _, raw_key = services.api_key_create(workspace=a, name="A's key")
    key = Client(headers={"authorization": f"Bearer {raw_key}"})
    return {"session": session, "key": key}


def refused(response, *, page: bool, by_key: bool) -> bool:
    if response.status_code in (403, 404, 405):
        return True
    # An API key opens no browser session: a page answers the login redirect.
    return page and by_key and response.status_code == 302 and "/accounts/login/" in response.url


def test_no_pattern_shows_or_changes_another_workspaces_objects(workspace_b, clients):
    b = workspace_b
    unmapped, failures, walked = [], [], 0
    for name, route, pattern in walk(get_resolver().url_patterns):
        if route.startswith(EXCLUDED_PREFIXES) or name in EXCLUDED:
            continue
        if not name:
            unmapped.append(f"{route} has no url name")
            continue
        ids = id_parameters(pattern)
        if ids and name not in OBJECT_OF:
            unmapped.append(name)
            continue
        if pattern.pattern.regex.groups and not ids:
            unmapped.append(f"{name} ({route}) takes parameters the walk cannot fill")
            continue
        page = is_page(pattern)
        if ids:
            url = reverse(name, kwargs={ids[0]: b[OBJECT_OF[name]].pk})
            requests = [(method, url) for method in implemented_methods(pattern)]
        else:
            url = reverse(name)
            filters = {"post": b["post"].pk, "campaign": b["campaign"].pk, "store": b["store"].pk}
            query = "&".join(f"{key}={value}" for key, value in filters.items())
            requests = [("get", url), ("get", f"{url}?{query}")]
        for label, client in clients.items():
            for method, target in requests:
                walked += 1
                body = {"name": f"taken by A {MARKER}"} if method != "get" else None
                response = getattr(client, method)(
                    target, *([json.dumps(body)] if body else []), content_type="application/json"
                )
                text = response.content.decode("utf-8", "replace").lower()
                where = f"{method.upper()} {target} as {label}: {response.status_code}"
                if response.status_code >= 500:
                    failures.append(f"{where} (server error)")
                if ids and not refused(response, page=page, by_key=label == "key"):
                    failures.append(f"{where}, expected 404 or 403")
                shown = text.replace(f"taken by a {MARKER}", "")
                if MARKER in shown:
                    failures.append(f"{where} shows workspace B's data")

    assert not unmapped, (
        "URL patterns the isolation walk cannot map to an object of another workspace: "
        f"{unmapped}. Add each to OBJECT_OF in tests/test_isolation.py (url name -> model), or to "
        "EXCLUDED with the reason if it is public."
    )
    assert not failures, "\n".join(failures)
    assert walked > 100

    # Nothing of B's changed.
    for kind in ("post", "campaign", "domain", "store", "kpi", "alert", "api_key", "order"):
        obj = b[kind]
        fresh = type(obj).objects.get(pk=obj.pk)
        assert MARKER in str(fresh.__dict__), f"B's {kind} changed"
    assert Alert.objects.get(pk=b["alert"].pk).acknowledged_at is None
    assert ApiKey.objects.get(pk=b["api_key"].pk).revoked_at is None
    store = type(b["store"]).objects.get(pk=b["store"].pk)
    assert store.webhook_secret == f"shpss_{MARKER}_secret"
    assert store.previous_webhook_secret in ("", None)
    assert CommerceOrder.objects.filter(store=store).count() == 2


def test_every_mapping_names_a_pattern():
    """No stale mapping, and every id pattern outside the admin is mapped or excluded."""
    names = {
        name for name, _, pattern in walk(get_resolver().url_patterns) if id_parameters(pattern)
    }
    walked = {
        name
        for name, route, pattern in walk(get_resolver().url_patterns)
        if id_parameters(pattern) and not route.startswith(EXCLUDED_PREFIXES)
    }
    assert walked - set(EXCLUDED) <= set(OBJECT_OF)
    assert set(OBJECT_OF) <= names, f"stale mappings: {set(OBJECT_OF) - names}"


@pytest.mark.parametrize("url", ["/admin/", "/admin/omnisocial/post/", "/admin/commerce/"])
def test_admin_refuses_non_staff(client, url):
    """The admin is for staff only: a workspace member is sent to the admin login."""
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
