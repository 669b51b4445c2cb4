"""Filters are no existence oracle: a choice filter (`?campaign=<id>`, `?post=<id>`, `?store=<id>`)
offers the request's workspace's objects only, so another workspace's id answers exactly like an id
that exists nowhere (400, the same body), never a 200 with an empty list."""

import django_filters
import pytest
from django.test import RequestFactory
from django.urls import get_resolver, reverse
from rest_framework.settings import api_settings

from attribution.models import AllowedDomain, TrackedLink
from commerce.models import StoreConnection
from omnisocial import services
from omnisocial.models import Campaign, Post
from tests.analytics.conftest import key_client
from tests.factories import (
    AllowedDomainFactory,
    CampaignFactory,
    PostFactory,
    StoreConnectionFactory,
    WorkspaceFactory,
)
from tests.test_isolation import EXCLUDED, EXCLUDED_PREFIXES, id_parameters, walk

MISSING_ID = 987654321
NOT_A_CHOICE = ["Select a valid choice. That choice is not one of the available choices."]
PROJECT_APPS = {"omnisocial", "attribution", "commerce", "analytics"}
MODEL_CHOICE_FILTERS = (django_filters.ModelChoiceFilter, django_filters.ModelMultipleChoiceFilter)


def objects_of(workspace) -> dict:
    """One object of every kind a choice filter can name, keyed by model."""
    store = StoreConnectionFactory(workspace=workspace, shop_domain=f"{workspace.slug}.example")
    post = PostFactory(
        workspace=workspace,
        campaign=CampaignFactory(workspace=workspace),
        link_url=f"https://{store.shop_domain}/products/hat",
    )
    return {
        Campaign: post.campaign,
        Post: post,
        StoreConnection: store,
        TrackedLink: post.links.get(),
        AllowedDomain: AllowedDomainFactory(workspace=workspace, domain=f"{workspace.slug}.shop"),
    }


@pytest.fixture
def two_workspaces(db):
    a, b = WorkspaceFactory(), WorkspaceFactory()
    return {"a": a, "b": b, "mine": objects_of(a), "theirs": objects_of(b)}


def test_a_post_filter_on_another_workspaces_campaign_answers_like_an_unknown_campaign(
    two_workspaces,
):
    api = key_client(two_workspaces["a"])
    theirs = two_workspaces["theirs"][Campaign].pk
    for campaign in (theirs, MISSING_ID):
        response = api.get(f"/api/posts?campaign={campaign}")
        assert response.status_code == 400
        assert response.json()["fields"] == {"campaign": NOT_A_CHOICE}
    mine = two_workspaces["mine"][Campaign]
    response = api.get(f"/api/posts?campaign={mine.pk}")
    assert response.status_code == 200
    assert [post["id"] for post in response.json()["results"]] == [two_workspaces["mine"][Post].pk]


def test_a_link_filter_on_another_workspaces_post_answers_like_an_unknown_post(two_workspaces):
    api = key_client(two_workspaces["a"])
    theirs = two_workspaces["theirs"][Post].pk
    for post in (theirs, MISSING_ID):
        response = api.get(f"/attribution/links?post={post}")
        assert response.status_code == 400
        assert response.json()["fields"] == {"post": NOT_A_CHOICE}
    mine = two_workspaces["mine"][Post]
    response = api.get(f"/attribution/links?post={mine.pk}")
    assert response.status_code == 200
    assert [link["id"] for link in response.json()["results"]] == [
        two_workspaces["mine"][TrackedLink].pk
    ]


def api_filtersets():
    """(url name, URL pattern, FilterSet class) of every API view its filter backends filter: a
    view's `filterset_class`, or the FilterSet the backend builds for its `filterset_fields`."""
    for name, route, pattern in walk(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is None or route.startswith(EXCLUDED_PREFIXES) or name in EXCLUDED:
            continue
        view = view_class()
        for backend in getattr(view_class, "filter_backends", api_settings.DEFAULT_FILTER_BACKENDS):
            get_filterset_class = getattr(backend(), "get_filterset_class", None)
            if get_filterset_class is None:
                continue
            queryset = getattr(view_class, "queryset", None)
            if getattr(view_class, "filterset_fields", None) and queryset is None:
                pytest.fail(f"{name}: filterset_fields without a class-level queryset to read")
            filterset = get_filterset_class(view, queryset)
            if filterset is not None:
                yield name, pattern, filterset


def project_filtersets(cls=django_filters.FilterSet):
    """Every FilterSet subclass the project defines (some views use theirs directly)."""
    get_resolver().url_patterns  # noqa: B018 - imports every view module, and their FilterSets
    for subclass in cls.__subclasses__():
        if subclass.__module__.split(".")[0] in PROJECT_APPS:
            yield subclass
        yield from project_filtersets(subclass)


def choice_filters(filterset) -> dict:
    return {
        param: filter_
        for param, filter_ in filterset.base_filters.items()
        if isinstance(filter_, MODEL_CHOICE_FILTERS)
    }


def test_every_choice_filter_refuses_another_workspaces_id_like_an_unknown_one(two_workspaces):
    """Walks every FilterSet of the API (per URL pattern, through the real request path with an
    API key of workspace A) and every other FilterSet the project defines (validated with A's
    request): each model choice filter answers B's id exactly as an id that exists nowhere, and
    accepts A's own id."""
    mine, theirs = two_workspaces["mine"], two_workspaces["theirs"]
    api = key_client(two_workspaces["a"])
    problems, unmapped, checked, walked = [], [], set(), set()

    for name, pattern, filterset in api_filtersets():
        walked.add(filterset)
        for param, filter_ in choice_filters(filterset).items():
            model = _model_of(filter_)
            if model not in theirs:
                unmapped.append(f"{name}?{param} ({model.__name__})")
                continue
            if id_parameters(pattern):
                problems.append(f"{name}?{param}: a filtered pattern with an id, not walked")
                continue
            url = reverse(name)
            other = api.get(f"{url}?{param}={theirs[model].pk}")
            missing = api.get(f"{url}?{param}={MISSING_ID}")
            own = api.get(f"{url}?{param}={mine[model].pk}")
            checked.add((name, param))
            if other.status_code != 400 or other.json() != missing.json():
                problems.append(
                    f"GET {url}?{param}=<B's id>: {other.status_code} {other.content[:200]!r}, "
                    f"an unknown id: {missing.status_code} {missing.content[:200]!r}"
                )
            if missing.status_code != 400 or missing.json()["fields"] != {param: NOT_A_CHOICE}:
                problems.append(f"GET {url}?{param}=<unknown>: {missing.status_code}")
            if own.status_code != 200:
                problems.append(f"GET {url}?{param}=<A's id>: {own.status_code} {own.content!r}")

    # FilterSets the views use by hand: the same check on the form, with A's request.
    request = RequestFactory().get("/")
    request.auth, _ = services.api_key_create(workspace=two_workspaces["a"], name="form check")
    for filterset in set(project_filtersets()) - walked:
        for param, filter_ in choice_filters(filterset).items():
            model = _model_of(filter_)
            if model not in theirs:
                unmapped.append(f"{filterset.__name__}.{param} ({model.__name__})")
                continue
            checked.add((filterset.__name__, param))
            errors = {}
            for label, pk in (("theirs", theirs[model].pk), ("missing", MISSING_ID)):
                form = filterset(data={param: pk}, request=request)
                errors[label] = None if form.is_valid() else form.errors.get_json_data()
            if errors["theirs"] is None or errors["theirs"] != errors["missing"]:
                problems.append(f"{filterset.__name__}.{param}: {errors}")
            if not filterset(data={param: mine[model].pk}, request=request).is_valid():
                problems.append(f"{filterset.__name__}.{param} refuses A's own id")

    assert not unmapped, f"choice filters on models this test has no objects of: {unmapped}"
    assert not problems, "\n".join(problems)
    # The walk reached the filters it must (and more, as they are added).
    assert {
        ("api-posts", "campaign"),
        ("attribution:api-links", "post"),
        ("revenue-api:orders", "store"),
        ("revenue-api:orders", "campaign"),
        ("revenue-api:orders", "post"),
    } <= checked


def _model_of(filter_):
    """The model whose objects a choice filter offers, read from its choices with no request."""
    queryset = filter_.queryset
    if callable(queryset):
        queryset = queryset(None)
    return queryset.model
