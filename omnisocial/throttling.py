"""Request throttling: one bucket per workspace API key, one per user for browser sessions.

The rate is `API_RATE_LIMIT` (e.g. `600/min`, the default). A throttled request answers 429
with `Retry-After` (seconds) and says when to come back.
"""

from rest_framework.throttling import SimpleRateThrottle

from omnisocial.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api"

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
