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
