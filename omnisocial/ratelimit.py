"""Fixed-window counters in the cache: login attempts per username and address, webhook
deliveries per store, API requests per key (omnisocial/throttling.py).

A window opens with the first hit and lasts the rate's period: its counter expires with it.
Windows are not cut on the clock, so a burst is never split between two of them (which would let
twice the limit through around a boundary, and make a limit's answer depend on the time of day).

A hit is one atomic increment, so concurrent requests in several processes never both take the
last place. The limits hold across processes and hosts only with a shared cache: set CACHE_URL
(Redis, see settings.py); without it each process counts on its own (`check --deploy` warns).
"""

import time
from collections.abc import Sequence

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache

# (scope, ident, rate): one counter, as `hit` takes it.
Limit = tuple[str, str, str]


def parse_rate(rate: str) -> tuple[int, int]:
    """`"5/15min"`, `"1200/min"`, `"10/s"` -> (count, seconds)."""
    count, _, period = rate.partition("/")
    digits = "".join(ch for ch in period if ch.isdigit())
    unit = period.lstrip("0123456789")[:1] or "m"
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit] * int(digits or 1)
    return int(count), seconds


def _key(scope: str, ident: str, window: int) -> str:
    return f"ratelimit:{scope}:{ident}:{window}"


def _ends_key(key: str) -> str:
    return f"{key}:ends"


def count(scope: str, ident: str, rate: str) -> int:
    """Hits recorded in the current window."""
    _, window = parse_rate(rate)
    return cache.get(_key(scope, ident, window), 0)


def hit(scope: str, ident: str, rate: str) -> int | None:
    """Records one hit; returns the seconds until the window ends when the limit is exceeded,
    else None."""
    return check(hits=[(scope, ident, rate)])[0]


def blocked(scope: str, ident: str, rate: str) -> int | None:
    """Seconds to wait when the limit is already reached (without recording a hit), else None."""
    return check(peeks=[(scope, ident, rate)])[0]


def check(*, hits: Sequence[Limit] = (), peeks: Sequence[Limit] = ()) -> list[int | None]:
    """Records one hit on each limit of `hits` and reads each of `peeks`, in one round trip to
    Redis; returns, in that order, the seconds to wait where a limit is exceeded (a hit beyond
    the limit, a peek at it), else None."""
    planned = []
    for limits, peek in ((hits, False), (peeks, True)):
        for scope, ident, rate in limits:
            limit, window = parse_rate(rate)
            planned.append((_key(scope, ident, window), window, limit, peek))
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        counts = _redis_counts(backend, planned)
    else:
        counts = _cache_counts(planned)
    return [
        max(left, 1) if (found >= limit if peek else found > limit) else None
        for (_, _, limit, peek), (found, left) in zip(planned, counts, strict=True)
    ]


def _redis_counts(backend: RedisCache, planned: list[tuple]) -> list[tuple[int, int]]:
    """One pipeline: for a hit SET 0 NX with the window's expiry (the first hit opens the
    window) then INCR (atomic, so two processes never both take the last place), for a peek GET;
    then TTL, the seconds the window has left. The counters are plain integers, as the cache
    writes them, so `cache.get` reads them too. Answers (count, seconds left) per limit."""
    if not planned:
        return []
    keys = [backend.make_and_validate_key(key) for key, *_ in planned]
    pipe = backend._cache.get_client(keys[0], write=True).pipeline(transaction=False)
    for full_key, (_, window, _, peek) in zip(keys, planned, strict=True):
        if peek:
            pipe.get(full_key)
        else:
            pipe.set(full_key, 0, ex=window, nx=True)
            pipe.incr(full_key)
        pipe.ttl(full_key)
    answers = iter(pipe.execute())
    counts = []
    for _, window, _, peek in planned:
        if not peek:
            next(answers)  # the SET NX
        found = int(next(answers) or 0)
        left = next(answers)
        counts.append((found, left if left and left > 0 else window))
    return counts


def _cache_counts(planned: list[tuple]) -> list[tuple[int, int]]:
    """The same on a cache without TTL reads (each process's memory): the window's end is kept
    beside its counter."""
    counts = []
    now = time.time()
    for key, window, _, peek in planned:
        ends = cache.get(_ends_key(key))
        if peek:
            found = cache.get(key, 0) if ends else 0
        else:
            if ends is None or ends <= now:
                ends = now + window
                cache.set(_ends_key(key), ends, timeout=window)
                cache.set(key, 0, timeout=window)
            try:
                found = cache.incr(key)
            except ValueError:  # evicted since
                cache.set(key, 1, timeout=window)
                found = 1
        counts.append((found, int(-(-((ends or now + window) - now) // 1))))
    return counts


def reset(scope: str, ident: str, rate: str) -> None:
    _, window = parse_rate(rate)
    key = _key(scope, ident, window)
    cache.delete_many([key, _ends_key(key)])
