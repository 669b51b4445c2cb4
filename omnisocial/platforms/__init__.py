"""Clients of the social and ad platforms' APIs (Meta Graph and Marketing APIs, TikTok Business
API). They call out through `omnisocial.outbound` only, read every base URL from settings, and
import nothing above omnisocial: the sync that stores their figures is `omnisocial.connections`.

Every failure a client meets is raised as a `PlatformError` whose `kind` tells the sync what to do
with it (docs/platforms.md):
- `token`: the access token expired or was revoked; the connection needs reconnecting;
- `throttled`: the platform kept refusing for its rate limits after the client backed off;
- `usage`: the platform's usage headers passed the stop line; the run pauses and resumes later;
- `metric`: the pinned API version no longer offers a metric;
- `loop`: a paging cursor came back twice;
- `other`: anything else, with the platform's message.
"""

from __future__ import annotations

from datetime import date, timedelta


class PlatformError(Exception):
    def __init__(self, message: str, *, kind: str = "other", code: int | None = None,
                 resume_after: float | None = None):  # fmt: skip
        super().__init__(message)
        self.kind = kind
        self.code = code
        # Seconds after which the platform lets the app call again (usage stops).
        self.resume_after = resume_after


def day_windows(since: date, until: date, days: int):
    """[since, until] cut into consecutive windows of at most `days` days, oldest first."""
    start = since
    while start <= until:
        end = min(until, start + timedelta(days=days - 1))
        yield start, end
        start = end + timedelta(days=1)
