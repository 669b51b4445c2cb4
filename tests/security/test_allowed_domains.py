"""Allowed link domains must name a site: IP addresses (v4, v6 and the numeric forms browsers read
as IPv4), loopback and local names, single labels and public suffixes (by the Public Suffix List
the publicsuffixlist package ships) are refused with the reason, so no tracked link can be made
to send visitors there."""

import pytest
from django.core.exceptions import ValidationError

from attribution.models import AllowedDomain, TrackedLink
from tests.analytics.conftest import key_client
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

IP = "{} is an IP address: allow a domain name instead."
NUMERIC = "{} reads as an IP address: allow a domain name instead."
LOCAL = "{} is a local name, not a public site."
SINGLE = "{} is a single label: allow the site's full domain (e.g. shop.example.com)."
SUFFIX = (
    "{} is a public suffix, under which anybody can register a site: allow the site's own "
    "domain (e.g. shop.example.com)."
)

REFUSED = [
    ("127.0.0.1", IP.format("127.0.0.1")),
    ("169.254.169.254", IP.format("169.254.169.254")),
    ("http://10.0.0.1:8080/admin", IP.format("10.0.0.1")),
    ("[::1]", IP.format("::1")),
    ("[fe80::1]", IP.format("fe80::1")),
    ("[::ffff:127.0.0.1]", IP.format("::ffff:127.0.0.1")),
    ("127.1", NUMERIC.format("127.1")),
    ("0x7f000001", NUMERIC.format("0x7f000001")),
    ("localhost", LOCAL.format("localhost")),
    ("LOCALHOST.", LOCAL.format("localhost")),
    ("app.localhost", LOCAL.format("app.localhost")),
    ("printer.local", LOCAL.format("printer.local")),
    ("metadata.google.internal", LOCAL.format("metadata.google.internal")),
    ("com", SINGLE.format("com")),
    ("intranet", SINGLE.format("intranet")),
    ("co.uk", SUFFIX.format("co.uk")),
    ("github.io", SUFFIX.format("github.io")),
    ("myshopify.com", SUFFIX.format("myshopify.com")),
    ("https://blogspot.com/", SUFFIX.format("blogspot.com")),
]


@pytest.mark.parametrize(("domain", "reason"), REFUSED)
def test_the_api_refuses_domains_that_are_not_a_site(workspace, domain, reason):
    api = key_client(workspace)

    response = api.post("/attribution/domains", {"domain": domain}, format="json")

    assert (response.status_code, response.json()["fields"]) == (400, {"domain": [reason]})
    assert not AllowedDomain.objects.exists()


def test_a_refused_domain_gives_no_link_to_it(workspace):
    api = key_client(workspace)
    post = PostFactory(workspace=workspace)
    api.post("/attribution/domains", {"domain": "169.254.169.254"}, format="json")

    response = api.post(
        "/attribution/links",
        {"post": post.pk, "url": "http://169.254.169.254/latest/meta-data/"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "url": [
            "169.254.169.254 is not one of this workspace's store or allowed domains "
            "(none yet). Connect the store or add the domain first."
        ]
    }
    assert not TrackedLink.objects.exists()


@pytest.mark.parametrize(
    ("domain", "stored"),
    [
        ("https://Shop.Example/", "shop.example"),
        ("my-shop.myshopify.com", "my-shop.myshopify.com"),
        ("brand.co.uk", "brand.co.uk"),
        ("münchen.de", "xn--mnchen-3ya.de"),
    ],
)
def test_the_api_still_allows_real_sites(workspace, domain, stored):
    response = key_client(workspace).post("/attribution/domains", {"domain": domain},
                                          format="json")  # fmt: skip
    assert response.status_code == 201
    assert response.json()["domain"] == stored


def test_the_tracking_page_refuses_with_the_reason(client, workspace):
    response = client.post("/attribution/tracking/", {"domain": "localhost"}, follow=True)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [LOCAL.format("localhost")]
    assert not AllowedDomain.objects.exists()


def test_the_model_refuses_in_the_admin_form_too(workspace):
    with pytest.raises(ValidationError) as raised:
        AllowedDomain(workspace=workspace, domain="com").full_clean()
    assert raised.value.messages == [SINGLE.format("com")]
