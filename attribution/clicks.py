"""What a click request tells: is it a person, who is it, where did it come from."""

import ipaddress
import uuid

from crawlerdetect import CrawlerDetect
from django.http import HttpRequest

VISITOR_COOKIE = "osc_vid"
VISITOR_COOKIE_AGE = 400 * 24 * 3600  # the longest lifetime browsers accept
SEEN_COOKIE_PREFIX = "osc_seen_"
# Repeat clicks by one visitor on one link within 30 minutes of their previous click are one
# unique click: the usual web-analytics session length, long enough to absorb double taps and
# back-and-forth between the app and the store.
UNIQUE_CLICK_WINDOW = 30 * 60

# One detector per process: it compiles a large pattern set once (crawlerdetect keeps the list
# of crawlers and link-preview fetchers current, which a hand-written list would not).
_detector = CrawlerDetect()
# Other platforms' click ids, passed from the short link to the store untouched.
PASS_THROUGH_PARAMS = frozenset(
    {"fbclid", "gclid", "gbraid", "wbraid", "msclkid", "ttclid", "twclid", "li_fat_id", "igshid"}
)
_PREFETCH_HEADERS = ("HTTP_PURPOSE", "HTTP_SEC_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")


def bot_reason(request: HttpRequest) -> str:
    """Why this request is not a person clicking, or "" when it is."""
    if request.method == "HEAD":
        return "head-request"
    for header in _PREFETCH_HEADERS:
        value = request.META.get(header, "").lower()
        if "prefetch" in value or "preview" in value or "prerender" in value:
            return "prefetch"
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    if not user_agent.strip():
        return "no-user-agent"
    if _detector.isCrawler(user_agent):
        return "crawler"
    return ""


def visitor_id(request: HttpRequest) -> tuple[str, bool]:
    """The visitor id from the first-party cookie, or a new one; the flag says it is new."""
    existing = request.COOKIES.get(VISITOR_COOKIE, "")
    if 16 <= len(existing) <= 40 and existing.isalnum():
        return existing, False
    return uuid.uuid4().hex, True


def ip_prefix(request: HttpRequest) -> str:
    """The client's network, never its address: IPv4 to /24, IPv6 to /48."""
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
