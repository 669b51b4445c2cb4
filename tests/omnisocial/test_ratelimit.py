"""The fixed-window counters answer the same on Redis (one pipelined round trip) and on each
process's own memory: a hit beyond the limit waits, a peek at the limit waits, a peek records
nothing, and the counter a pipeline writes is the one `cache.get` reads."""

import pytest
from django.core.cache import caches
from django.test import override_settings

from omnisocial import ratelimit
from omnisocial.settings import caches_from_url
from tests.reliability.conftest import redis_flush, redis_only, window_not_ending

REDIS_URL = "redis://127.0.0.1:6379/12"
BACKENDS = [
    pytest.param("", id="local-memory"),
    pytest.param(REDIS_URL, id="redis", marks=redis_only),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    url = request.param
    with override_settings(CACHES=caches_from_url(url)):
        caches["default"].clear()
        window_not_ending(3600)
        yield url
        caches["default"].clear()
    if url:
        redis_flush(url)


def test_a_hit_beyond_the_limit_waits_and_a_peek_counts_nothing(backend):
    answers = [
        ratelimit.check(hits=[("s", "a", "3/h")], peeks=[("s", "a", "3/h")]) for _ in range(5)
    ]
    # After the k-th hit the counter is k: the peek waits from the third (at the limit), the hit
    # from the fourth (beyond it).
    assert [hit is None for hit, _ in answers] == [True, True, True, False, False]
    assert [peek is None for _, peek in answers] == [True, True, False, False, False]
    assert all(0 < wait <= 3600 for pair in answers[3:] for wait in pair)
    assert ratelimit.count("s", "a", "3/h") == 5


def test_counters_are_per_scope_and_ident_and_peeking_an_unknown_one_is_free(backend):
    assert ratelimit.blocked("s", "fresh", "1/h") is None
    assert ratelimit.count("s", "fresh", "1/h") == 0
    ratelimit.hit("s", "a", "1/h")
    assert ratelimit.hit("s", "b", "1/h") is None
    assert ratelimit.hit("t", "a", "1/h") is None
    assert ratelimit.hit("s", "a", "1/h") is not None


@redis_only
def test_a_window_expires_with_its_counter():
    import redis

    with override_settings(CACHES=caches_from_url(REDIS_URL)):
        redis_flush(REDIS_URL)
        ratelimit.hit("s", "ttl", "2/min")
        key = caches["default"].make_and_validate_key(ratelimit._key("s", "ttl", 60)[0])
        ttl = redis.Redis.from_url(REDIS_URL).ttl(key)
    redis_flush(REDIS_URL)
    assert 0 < ttl <= 61
