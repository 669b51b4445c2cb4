"""Fixed-window counters in the cache: login attempts per username and address, webhook
deliveries per store, API requests per key (omnisocial/throttling.py).

A hit is one atomic increment, so concurrent requests in several processes never both take the
last place. The limits hold across processes and hosts only with a shared cache: set CACHE_URL
(Redis, see settings.py); without it each process counts on its own (`check --deploy` warns).
"""

import time

from django.core.cache import cache


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
    limit, window = parse_rate(rate)
    key, remaining = _key(scope, ident, window)
    cache.add(key, 0, timeout=window + 1)
    try:
        hits = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=window + 1)
        hits = 1
    return max(remaining, 1) if hits > limit else None


def blocked(scope: str, ident: str, rate: str) -> int | None:
    """Seconds to wait when the limit is already reached (without recording a hit), else None."""
    limit, window = parse_rate(rate)
    key, remaining = _key(scope, ident, window)
    return max(remaining, 1) if cache.get(key, 0) >= limit else None


def reset(scope: str, ident: str, rate: str) -> None:
    _, window = parse_rate(rate)
    key, _ = _key(scope, ident, window)
    cache.delete(key)
