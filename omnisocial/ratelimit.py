"""Fixed-window counters in the cache: login attempts per username and address, webhook
deliveries per store, API requests per key (omnisocial/throttling.py).

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


def _key(scope: str, ident: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    start = now - now % window
    return f"ratelimit:{scope}:{ident}:{start}", start + window - now


def count(scope: str, ident: str, rate: str) -> int:
    """Hits recorded in the current window."""
    _, window = parse_rate(rate)
    key, _ = _key(scope, ident, window)
    return cache.get(key, 0)


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
            key, remaining = _key(scope, ident, window)
            planned.append((key, window, limit, max(remaining, 1), peek))
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        counts = _redis_counts(backend, planned)
    else:
        counts = _cache_counts(planned)
    return [
        wait if (found >= limit if peek else found > limit) else None
        for (_, _, limit, wait, peek), found in zip(planned, counts, strict=True)
    ]


def _redis_counts(backend: RedisCache, planned: list[tuple]) -> list[int]:
    """One pipeline: for a hit SET 0 NX with the window's expiry then INCR (atomic, so two
    processes never both take the last place), for a peek GET. The counters are plain integers,
    as the cache writes them, so `cache.get` reads them too."""
    if not planned:
        return []
    keys = [backend.make_and_validate_key(key) for key, *_ in planned]
    pipe = backend._cache.get_client(keys[0], write=True).pipeline(transaction=False)
    for full_key, (_, window, _, _, peek) in zip(keys, planned, strict=True):
        if peek:
            pipe.get(full_key)
        else:
            pipe.set(full_key, 0, ex=window + 1, nx=True)
            pipe.incr(full_key)
    answers = iter(pipe.execute())
    counts = []
    for *_, peek in planned:
        if not peek:
            next(answers)  # the SET NX
        counts.append(int(next(answers) or 0))
    return counts


def _cache_counts(planned: list[tuple]) -> list[int]:
    counts = []
    for key, window, _, _, peek in planned:
        if peek:
            counts.append(cache.get(key, 0))
            continue
        cache.add(key, 0, timeout=window + 1)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=window + 1)
            counts.append(1)
    return counts


def reset(scope: str, ident: str, rate: str) -> None:
    _, window = parse_rate(rate)
    key, _ = _key(scope, ident, window)
    cache.delete(key)
