"""Link tagging: finding a post's URLs, checking where they go, adding UTMs without disturbing them.

Pure functions on strings; `attribution.services` applies them to posts.
"""

import functools
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from django.core.exceptions import ValidationError
from publicsuffixlist import PublicSuffixList

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")

# http(s) URLs in free text; trailing punctuation belongs to the sentence, not the URL.
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\"…"
# Characters that have no place in a destination and are used to confuse URL parsers.
_FORBIDDEN = re.compile(r"[\s\\\x00-\x1f\x7f]")


def urls_in(text: str) -> list[str]:
    """The http(s) URLs of a caption, in order, each once."""
    found: list[str] = []
    for match in _URL_IN_TEXT.finditer(text or ""):
        url = match.group(0).rstrip(_TRAILING)
        if url not in found:
            found.append(url)
    return found


def destination_host(url: str) -> str:
    """The host a link sends visitors to, checked for every trick that escapes an allow-list.

    Raises ValidationError with the reason for anything that is not a plain http(s) URL with a host.
    """
    if not url or _FORBIDDEN.search(url):
        raise ValidationError("The URL contains spaces, backslashes or control characters.")
    try:
        # Refuses hosts with characters that NFKC-normalise to / ? # @ : (`evil.example＃@shop`).
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValidationError("The URL's host contains characters that disguise another.") from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValidationError(
            f"Only http and https links can be tracked, not {parts.scheme or 'a relative URL'!r}."
        )
    if not parts.netloc or "@" in parts.netloc or "%" in parts.netloc:
        raise ValidationError("The URL must name a host, without user names or encoded characters.")
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii").lower().rstrip(".")
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except (UnicodeError, ValueError) as exc:
        raise ValidationError("The URL's host or port is malformed.") from exc
    if not host:
        raise ValidationError("The URL must name a host.")
    return host


def host_is_allowed(host: str, allowed: set[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in allowed)


def check_destination(url: str, allowed: set[str]) -> str:
    """Returns the URL's host when links may point there, else raises ValidationError saying why."""
    host = destination_host(url)
    if not host_is_allowed(host, allowed):
        listed = ", ".join(sorted(allowed)) or "none yet"
        raise ValidationError(
            f"{host} is not one of this workspace's store or allowed domains ({listed}). "
            "Connect the store or add the domain first."
        )
    return host


def normalise_domain(value: str) -> str:
    """`https://Shop.Example/path` or `shop.example.` -> `shop.example`."""
    value = value.strip().lower()
    if "://" not in value:
        value = "https://" + value
    return destination_host(value)


# Names that never lead to a public site: loopback (RFC 6761: *.localhost resolves to it),
# multicast DNS on the local link (.local), private and reverse-lookup zones.
_LOCAL_SUFFIXES = ("localhost", "localdomain", "local", "internal", "lan", "arpa")
# A host whose last label is a number is read as an IPv4 address by browsers (`127.1`, `0x7f.1`).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # The list the package ships (updated with each release); nothing is downloaded.
    return PublicSuffixList()


def check_allowed_domain(value: str) -> str:
    """The normalised domain, when links may be allowed to point at it and its subdomains; else
    ValidationError saying why. Refused: IP addresses (v4 and v6), loopback and local names,
    single labels and public suffixes (`com`, `co.uk`, `github.io`, which would allow every site
    below them), by the Public Suffix List."""
    domain = normalise_domain(value)
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValidationError(f"{domain} is an IP address: allow a domain name instead.")
    labels = domain.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        raise ValidationError(f"{domain} reads as an IP address: allow a domain name instead.")
    if any(domain == suffix or domain.endswith("." + suffix) for suffix in _LOCAL_SUFFIXES):
        raise ValidationError(f"{domain} is a local name, not a public site.")
    if len(labels) < 2:
        raise ValidationError(
            f"{domain} is a single label: allow the site's full domain (e.g. shop.example.com)."
        )
    if _public_suffixes().is_public(domain):
        raise ValidationError(
            f"{domain} is a public suffix, under which anybody can register a site: "
            "allow the site's own domain (e.g. shop.example.com)."
        )
    return domain


@dataclass(frozen=True)
class Tagged:
    url: str
    utms: dict[str, str]


def add_utms(url: str, defaults: dict[str, str]) -> Tagged:
    """Adds the UTMs the URL lacks. The marketer's own UTMs win; other parameters and the
    fragment are kept byte for byte (the new pairs are appended to the raw query string)."""
    existing = {key.lower(): value for key, value in _query_pairs(url) if key.lower() in UTM_KEYS}
    utms = {key: existing.get(key) or defaults.get(key, "") for key in UTM_KEYS}
    missing = [(key, value) for key, value in defaults.items() if value and key not in existing]
    return Tagged(url=append_query(url, missing), utms={k: v for k, v in utms.items() if v})


def append_query(url: str, pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return url
    base, hash_mark, fragment = url.partition("#")
    extra = urlencode(pairs, quote_via=quote)
    separator = "" if base.endswith(("?", "&")) else ("&" if "?" in base else "?")
    return f"{base}{separator}{extra}{hash_mark}{fragment}"


def _query_pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)
