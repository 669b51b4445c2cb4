"""The storefront snippet in a real browser against a local test store."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest

from attribution.models import Click
from tests.attribution.test_clicks import HUMAN_UA
from tests.browser import browser  # noqa: F401 - fixture
from tests.factories import AllowedDomainFactory, CampaignFactory, PostFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOPIFY_PAGE = """<!doctype html><html><head><title>Linen scarf</title>
<script>window.Shopify = {shop: "demo-boutique.myshopify.com", routes: {root: "/"}};</script>
<script src="%(snippet)s" defer></script></head><body><h1>Linen scarf</h1></body></html>"""
WOO_CHECKOUT = """<!doctype html><html><head><title>Checkout</title>
<script src="%(snippet)s" data-platform="woocommerce" defer></script></head>
<body class="woocommerce-page"><form class="woocommerce-checkout" method="post" action="/checkout">
<input name="billing_email"></form></body></html>"""


class LocalStore:
    """A store on loopback: product pages with the snippet and Shopify's /cart/update.js."""

    def __init__(self, snippet_url: str):
        self.cart_updates: list[dict] = []
        store = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                page = WOO_CHECKOUT if self.path.startswith("/checkout") else SHOPIFY_PAGE
                body = (page % {"snippet": snippet_url}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                store.cart_updates.append(
                    {"path": self.path, "body": json.loads(self.rfile.read(length))}
                )
                body = b'{"token": "c1-test", "attributes": {}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def store(live_server):
    test_store = LocalStore(f"{live_server.url}/static/omnisocial/track.js")
    yield test_store
    test_store.close()


def test_a_click_reaches_the_cart_attributes_and_the_checkout(live_server, store, browser):  # noqa: F811
    AllowedDomainFactory(workspace=(workspace := CampaignFactory().workspace), domain="127.0.0.1")
    post = PostFactory(
        workspace=workspace,
        campaign=CampaignFactory(workspace=workspace, slug="autumn"),
        link_url=f"{store.url}/products/scarf?variant=42",
    )
    link = post.links.get()
    page = browser.new_page(user_agent=HUMAN_UA)  # headless Chromium's own agent is a bot

    with page.expect_response(lambda response: response.url.endswith("/cart/update.js")):
        page.goto(f"{live_server.url}/r/{link.code}")
    assert page.url.startswith(f"{store.url}/products/scarf?variant=42&utm_source=instagram")
    click = Click.objects.get()
    assert click.is_bot is False

    page.wait_for_function("document.cookie.indexOf('_osc=') >= 0")
    cookies = {c["name"]: c for c in page.context.cookies(store.url)}
    kept = json.loads(unquote(cookies["_osc"]["value"]))
    assert kept["utm_content"] == f"post-{post.pk}"
    assert kept["clicks"] == [click.click_id]
    assert 29.9 * 86400 < cookies["_osc"]["expires"] - time.time() <= 30 * 86400
    visitor = cookies["_osc_vid"]["value"]
    assert len(visitor) == 32

    assert store.cart_updates == [
        {
            "path": "/cart/update.js",
            "body": {
                "attributes": {
                    "utm_source": "instagram",
                    "utm_medium": "social",
                    "utm_campaign": "autumn",
                    "utm_content": f"post-{post.pk}",
                    "osc_click": click.click_id,
                    "osc_clicks": click.click_id,
                    "osc_landing": (
                        f"/products/scarf?variant=42&utm_source=instagram&utm_medium=social"
                        f"&utm_campaign=autumn&utm_content=post-{post.pk}&osc_click={click.click_id}"
                    ),
                    "osc_visitor": visitor,
                }
            },
        }
    ]

    # A later page without parameters keeps the click and does not post the same attributes again.
    page.goto(f"{store.url}/products/tote")
    page.wait_for_load_state("networkidle")
    assert len(store.cart_updates) == 1
    assert page.evaluate("window.OmniSocial.attribution().osc_click") == click.click_id

    # WooCommerce checkout: hidden fields that the store saves as _osc_* order meta.
    page.goto(f"{store.url}/checkout")
    page.wait_for_selector("input[name=_osc_click]", state="attached")
    fields = page.eval_on_selector_all(
        "form.woocommerce-checkout input[type=hidden]", "els => els.map(e => [e.name, e.value])"
    )
    assert dict(fields) == {
        "_osc_utm_source": "instagram",
        "_osc_utm_medium": "social",
        "_osc_utm_campaign": "autumn",
        "_osc_utm_content": f"post-{post.pk}",
        "_osc_click": click.click_id,
        "_osc_clicks": click.click_id,
        "_osc_landing": kept["landing"],
        "_osc_visitor": visitor,
    }
