"""The KPI page: a KPI is edited in the form that creates it, a post KPI picks its post by the
one post label, and models are named by their labels, never their slugs."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from analytics.kpis import services
from analytics.models import RevenueKPI
from tests.factories import PostFactory


@pytest.fixture
def linen_posts(workspace):
    """Two posts whose captions read alike: only the reference and the day tell them apart."""
    first = PostFactory(workspace=workspace, reference="post-1", caption="Meet the linen shirt",
                        published_at=datetime(2026, 10, 8, 16, tzinfo=UTC))  # fmt: skip
    second = PostFactory(workspace=workspace, reference="post-13", caption="Meet the linen shirt",
                         published_at=datetime(2026, 10, 28, 16, tzinfo=UTC))  # fmt: skip
    return first, second


def test_a_post_kpi_picks_its_post_by_its_label(client, linen_posts):
    first, second = linen_posts

    page = client.get("/analytics/kpis/").content.decode()
    created = client.post("/analytics/kpis/", {
        "name": "Linen shirt", "target": "500", "scope": "post", "post": str(second.pk),
        "period": "month",
    })  # fmt: skip

    assert '<label for="post">Post (post scope)</label><select id="post" name="post">' in page
    assert (
        f'<option value="{second.pk}" >Instagram · post-13 · Oct 28, 2026 · '
        "Meet the linen shirt</option>"
    ) in page
    assert (
        f'<option value="{first.pk}" >Instagram · post-1 · Oct 8, 2026 · '
        "Meet the linen shirt</option>"
    ) in page
    assert created.status_code == 302
    assert RevenueKPI.objects.get(name="Linen shirt").post == second


def test_a_kpi_is_edited_in_the_form_that_created_it(client, workspace, linen_posts):
    first, second = linen_posts
    kpi = services.kpi_create(workspace=workspace, name="Linen", target=Decimal("500.00"),
                              scope="post", post=first)  # fmt: skip

    form = client.get(f"/analytics/kpis/?edit={kpi.pk}").content.decode()
    saved = client.post("/analytics/kpis/", {
        "kpi": str(kpi.pk), "name": "Linen, both posts' month", "target": "750.50",
        "scope": "post", "post": str(second.pk), "period": "week", "attribution_model": "first-touch",
    })  # fmt: skip
    listed = client.get("/analytics/kpis/").content.decode()

    assert "<h2>Edit KPI</h2>" in form
    assert f'<input type="hidden" name="kpi" value="{kpi.pk}">' in form
    assert 'value="500.00" inputmode="decimal"' in form
    assert f'<option value="{first.pk}" selected>Instagram · post-1' in form
    assert '<button type="submit" class="primary">Save KPI</button>' in form
    assert (saved.status_code, saved["Location"]) == (302, f"/analytics/kpis/#kpi-{kpi.pk}")
    kpi.refresh_from_db()
    assert (kpi.name, kpi.target, kpi.post, kpi.period, kpi.attribution_model) == (
        "Linen, both posts' month", Decimal("750.50"), second, "week", "first-touch",
    )  # fmt: skip
    assert RevenueKPI.objects.count() == 1
    assert (
        '<strong>Linen, both posts&#x27; month</strong><br><span class="muted">First touch</span>'
        in listed
    )
    assert f'<a class="button small secondary" href="?edit={kpi.pk}#kpi-form">Edit</a>' in listed


def test_an_edit_that_makes_no_sense_changes_nothing(client, workspace, linen_posts):
    kpi = services.kpi_create(workspace=workspace, name="Linen", target=Decimal("500.00"),
                              scope="post", post=linen_posts[0])  # fmt: skip

    refused = client.post("/analytics/kpis/", {
        "kpi": str(kpi.pk), "name": "Linen", "target": "500", "scope": "post", "post": "",
        "period": "month",
    })  # fmt: skip

    assert refused.status_code == 400
    assert "A post KPI needs a post." in refused.content.decode()
    assert "<h2>Edit KPI</h2>" in refused.content.decode()
    kpi.refresh_from_db()
    assert kpi.post == linen_posts[0]


def test_another_workspaces_kpi_cannot_be_edited(client, db):
    from tests.factories import WorkspaceFactory

    theirs = services.kpi_create(workspace=WorkspaceFactory(), name="Theirs",
                                 target=Decimal("10.00"))  # fmt: skip

    form = client.get(f"/analytics/kpis/?edit={theirs.pk}").content.decode()
    refused = client.post("/analytics/kpis/", {"kpi": str(theirs.pk), "name": "Mine",
                                               "target": "20"})  # fmt: skip

    assert "<h2>New KPI</h2>" in form and "Theirs" not in form
    assert refused.status_code == 404
    assert RevenueKPI.objects.get(pk=theirs.pk).name == "Theirs"


def test_the_kpi_page_names_models_by_their_labels(client, workspace):
    services.kpi_create(workspace=workspace, name="November", target=Decimal("3000.00"))

    page = client.get("/analytics/kpis/").content.decode()

    assert '<span class="muted">Last touch</span>' in page
    assert '<option value="">Workspace default (Last touch)</option>' in page
    assert "last-touch</span>" not in page and "(last-touch)" not in page
