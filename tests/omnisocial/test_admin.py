import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import PostFactory, PostMetricsFactory, UserFactory


@pytest.fixture
def staff_client(client, db):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def test_every_registered_model_has_a_changelist_that_loads(staff_client):
    PostMetricsFactory(post=PostFactory(caption="Changelist caption"))
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = staff_client.get(url, {"q": "x"})
        assert response.status_code == 200, url
        assert staff_client.get(url).status_code == 200, url


def test_admin_is_for_staff_only(client):
    response = client.get("/admin/omnisocial/post/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_adding_a_post_in_admin_takes_the_post_service(staff_client, workspace):
    response = staff_client.post(
        "/admin/omnisocial/post/add/",
        {
            "workspace": workspace.pk,
            "platform": "tiktok",
            "caption": "From admin",
            "content_type": "product",
            "boosted_spend": "0.00",
            "boosted_currency": "USD",
            "metrics-TOTAL_FORMS": "0",
            "metrics-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    post = workspace.posts.get()
    assert post.reference == f"post-{post.pk}"


def test_admin_lists_show_times_in_the_rows_workspace_time_zone(db):
    """An order at 03:53 UTC on Dec 1 in a New York workspace is listed at Nov 30, 22:53 EST;
    the same instant in a Tokyo workspace at Dec 1, 12:53 JST."""
    from datetime import UTC, datetime

    from django.test import Client

    from tests.analytics.conftest import order_record
    from tests.factories import StoreConnectionFactory, UserFactory, WorkspaceFactory

    at = datetime(2026, 12, 1, 3, 53, tzinfo=UTC)
    for zone in ("America/New_York", "Asia/Tokyo"):
        store = StoreConnectionFactory(workspace=WorkspaceFactory(time_zone=zone))
        order_record(store, zone[:4], at=at, total="10.00")
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = staff.get("/admin/commerce/commerceorder/").content.decode()
    assert "2026-11-30 22:53 EST" in page and "2026-12-01 12:53 JST" in page
    assert "created at (workspace time)" in page.lower()
    for path in ("commerce/webhookdelivery", "commerce/refund", "attribution/click",
                 "analytics/alert"):  # fmt: skip
        assert staff.get(f"/admin/{path}/").status_code == 200, path
