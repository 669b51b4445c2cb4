"""Request throttling: one bucket per workspace API key, one per user for browser sessions.

The rate is `API_RATE_LIMIT` (e.g. `600/min`, the default). A throttled request answers 429
with `Retry-After` (seconds) and says when to come back.

The count is a fixed-window counter in the cache (omnisocial/ratelimit.py), one atomic increment
per request, rather than DRF's list of timestamps that each request reads and writes back: with
several web processes that read-modify-write loses concurrent requests, and the limit leaks.
"""

from rest_framework.throttling import SimpleRateThrottle

from omnisocial import ratelimit
from omnisocial.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api"

    def parse_rate(self, rate):
        # The project's rate syntax everywhere (`600/min`, `5/15min`, `10/s`).
        return (None, None) if rate is None else ratelimit.parse_rate(rate)

    def get_cache_key(self, request, view):
        # Keyed on the key's pk, not the client address: several clients behind one proxy each
        # have their own budget, and one key spread over many hosts still has one.
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        self._wait = None
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self._wait = ratelimit.hit("api", key, self.rate)
        return self._wait is None

    def wait(self):
        return self._wait
