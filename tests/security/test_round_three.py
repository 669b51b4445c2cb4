"""Hardening, round three (items 1-5): the test delivery cannot be aimed elsewhere, answers that
show a secret are never stored, an edit form keeps what it does not show, default post references
cannot collide, and no id parameter answers 500."""

import time
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone
from django_q.conf import Conf

from commerce import tasks
from commerce.models import StoreProbe
from omnisocial.models import Membership, Post
from tests.factories import CampaignFactory, PostFactory, StoreConnectionFactory, UserFactory
from tests.fakes.server import Answer, FakeServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks):
    """The test delivery is queued once its row commits: run those callbacks as a commit would."""
    global _on_commit
    _on_commit = django_capture_on_commit_callbacks


def _post(client, path, data, **headers):
    with _on_commit(execute=True):
        return client.post(path, data, **headers)


def _probe(client, store, **headers):
    response = _post(client, f"/commerce/stores/{store.pk}/", {"test": "1"}, **headers)
    assert response.status_code == 302
    return client.get(response["Location"].split("#")[0])


# --- 1. the test delivery ---------------------------------------------------------------------


def test_1_the_test_delivery_goes_to_public_base_url_whatever_host_is_sent(
    client, workspace, settings
):
    store = StoreConnectionFactory(workspace=workspace)
    with FakeServer() as public, FakeServer() as elsewhere:
        settings.PUBLIC_BASE_URL = public.url
        port = elsewhere.url.rsplit(":", 1)[1]
        page = _probe(client, store, HTTP_HOST=f"127.0.0.1:{port}",
                      HTTP_X_FORWARDED_HOST=f"localhost:{port}")  # fmt: skip
        assert elsewhere.seen == []
        assert [(s.method, s.path) for s in public.seen] == [
            ("POST", f"/commerce/stores/{store.pk}/webhooks/shopify")
        ]
    probe = StoreProbe.objects.get(store=store)
    # The fake answered 200 but stored nothing: the product says so rather than "works".
    assert (probe.outcome, probe.status_code) == ("failed", 200)
    assert "nothing reached this store's inbox" in unescape(page.content.decode())


def test_1_the_test_delivery_refuses_to_run_without_public_base_url(client, workspace, settings):
    settings.PUBLIC_BASE_URL = ""
    store = StoreConnectionFactory(workspace=workspace)
    page = _probe(client, store)
    assert "Set PUBLIC_BASE_URL" in page.content.decode()
    assert not StoreProbe.objects.exists()


def test_1_a_redirecting_target_is_not_followed_and_its_body_never_shown(
    client, workspace, settings
):
    store = StoreConnectionFactory(workspace=workspace)
    with FakeServer() as elsewhere:
        target = elsewhere.url + "/steal"
        redirecting = lambda seen: Answer(  # noqa: E731
            302, "TARGET-BODY-302", {"Location": target}
        )
        with FakeServer(redirecting) as public:
            settings.PUBLIC_BASE_URL = public.url
            page = _probe(client, store)
        assert elsewhere.seen == []
    text = page.content.decode()
    assert "a redirect, which was not followed" in text
    assert "TARGET-BODY" not in text
    with FakeServer(lambda seen: Answer(500, "TARGET-BODY-500 internal secrets")) as public:
        settings.PUBLIC_BASE_URL = public.url
        response = _post(client, f"/commerce/stores/{store.pk}/", {"test": "1"})
        page = client.get(f"/commerce/stores/{store.pk}/")
    assert "TARGET-BODY" not in page.content.decode()
    for morsel in list(response.cookies.values()) + list(client.cookies.values()):
        assert "TARGET-BODY" not in morsel.value
    assert StoreProbe.objects.filter(store=store, status_code=500, outcome="failed").exists()


def test_1_the_web_request_only_queues_the_test_and_the_worker_times_out(
    client, workspace, settings, monkeypatch
):
    """No web worker waits on the target: the POST answers before the target is contacted;
    the worker then gives up after COMMERCE_PROBE_TIMEOUT and the page shows why."""
    monkeypatch.setattr(Conf, "SYNC", False)  # queued on the ORM broker; no worker runs here
    settings.COMMERCE_PROBE_TIMEOUT = 0.5
    stores = [StoreConnectionFactory(workspace=workspace, shop_domain=f"s{n}.myshopify.com")
              for n in range(4)]  # fmt: skip

    def slow(seen):
        time.sleep(2)
        return Answer(200)

    with FakeServer(slow) as public:
        settings.PUBLIC_BASE_URL = public.url
        for store in stores:
            response = _post(client, f"/commerce/stores/{store.pk}/", {"test": "1"})
            assert response.status_code == 302
        assert public.seen == []  # nothing was sent by the web requests
        page = client.get(f"/commerce/stores/{stores[0].pk}/")
        assert 'http-equiv="refresh"' in page.content.decode()
        assert "Sending a test delivery" in page.content.decode()
        probe = StoreProbe.objects.get(store=stores[0])
        assert tasks.store_probe_run(probe.pk) == "failed"
    probe.refresh_from_db()
    assert probe.status_code is None and "no answer within 0.5 s" in probe.verdict
    page = client.get(f"/commerce/stores/{stores[0].pk}/")
    assert 'http-equiv="refresh"' not in page.content.decode()


def test_1_test_deliveries_are_limited_per_store(client, workspace, settings):
    settings.COMMERCE_PROBE_RATE = "2/10min"
    store, other = StoreConnectionFactory.create_batch(
        2, workspace=workspace, shop_domain=factory_domain()
    )
    with FakeServer() as public:
        settings.PUBLIC_BASE_URL = public.url
        _probe(client, store)
        _probe(client, store)
        page = _probe(client, store)
        assert "Too many test deliveries for this store" in page.content.decode()
        assert len(public.seen) == 2
        _probe(client, other)  # another store has its own allowance
        assert len(public.seen) == 3


def factory_domain():
    import factory

    return factory.Sequence(lambda n: f"limit-{n}.myshopify.com")


# --- 2. answers that show a secret --------------------------------------------------------------


def _no_store(response):
    assert "no-store" in response["Cache-Control"], response.get("Cache-Control")


def test_2_answers_that_show_a_secret_are_never_stored(client, api_client, workspace):
    connected = client.post("/commerce/stores/", {"platform": "custom",
                            "shop_domain": "shop.example", "currency": "USD"})  # fmt: skip
    assert b"shown this once" in connected.content
    _no_store(connected)
    store = workspace.stores.get()
    rotated = client.post(f"/commerce/stores/{store.pk}/", {})
    assert b"shown this once" in rotated.content
    _no_store(rotated)
    created = api_client.post("/commerce/stores", {"platform": "custom",
                              "shopDomain": "other.example"}, format="json")  # fmt: skip
    assert created.status_code == 201 and created.json()["webhookSecret"]
    _no_store(created)
    again = api_client.post(f"/commerce/stores/{created.json()['id']}/rotate-secret", {},
                            format="json")  # fmt: skip
    assert again.status_code == 200 and again.json()["webhookSecret"]
    _no_store(again)
    minted = api_client.post("/api/keys", {"name": "ci", "scope": "read"}, format="json")
    assert minted.status_code == 201 and minted.json()["key"]
    _no_store(minted)
    # A page that shows no secret stays cacheable as before.
    assert "no-store" not in client.get(f"/commerce/stores/{store.pk}/").get("Cache-Control", "")


# --- 3. an edit form keeps what it does not show ------------------------------------------------


def test_3_saving_a_post_on_its_edit_page_keeps_every_field_it_does_not_show(client, workspace):
    campaign = CampaignFactory(workspace=workspace)
    post = PostFactory(
        workspace=workspace, platform="instagram", caption="Linen https://shop.example/p/1",
        external_id="ig-17912345678", reference="linen-launch", campaign=campaign,
        boosted_spend=Decimal("50.00"), boosted_currency="EUR",
        published_at=timezone.now().replace(microsecond=0, second=0),
    )  # fmt: skip
    page = client.get(f"/posts/{post.pk}/edit/")
    form = page.context["form"]
    shown = set(form.fields)
    data = {name: form[name].value() for name in shown if not form.fields[name].disabled}
    data = {k: ("" if v is None else (v.pk if hasattr(v, "pk") else v)) for k, v in data.items()}
    if data.get("published_at"):
        data["published_at"] = form["published_at"].value().strftime("%Y-%m-%dT%H:%M")
    data["caption"] = "Linen, restocked https://shop.example/p/1"
    response = client.post(f"/posts/{post.pk}/edit/", data)
    assert response.status_code == 302, response.content
    saved = Post.objects.get(pk=post.pk)
    assert saved.caption == "Linen, restocked https://shop.example/p/1"
    automatic = {"id", "workspace", "created_at", "updated_at"}
    hidden = {f.name for f in Post._meta.concrete_fields} - shown - automatic
    assert hidden  # the boost's amount and currency: the form writes the boost as daily spend
    for name in hidden | {"reference", "external_id"}:
        assert getattr(saved, name) == getattr(post, name), name


def test_3_saving_the_workspace_settings_keeps_what_the_form_does_not_show(client, workspace):
    before = {f.name: getattr(workspace, f.name) for f in type(workspace)._meta.concrete_fields}
    response = client.post("/settings/", {
        "revenue_basis": workspace.revenue_basis, "lookback_days": 14,
        "attribution_models": workspace.attribution_models,
        "default_attribution_model": workspace.default_attribution_model,
    })  # fmt: skip
    assert response.status_code == 302
    workspace.refresh_from_db()
    after = {f.name: getattr(workspace, f.name) for f in type(workspace)._meta.concrete_fields}
    assert after == before | {"lookback_days": 14}


# --- 4. default references cannot collide -------------------------------------------------------


def test_4_a_reference_shaped_like_the_next_default_does_not_break_post_creation(client, workspace):
    analyst = UserFactory()
    Membership.objects.create(user=analyst, workspace=workspace, role=Membership.Role.ANALYST)
    first = PostFactory(workspace=workspace)
    taken = f"post-{first.pk + 1}"
    client.force_login(analyst)
    response = client.post(f"/posts/{first.pk}/edit/", {})  # reference is fixed once saved
    second = PostFactory(workspace=workspace, reference=taken)
    response = client.post("/posts/new/", {"platform": "tiktok", "content_type": "product",
                                           "boosted_spend": "0"})  # fmt: skip
    assert response.status_code == 302, response.content
    third = workspace.posts.latest("pk")
    assert third.pk != second.pk
    assert third.reference != taken
    assert third.reference.startswith(f"post-{third.pk}")
    refused = client.post("/posts/new/", {"platform": "tiktok", "content_type": "product",
                                          "boosted_spend": "0", "reference": taken})  # fmt: skip
    assert refused.status_code == 400
    assert f"Another post already uses the reference {taken!r}" in unescape(
        refused.content.decode()
    )
    assert workspace.posts.count() == 3


def test_4_a_taken_reference_is_refused_by_the_api_with_its_reason(api_client, workspace):
    PostFactory(workspace=workspace, reference="spring-drop")
    response = api_client.post("/api/posts", {"platform": "instagram",
                               "reference": "Spring-Drop"}, format="json")  # fmt: skip
    assert response.status_code == 400
    assert "spring-drop" in str(response.json())


# --- 5. id parameters ---------------------------------------------------------------------------

BAD_IDS = ["²", "١٢", "１", "-1", "+1", " 1 x", "1.0", "1e3", "0x1", "0",
           "99999999999999999999999", str(2**63)]  # fmt: skip
ID_PARAMETERS = [
    ("/commerce/revenue/paths", "campaign"),
    ("/commerce/revenue/model-comparison", "campaign"),
    ("/commerce/revenue/dashboard", "campaign"),
    ("/commerce/segments", "campaign"),
    ("/commerce/coupons", "campaign"),
    ("/commerce/orders", "campaign"),
    ("/commerce/orders", "post"),
    ("/analytics/revenue/", "campaign"),
    ("/analytics/revenue/compare/", "campaign"),
    ("/analytics/revenue/paths/", "campaign"),
    ("/analytics/segments/", "campaign"),
    ("/analytics/coupons/", "campaign"),
    ("/analytics/orders/", "campaign"),
    ("/analytics/orders/", "post"),
    ("/analytics/receipts/", "campaign"),
    ("/analytics/receipts/", "post"),
    ("/posts/", "campaign"),
    ("/api/posts", "campaign"),
]


@pytest.mark.parametrize(("path", "name"), ID_PARAMETERS)
def test_5_no_id_parameter_answers_500(client, workspace, path, name):
    CampaignFactory(workspace=workspace)
    for value in BAD_IDS:
        response = client.get(path, {name: value})
        assert response.status_code in (400, 404), (path, name, value, response.status_code)
        if response.status_code == 400:
            assert name in response.content.decode(), (path, name, value)
