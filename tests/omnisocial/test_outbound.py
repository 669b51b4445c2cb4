"""The one outbound HTTP client, over real sockets to a local fake server."""

import pytest

from omnisocial import outbound
from tests.fakes.server import Answer, FakeServer


def test_private_addresses_are_refused_unless_allowed(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with FakeServer() as server:
        with pytest.raises(outbound.OutboundError, match="private or local address"):
            outbound.request("GET", server.url + "/x")
        assert server.seen == []
        settings.OUTBOUND_ALLOW_PRIVATE = True
        assert outbound.request("GET", server.url + "/x").status_code == 200
    for url in ("file:///etc/passwd", "gopher://127.0.0.1/", "http:///nohost"):
        with pytest.raises(outbound.OutboundError, match="not an http"):
            outbound.request("GET", url, allow_private=True)


def test_a_redirect_is_answered_never_followed(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with FakeServer() as other:
        with FakeServer(lambda seen: Answer(302, headers={"Location": other.url})) as server:
            response = outbound.request("POST", server.url, content=b"{}")
        assert response.status_code == 302 and other.seen == []


def test_429_and_5xx_are_retried_honouring_retry_after(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    answers = iter([Answer(429, headers={"Retry-After": "7"}), Answer(503), Answer(200, "ok")])
    waits = []
    with FakeServer(lambda seen: next(answers)) as server:
        response = outbound.request("GET", server.url, sleep=waits.append)
        assert (response.status_code, response.text, len(server.seen)) == (200, "ok", 3)
    assert waits == [7.0, 1.0]  # Retry-After, then the second attempt's backoff
    # Out of retries: the last answer is returned as it is.
    with FakeServer(lambda seen: Answer(503)) as server:
        assert outbound.request("GET", server.url, retries=1, sleep=waits.append).status_code == 503
        assert len(server.seen) == 2


def test_no_answer_says_why(settings):
    from tests.reliability.conftest import closed_port

    settings.OUTBOUND_ALLOW_PRIVATE = True
    with pytest.raises(outbound.OutboundError, match="refused"):
        outbound.request("GET", f"http://127.0.0.1:{closed_port()}/", retries=0)
