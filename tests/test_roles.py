"""Roles, walked over every URL pattern the project has, as the isolation walk is.

Each member of a workspace has a role (viewer, analyst, owner) and each API key a scope (read,
write: an analyst's rights; no key is ever an owner). Every write (POST, PUT, PATCH, DELETE) of
every pattern is sent, with the workspace's own objects' ids, by everyone below the role it needs:
each answer is a refusal (403; a key on a page is sent to the login page) and nothing changes.
Then the roles that may write are shown to get past the check.
"""

import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from analytics.kpis import services as analytics_services
from analytics.models import Alert
from attribution.models import Recalculation
from commerce import services as commerce_services
from omnisocial import services
from omnisocial.models import ApiKey, Campaign, Membership, Post
from tests.factories import (
    AllowedDomainFactory,
    CampaignFactory,
    MembershipFactory,
    PostFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.test_isolation import (
    EXCLUDED,
    EXCLUDED_PREFIXES,
    OBJECT_OF,
    id_parameters,
    implemented_methods,
    is_page,
    walk,
)

Role = Membership.Role
RANK = {Role.VIEWER: 0, Role.ANALYST: 1, Role.OWNER: 2}
WRITES = ("post", "put", "patch", "delete")
# What only an owner may write: keys, stores (their secrets are the keys to their orders), the
# workspace's members and its settings. A pattern added here or losing its owner rule fails the
# walk.
OWNER_ONLY = {
    "api-keys", "api-key", "api-whoami", "workspace-settings", "commerce:store-list",
    "commerce:api-store-list", "commerce:api-store-rotate", "commerce:store-detail",
    "team", "api-key-list", "commerce:store-disconnect", "platform-connections",
}  # fmt: skip
# Writes that concern no workspace's data: choosing one's workspace, logging in and out (the
# home page is the login form for visitors and a redirect for members), the first run and
# sign-up (a new account and workspace) and asking for a password reset.
NOT_WORKSPACE_WRITES = {
    "workspace-switch", "logout", "login", "home", "welcome", "signup", "password_reset",
}  # fmt: skip


def view_class(pattern):
    return getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)


def needed_role(pattern) -> str:
    return getattr(view_class(pattern), "write_role", Role.ANALYST)


@pytest.fixture
def team(db):
    workspace = WorkspaceFactory(name="Team")
    clients = {}
    for role in (Role.VIEWER, Role.ANALYST, Role.OWNER):
        user = UserFactory()
        MembershipFactory(user=user, workspace=workspace, role=role)
        clients[role] = Client()
        clients[role].force_login(user)
    keys = {}
    for scope in (ApiKey.Scope.READ, ApiKey.Scope.WRITE):
        _, raw = services.api_key_create(workspace=workspace, name=scope, scope=scope)
        keys[scope] = Client(headers={"authorization": f"Bearer {raw}"})
    campaign = CampaignFactory(workspace=workspace, name="Spring", slug="spring")
    post = PostFactory(workspace=workspace, campaign=campaign, caption="Spring hat")
    store = commerce_services.store_connect(
        workspace=workspace, platform="custom", shop_domain="shop.example"
    )
    kpi = analytics_services.kpi_create(workspace=workspace, name="Monthly", target=Decimal("10"))
    alert = Alert.objects.create(
        workspace=workspace, kind=Alert.Kind.KPI_BEHIND, title="Behind", message="m", kpi=kpi,
        dedupe_key="roles", created_at=kpi.created_at,
    )  # fmt: skip
    key = workspace.api_keys.first()
    domain = AllowedDomainFactory(workspace=workspace, domain="team-shop.example")
    # An order, for the order page.
    from tests.analytics.conftest import order_record

    order = order_record(store, 1, at=kpi.created_at, total="10.00")
    recalculation = Recalculation.objects.create(workspace=workspace)
    objects = {"post": post, "campaign": campaign, "store": store, "kpi": kpi, "alert": alert,
               "api_key": key, "domain": domain, "order": order,
               "recalculation": recalculation}  # fmt: skip
    return {"workspace": workspace, "sessions": clients, "keys": keys, "objects": objects}


def snapshot(workspace) -> dict:
    """What a refused write must leave as it was."""
    return {
        "posts": sorted(Post.objects.filter(workspace=workspace).values_list("pk", "caption")),
        "campaigns": sorted(Campaign.objects.filter(workspace=workspace).values_list("pk", "name")),
        "keys": sorted(workspace.api_keys.values_list("pk", "revoked_at")),
        "stores": sorted(workspace.stores.values_list("pk", "webhook_secret", "is_active")),
        "kpis": sorted(workspace.kpis.values_list("pk", "name")),
        "alerts": sorted(workspace.alerts.values_list("pk", "acknowledged_at")),
        "domains": sorted(workspace.allowed_domains.values_list("pk", "domain"))
        if hasattr(workspace, "allowed_domains")
        else [],
        "settings": (workspace.revenue_basis, workspace.lookback_days),
    }


def refused(response, *, page: bool, by_key: bool) -> bool:
    if response.status_code in (403, 405):
        return True
    return page and by_key and response.status_code == 302 and "/accounts/login/" in response.url


def writes_of(team):
    """(url name, url, method, page?, role needed) of every write of every pattern."""
    for name, route, pattern in walk(get_resolver().url_patterns):
        if route.startswith(EXCLUDED_PREFIXES) or name in EXCLUDED or name in NOT_WORKSPACE_WRITES:
            continue
        ids = id_parameters(pattern)
        if ids:
            url = reverse(name, kwargs={ids[0]: team["objects"][OBJECT_OF[name]].pk})
        elif pattern.pattern.regex.groups:
            continue
        else:
            url = reverse(name)
        for method in implemented_methods(pattern):
            if method in WRITES:
                yield name, url, method, is_page(pattern), needed_role(pattern)


def test_every_write_refuses_the_roles_and_key_scopes_below_what_it_needs(team):
    workspace = team["workspace"]
    before = snapshot(workspace)
    writes = list(writes_of(team))
    assert len(writes) > 20
    owner_level = {name for name, _, _, _, needed in writes if needed == Role.OWNER}
    assert owner_level == OWNER_ONLY, "owner-only writes changed: update OWNER_ONLY on purpose"
    callers = [
        (f"{role} session", client, RANK[role], False) for role, client in team["sessions"].items()
    ] + [
        ("read key", team["keys"][ApiKey.Scope.READ], RANK[Role.VIEWER], True),
        ("write key", team["keys"][ApiKey.Scope.WRITE], RANK[Role.ANALYST], True),
    ]
    failures = []
    for name, url, method, page, needed in writes:
        for label, client, rank, by_key in callers:
            if rank >= RANK[needed]:
                continue
            body = json.dumps({"name": "changed", "caption": "changed", "revenueBasis": "net"})
            response = getattr(client, method)(url, body, content_type="application/json")
            if not refused(response, page=page, by_key=by_key):
                failures.append(f"{method.upper()} {url} ({name}) as {label}: "
                                f"{response.status_code}")  # fmt: skip
    assert not failures, "\n".join(failures)
    workspace.refresh_from_db()
    assert snapshot(workspace) == before


def test_the_roles_that_may_write_get_past_the_check(team):
    sessions, keys = team["sessions"], team["keys"]
    post = {"platform": "instagram", "caption": "New"}
    assert keys[ApiKey.Scope.WRITE].post("/api/posts", post, content_type="application/json").status_code == 201  # fmt: skip
    assert sessions[Role.ANALYST].post("/api/campaigns", {"name": "Summer"},
                                       content_type="application/json").status_code == 201  # fmt: skip
    read = keys[ApiKey.Scope.READ]
    assert read.get("/api/posts").status_code == 200
    refusal = read.post("/api/campaigns", {"name": "x"}, content_type="application/json")
    assert refusal.json() == {
        "detail": "A read-only API key cannot change anything.",
        "code": "permission_denied",
    }
    write = keys[ApiKey.Scope.WRITE].post(
        "/api/keys", {"name": "x"}, content_type="application/json"
    )
    assert write.json() == {"detail": "This needs the owner role in the workspace (signed in: no "
                            "API key manages keys, stores or settings).",
                            "code": "permission_denied"}  # fmt: skip
    minted = sessions[Role.OWNER].post("/api/keys", {"name": "Reporting", "scope": "read"},
                                       content_type="application/json")  # fmt: skip
    assert (minted.status_code, minted.json()["scope"]) == (201, "read")
    assert sessions[Role.VIEWER].get("/analytics/revenue/").status_code == 200
    assert sessions[Role.VIEWER].get("/settings/").status_code == 200
