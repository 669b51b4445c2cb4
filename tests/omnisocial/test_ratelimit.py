"""The fixed-window counters answer the same on Redis (one pipelined round trip) and on each
process's own memory: a hit beyond the limit waits, a peek at the limit waits, a peek records
nothing, the counter a pipeline writes is the one `cache.get` reads, and a window opens with its
first hit rather than on the clock."""

import pytest
from django.core.cache import caches
from django.test import override_settings

from omnisocial import ratelimit
from omnisocial.settings import caches_from_url
from tests.reliability.conftest import redis_flush, redis_only

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
        key = caches["default"].make_and_validate_key(ratelimit._key("s", "ttl", 60))
        ttl = redis.Redis.from_url(REDIS_URL).ttl(key)
    redis_flush(REDIS_URL)
    assert 0 < ttl <= 60


def test_a_burst_across_the_hour_is_one_window(backend, monkeypatch):
    """Three hits a second before the hour and a fourth a second after: one window, opened by
    the first hit, so the fourth waits (windows cut on the clock let it through)."""
    hour = 3600 * 490_000
    monkeypatch.setattr(ratelimit.time, "time", lambda: hour - 1.0)
    assert [ratelimit.hit("s", "edge", "3/h") for _ in range(3)] == [None, None, None]
    monkeypatch.setattr(ratelimit.time, "time", lambda: hour + 1.0)
    wait = ratelimit.hit("s", "edge", "3/h")
    assert wait is not None and 3590 <= wait <= 3600
    assert ratelimit.blocked("s", "edge", "3/h") is not None


def test_a_window_ends_a_period_after_its_first_hit(monkeypatch):
    """Without Redis the window's end is kept beside the counter: past it, counting restarts."""
    with override_settings(CACHES=caches_from_url("")):
        caches["default"].clear()
        start = 1_800_000_000.0
        monkeypatch.setattr(ratelimit.time, "time", lambda: start)
        ratelimit.hit("s", "end", "1/min")
        monkeypatch.setattr(ratelimit.time, "time", lambda: start + 30)
        assert ratelimit.hit("s", "end", "1/min") == 30
        monkeypatch.setattr(ratelimit.time, "time", lambda: start + 61)
        assert ratelimit.hit("s", "end", "1/min") is None
        assert ratelimit.count("s", "end", "1/min") == 1
