"""Link destinations that try to leave the allow-list, in every spelling a browser still follows.

The allow-list is `shop.example` (and its subdomains). Each URL below must be refused with a
reason; the ones after them are the same shop written differently and stay allowed."""

import pytest
from django.core.exceptions import ValidationError

from attribution.models import TrackedLink
from attribution.tagging import check_destination, urls_in
from tests.factories import AllowedDomainFactory, PostFactory

ALLOWED = {"shop.example"}

ESCAPES = [
    "https://evil.example/",
    "//evil.example/x",
    "https:\\\\evil.example",
    "https:/\\evil.example",
    "\\\\evil.example",
    "https://shop.example@evil.example/",
    "https://shop.example%2F@evil.example",
    "https://shop.example%2f%40evil.example/",
    "https://shop.example%2eevil.example/",
    "https://shop.example:443@evil.example/",
    "https://shop.example.evil.example/",
    "https://evilshop.example/",
    "HTTPS://evil.example",
    "hTtPs://EVIL.example/",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "JaVaScRiPt://shop.example/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://shop.example/",
    "https:evil.example",
    "https:///evil.example",
    "https://evil.example./",
    "https://evil.example:8443/",
    "https://shop.example:99999/",
    "https://shop.example:-1/",
    "https://[::1]/",
    "https://127.0.0.1/",
    "https://shоp.example/",  # Cyrillic о
    "https://ѕhop.example/",  # Cyrillic ѕ
    "https://xn--shp-sdd.example/",
    "https://shop.example\u3002evil.example/",
    "https://shop.example\uff0eevil.example/",
    "https://evil.example\uff03@shop.example/",
    "https://evil.example\u2044shop.example/",
    "https://shop.example\x00.evil.example/",
    "https://shop.example\t.evil.example/",
    "https://evil.example/\nhttps://shop.example/",
    "https://evil.example#https://shop.example/",
    "https://evil.example?https://shop.example/",
    "",
]
SAME_SHOP = [
    "https://shop.example/products/hat",
    "HTTPS://SHOP.EXAMPLE/products/hat",
    "https://shop.example./products/hat",
    "https://shop.example:443/products/hat",
    "http://www.shop.example/",
    "https://shop.example/?next=//evil.example",  # a query parameter; the host is the shop
    "https://shop.example/#@evil.example",
]


@pytest.mark.parametrize("url", ESCAPES)
def test_escapes_are_refused_with_a_reason(url):
    with pytest.raises(ValidationError) as refused:
        check_destination(url, ALLOWED)
    assert refused.value.messages[0]


@pytest.mark.parametrize("url", SAME_SHOP)
def test_the_shop_in_other_spellings_is_allowed(url):
    assert check_destination(url, ALLOWED).endswith("shop.example")


def test_escapes_are_refused_through_the_api_and_in_captions(api_client, workspace):
    AllowedDomainFactory(workspace=workspace, domain="shop.example")
    post = PostFactory(workspace=workspace)
    for url in ESCAPES:
        response = api_client.post(
            "/attribution/links", {"post": post.pk, "url": url}, format="json"
        )
        assert response.status_code == 400, url
    # Captions come through the API, which refuses NUL characters (PostgreSQL text cannot hold them).
    caption = " ".join(
        url for url in ESCAPES if url.startswith(("http", "HTTP", "hT")) and "\x00" not in url
    )
    tagged = PostFactory(workspace=workspace, caption=caption)
    found = urls_in(caption)
    assert found
    assert (
        not TrackedLink.objects.filter(post__in=[post, tagged])
        .exclude(destination_url__startswith="https://shop.example")
        .exists()
    )
