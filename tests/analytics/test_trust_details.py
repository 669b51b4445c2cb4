"""The small things that cost a marketer's trust: a segment without customers reads "—" (not
"None") and every segment table ends with its total; models are named by their labels in
Settings; the Tracking page gives each store's snippet with its store attribute and a Copy
button, and says where to paste it; a workspace without a store is told to connect one rather
than to try a longer range; Post Analytics says why the platform's link clicks and the tracked
clicks differ; refund rows never read −0.00."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from omnisocial.models import Membership
from tests.analytics.conftest import order_record
from tests.factories import (
    MembershipFactory,
    PostMetricsFactory,
    StoreConnectionFactory,
    UserFactory,
)

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def no_post_order(shop):
    """#4, 20.00 from a Facebook UTM that names no post: a platform's revenue without a post."""
    return order_record(shop["store"], 4, at=datetime(2026, 11, 13, 12, tzinfo=UTC),
                        total="20.00", utm_source="facebook", utm_medium="social")  # fmt: skip


def test_a_no_post_segment_has_no_customers_figure_and_the_table_a_total(
    client, shop, no_post_order
):
    page = client.get(f"/analytics/segments/?by=contentType&{NOVEMBER}").content.decode()

    assert ">None<" not in page
    assert (
        'post=none">20.00</a></td><td class="num">1</td><td class="num">—</td>'
        '<td class="num">20.00</td><td class="num">—</td><td class="num">0.00</td>'
        '<td class="num">—</td></tr>'
    ) in page
    assert (
        '<tfoot><tr class="total"><th>Total</th><th class="num">170.00</th><th class="num">3</th>'
        '<th class="num" title="A customer can be in several segments: their sum would count '
        'them twice">—</th><th class="num">56.67</th><th></th><th class="num">0.00</th>'
        '<th class="num">—</th></tr></tfoot>'
    ) in page


def test_the_platform_segments_total_is_the_revenue_of_the_range(client, shop, no_post_order):
    page = client.get(f"/analytics/segments/?by=platform&{NOVEMBER}").content.decode()

    assert '<th>Total</th><th class="num">170.00</th><th class="num">3</th>' in page


def test_settings_name_models_by_their_labels_for_the_owner_and_a_viewer(client, workspace):
    viewer = UserFactory()
    MembershipFactory(user=viewer, workspace=workspace, role=Membership.Role.VIEWER)
    reader = Client()
    reader.force_login(viewer)

    owner_page = client.get("/settings/").content.decode()
    viewer_page = reader.get("/settings/").content.decode()

    assert '<option value="last-touch" selected>Last touch</option>' in owner_page
    assert "\n Position-based (40/20/40)</label>" in owner_page
    assert ">last-touch<" not in owner_page and "\n last-touch</label>" not in owner_page
    assert "<span>Last touch</span>" in viewer_page
    assert "last-touch" not in viewer_page.split('id="workspace-settings"')[1]


def test_the_tracking_page_gives_each_stores_snippet_with_a_copy_button(client, workspace):
    store = StoreConnectionFactory(workspace=workspace)

    page = client.get("/attribution/tracking/").content.decode()

    assert (
        f'<h3>Demo Boutique (Shopify)</h3>\n  <div class="snippet"><pre><code>&lt;script '
        f'src="http://testserver/static/omnisocial/track.js" data-store="{store.pk}" defer&gt;'
        f'&lt;/script&gt;</code></pre><button type="button" class="copy" data-copy="&lt;script '
        f"src=&quot;http://testserver/static/omnisocial/track.js&quot; data-store=&quot;"
        f'{store.pk}&quot; defer&gt;&lt;/script&gt;">Copy</button></div>'
    ) in page
    assert "docs/storefront.md" not in page
    assert (
        "<li><strong>Shopify</strong>: Online Store › Themes › Edit code, in "
        "<code>layout/theme.liquid</code> before <code>&lt;/head&gt;</code>."
    ) in page


def test_the_tracking_page_without_a_store_links_to_connecting_one(client, workspace):
    page = client.get("/attribution/tracking/").content.decode()

    assert (
        'No store is connected yet: <a href="/commerce/stores/">connect a store</a>, and this '
        "page gives the snippet that names it."
    ) in page


def test_a_workspace_without_a_store_is_told_to_connect_one(client, workspace):
    revenue = client.get(f"/analytics/revenue/?{NOVEMBER}").content.decode()
    segments = client.get("/analytics/segments/").content.decode()

    assert "Try a longer range" not in revenue and "Try a longer range" not in segments
    assert (
        "<strong>No attributed revenue between Nov 1 and Nov 30, 2026.</strong>\n  No store is "
        'connected yet: <a href="/commerce/stores/">connect a store</a>, and its orders are '
        "matched to your posts as they arrive; its order history can be imported too."
    ) in revenue
    assert (
        '<strong>No revenue yet: no store is connected.</strong> <a href="/commerce/stores/">'
        "Connect a store</a>: its orders are matched to your posts as they arrive."
    ) in segments


def test_a_workspace_with_a_store_and_no_revenue_is_told_to_try_a_longer_range(client, shop):
    page = client.get("/analytics/revenue/?from=2026-06-01&to=2026-06-30").content.decode()

    assert "<strong>No attributed revenue between Jun 1 and Jun 30, 2026.</strong>" in page
    assert "Try a longer range" in page


def test_post_analytics_says_why_link_clicks_and_tracked_clicks_differ(client, shop):
    post = shop["a"]
    PostMetricsFactory(post=post, day=datetime(2026, 11, 10, tzinfo=UTC).date(), link_clicks=856)

    page = client.get(f"/analytics/posts/{post.pk}/?{NOVEMBER}").content.decode()

    assert (
        '<p class="muted small" id="link-clicks-note">Why 856 link clicks but 0 unique human '
        "clicks: the platform counts every click on the post's link, repeats, bots and "
        "previews included, and links that do not go through a tracked link; OmniSocial counts "
        "each visitor once per tracked link, bots left out. Revenue and conversion use the "
        "unique human clicks.</p>"
    ) in page


def test_a_refund_row_never_reads_minus_zero(client, shop):
    from analytics.templatetags.analytics_format import minus_money

    assert (minus_money("0.004"), minus_money("12.5")) == ("0.00", "−12.50")
