"""Impressions, engagement and ad spend from Meta, in a real headless Chromium against the live
server and a local fake of Meta's Login dialog, Graph and Marketing APIs: the owner connects
Meta (the dialog's redirect, the code exchange, the long-lived token), picks the ad account and
the Instagram account, and the backfill fills the post's days; Post Analytics shows impressions
and engagement, the funnel's first step is above zero, and ROAS is the post's revenue over the
synced spend, to the cent, on the page, in the API and in the CSV."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from attribution import engine
from commerce import services as commerce_services
from commerce.attribution_values import Attribution, LineData, OrderData
from omnisocial.models import PostMetrics
from omnisocial.services import api_key_create, post_save, workspace_create
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import StoreConnectionFactory
from tests.fakes.meta import FakeMeta

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_meta_figures_flow_into_post_analytics_the_funnel_and_roas(
    live_server,
    browser,  # noqa: F811 - fixture
    settings,
):
    workspace = workspace_create(name="Boutique", owner_email="owner@boutique.example",
                                 owner_password="linen-scarf-42")  # fmt: skip
    now = timezone.now()
    post = post_save(workspace=workspace, platform="instagram", external_id="m1",
                     reference="ig-linen", caption="Linen shirts are back",
                     published_at=now - timedelta(days=20))  # fmt: skip
    store = StoreConnectionFactory(workspace=workspace, currency="USD")
    data = OrderData(
        external_id="1", order_number="#1", created_at=now - timedelta(days=2),
        updated_at=now - timedelta(days=2), currency="USD", total_price=Decimal("150.00"),
        attribution=Attribution(utm_source="instagram", utm_content="ig-linen"),
        customer_id="c1", lines=[LineData(title="Linen shirt", quantity=1,
                                          price=Decimal("150.00"))],
    )  # fmt: skip
    order = commerce_services.order_save(store=store, data=data)
    engine.order_attribute(order_id=order.pk)

    with FakeMeta() as meta:
        meta.configure(settings)
        meta.ad_accounts = [{"id": "act_111", "account_id": "111", "name": "Brand ads",
                             "currency": "USD"}]  # fmt: skip
        meta.account_ads["111"] = ["a1"]
        meta.creatives = {"a1": {"effective_instagram_media_id": "m1"}}
        meta.media = {"1784": ["m1"]}
        meta.totals = {"m1": {"views": 5000, "reach": 3000, "total_interactions": 240}}

        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "owner@boutique.example")
        page.fill("input[name=password]", "linen-scarf-42")
        page.click("button[type=submit]")
        page.wait_for_url("**/analytics/revenue/")
        page.goto(f"{live_server.url}/settings/connections/")
        # The dialog (the fake's) sends the browser back to the callback with a code; the page's
        # form-action lets the Connect form be redirected to it.
        page.click("#platform-meta button[name=connect]")
        page.wait_for_selector("#accounts-meta")
        connection = workspace.platform_connections.get()
        assert connection.status == "active" and connection.access_token == meta.token
        for kind in ("ad_account", "instagram"):
            account = connection.accounts.get(kind=kind)
            page.check(f"#accounts-meta input[value='{account.pk}']")
        page.click("#accounts-meta button[name=action][value=select]")
        page.wait_for_load_state()
        assert "30 days added" in page.locator("#platform-meta").inner_text()

    spend = sum(PostMetrics.objects.filter(post=post).values_list("spend", flat=True))
    assert spend == Decimal("300.00")  # 10.00 a day for 30 days
    page.goto(f"{live_server.url}/analytics/posts/{post.pk}/?range=30d")
    engagement = page.locator("dl", has_text="Impressions").first.inner_text()
    assert "Impressions" in engagement and "Engagements" in engagement
    assert "Meta" in page.locator("#engagement-source").inner_text()
    impressions = PostMetrics.objects.filter(post=post).values_list("impressions", flat=True)
    assert sum(impressions) > 0
    assert f"{sum(impressions):,}" in engagement
    assert "0.50×" in page.locator("main").inner_text()  # 150.00 / 300.00

    page.goto(f"{live_server.url}/analytics/revenue/?range=30d")
    funnel = page.locator("#funnel").inner_text()
    assert f"{sum(impressions):,}" in funnel

    _, raw = api_key_create(workspace=workspace, name="check", scope="read")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    answer = api.get(f"/commerce/revenue/posts/{post.pk}?range=30d").json()
    assert (answer["totalRevenue"], answer["adSpend"], answer["roas"]) == (
        "150.00", "300.00", "0.5000",
    )  # fmt: skip
    browser_client = Client()
    browser_client.login(username="owner@boutique.example", password="linen-scarf-42")
    exported = browser_client.get("/posts/?range=30d&export=posts").content.decode()
    row = next(r for r in csv.DictReader(io.StringIO(exported)) if r["reference"] == "ig-linen")
    assert (row["ad_spend"], row["roas"]) == ("300.00", "0.5000")
