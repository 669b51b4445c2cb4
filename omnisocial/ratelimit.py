"""Fixed-window counters in the cache: login attempts per username and address, webhook
deliveries per store, API requests per key (omnisocial/throttling.py).

A window opens with the first hit and lasts the rate's period: its counter expires with it.
Windows are not cut on the clock, so a burst is never split between two of them (which would let
twice the limit through around a boundary, and make a limit's answer depend on the time of day).

A hit is one atomic increment, so concurrent requests in several processes never both take the
last place. The limits hold across processes and hosts only with a shared cache: set CACHE_URL
(Redis, see settings.py); without it each process counts on its own (`check --deploy` warns).

A large limit on a hot path may be counted in batches instead (`hit_batched`): each process adds
its hits to the shared counter a few at a time, which saves most requests their round trip to
Redis, at the price of a tolerance that is stated there.
"""

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache

# (scope, ident, rate): one counter, as `hit` takes it.
Limit = tuple[str, str, str]


@lru_cache(maxsize=256)
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
            planned.append((_key(scope, ident, window), window, limit, peek, 1))
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        counts = _redis_counts(backend, planned)
    else:
        counts = _cache_counts(planned)
    return [
        max(left, 1) if (found >= limit if peek else found > limit) else None
        for (_, _, limit, peek, _), (found, left) in zip(planned, counts, strict=True)
    ]


def _redis_counts(backend: RedisCache, planned: list[tuple]) -> list[tuple[int, int]]:
    """One pipeline: for a hit SET 0 NX with the window's expiry (the first hit opens the
    window) then INCRBY its hits (atomic, so two processes never both take the last place), for
    a peek GET;
    then TTL, the seconds the window has left. The counters are plain integers, as the cache
    writes them, so `cache.get` reads them too. Answers (count, seconds left) per limit."""
    if not planned:
        return []
    keys = [backend.make_and_validate_key(key) for key, *_ in planned]
    pipe = backend._cache.get_client(keys[0], write=True).pipeline(transaction=False)
    for full_key, (_, window, _, peek, amount) in zip(keys, planned, strict=True):
        if peek:
            pipe.get(full_key)
        else:
            pipe.set(full_key, 0, ex=window, nx=True)
            pipe.incrby(full_key, amount)
        pipe.ttl(full_key)
    answers = iter(pipe.execute())
    counts = []
    for _, window, _, peek, _ in planned:
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
    for key, window, _, peek, amount in planned:
        ends = cache.get(_ends_key(key))
        if peek:
            found = cache.get(key, 0) if ends else 0
        else:
            if ends is None or ends <= now:
                ends = now + window
                cache.set(_ends_key(key), ends, timeout=window)
                cache.set(key, 0, timeout=window)
            try:
                found = cache.incr(key, amount)
            except ValueError:  # evicted since
                cache.set(key, amount, timeout=window)
                found = amount
        counts.append((found, math.ceil((ends or now + window) - now)))
    return counts


# Batched counting (`hit_batched`) ---------------------------------------------------------------
#
# A process keeps, per counter, the shared count Redis answered at its last visit, when that
# window ends, and the hits it has taken since (not yet added). While the count it knows plus its
# own hits stays below the limit, and it holds fewer than the counter's batch, a hit is taken
# here without asking Redis; the hit that fills the batch, or that would reach the limit, adds
# the whole batch to the shared counter (one INCRBY in the same one round trip as `hit`) and
# answers from the count that comes back. Once the known count has reached the limit, the rest of
# that window is answered 429 here (a window's count only grows), with the wait Redis gave; so a
# `reset` made elsewhere is seen here when the window ends. One tally per counter that took a hit
# (the webhook's: one per store that sent a verified delivery, so nobody can grow it at will).
#
# The tolerance: hits held back by other processes are unseen, so in one window at most
# (batch - 1) per web process beyond the limit get through (a single process is exact). A batch
# is a BATCH_SHARE-th of the limit, at most BATCH_MAX: for 6000/min, 10, so with 6 workers at most
# 54 of 6000 (0.9%) beyond. Limits under 2 * BATCH_SHARE are never batched: they stay exact.
BATCH_SHARE = 100
BATCH_MAX = 10


@dataclass
class _Tally:
    known: int = 0  # the shared count at the last visit to Redis
    ends: float = 0.0  # time.monotonic() when that window ends
    held: int = 0  # hits taken here since, not yet added to the shared count


_tallies: dict[str, _Tally] = {}
_tallies_lock = threading.Lock()


def batch_size(rate: str) -> int:
    """The hits a process may hold back from the shared counter of `rate` (1: none)."""
    limit, _ = parse_rate(rate)
    return max(1, min(BATCH_MAX, limit // BATCH_SHARE))


def hit_batched(scope: str, ident: str, rate: str) -> int | None:
    """`hit`, counted in batches on a shared cache (see above): the same answers, except that
    across processes up to (batch - 1) hits per process may get through beyond the limit. Small
    limits, and a cache that is each process's own memory, are counted as `hit` counts them."""
    batch = batch_size(rate)
    backend = caches[DEFAULT_CACHE_ALIAS]
    if batch == 1 or not isinstance(backend, RedisCache):
        return hit(scope, ident, rate)
    limit, window = parse_rate(rate)
    key = _key(scope, ident, window)
    now = time.monotonic()
    with _tallies_lock:
        tally = _tallies.get(key)
        if tally is None:
            tally = _tallies[key] = _Tally()
        if now < tally.ends:
            if tally.known >= limit:
                return max(1, math.ceil(tally.ends - now))
            if tally.held + 1 < batch and tally.known + tally.held + 1 < limit:
                tally.held += 1
                return None
        amount, tally.held = tally.held + 1, 0
    [(found, left)] = _redis_counts(backend, [(key, window, limit, False, amount)])
    with _tallies_lock:
        tally.known, tally.ends = found, now + left
    # The hits held back were answered already: this one is past the limit only when the count
    # was full before it was added.
    return max(left, 1) if found > limit else None


def reset(scope: str, ident: str, rate: str) -> None:
    _, window = parse_rate(rate)
    key = _key(scope, ident, window)
    cache.delete_many([key, _ends_key(key)])
