"""Meta's Graph and Marketing APIs: Facebook Login, the Pages, Instagram professional accounts
and ad accounts a person can read, ad insights by ad and day, ads' creatives (to join an ad to
the post it promotes) and the organic insights of Instagram media and Facebook Page posts.

The version is pinned by META_GRAPH_URL (`https://graph.facebook.com/v24.0`); organic metric
names are kept per version in `ORGANIC_METRICS`, since Meta renames them (Instagram and Facebook
replaced impressions with views in 2025).

Rate limits (docs/platforms.md): every answer's `X-App-Usage`, `X-Business-Use-Case-Usage` and
`X-Ad-Account-Usage` headers are read; above `SLOW_AT` percent the client waits before its next
call, above `STOP_AT` it stops with a `usage` error saying when Meta lets it call again. The
throttling error codes (4, 17, 32, 613, 80000-80014) are backed off and retried a few times;
error 190 (token expired or revoked) is a `token` error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import date

from django.conf import settings

from omnisocial import outbound
from omnisocial.outbound import OutboundError
from omnisocial.platforms import PlatformError

SLOW_AT = 75  # percent of a usage limit: slow down above it
STOP_AT = 95  # percent: stop the run above it, resume later
SLOW_WAIT = 10.0  # seconds waited per call at 100% (scaled from SLOW_AT), at most
THROTTLE_CODES = frozenset({4, 17, 32, 613}) | frozenset(range(80000, 80015))
THROTTLE_RETRIES = 4
THROTTLE_WAIT = 30.0  # seconds before the first retry of a throttled call; doubles each time
TOKEN_CODES = frozenset({190})
CREATIVE_BATCH = 50  # ids per `?ids=` lookup (Graph's limit)
PAGE_LIMIT = 500

# The insights fields the sync reads; every one a Marketing API ad insights field.
AD_INSIGHTS_FIELDS = (
    "ad_id", "date_start", "account_currency", "spend", "impressions", "reach", "clicks",
    "inline_link_clicks",
)  # fmt: skip

# Organic metric names per pinned Graph API version: which metric gives each of the product's
# figures. Lifetime totals per media or post. Add a version here when META_GRAPH_URL moves on.
ORGANIC_METRICS: dict[str, dict[str, dict[str, str]]] = {
    "v24.0": {
        "instagram": {
            "impressions": "views",
            "reach": "reach",
            "engagements": "total_interactions",
        },
        "facebook": {
            "impressions": "post_media_view",
            "reach": "post_total_media_view_unique",
            "engagements": "post_reactions_by_type_total",
        },
    },
}
LATEST_KNOWN = "v24.0"


def version() -> str:
    """The pinned Graph API version: META_GRAPH_URL's last path segment."""
    return settings.META_GRAPH_URL.rstrip("/").rsplit("/", 1)[-1]


def organic_metrics(kind: str) -> dict[str, str]:
    """{figure: metric name} for Instagram media (`instagram`) or Page posts (`facebook`) at the
    pinned version (the latest known one's names when the version is newer than this code)."""
    return ORGANIC_METRICS.get(version(), ORGANIC_METRICS[LATEST_KNOWN])[kind]


# --- Facebook Login --------------------------------------------------------------------------


def dialog_url(*, state: str, redirect_uri: str, code_challenge: str) -> tuple[str, dict]:
    """The Login dialog's URL and query: the permissions the sync needs, `state`, and PKCE
    (S256) so a stolen code is worthless without the verifier kept in the session."""
    return settings.META_OAUTH_DIALOG_URL, {
        "client_id": settings.META_APP_ID,
        "redirect_uri": redirect_uri,
        "state": state,
        "response_type": "code",
        "scope": ",".join(settings.META_OAUTH_SCOPES),
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }


def code_exchange(*, code: str, redirect_uri: str, code_verifier: str) -> dict:
    """The code for a short-lived user token, then that for a long-lived one (about 60 days):
    {"access_token", "expires_in" (seconds, may be absent)}."""
    short = _call(
        "GET", "oauth/access_token",
        {"client_id": settings.META_APP_ID, "client_secret": settings.META_APP_SECRET,
         "redirect_uri": redirect_uri, "code": code, "code_verifier": code_verifier},
    )  # fmt: skip
    if not short.get("access_token"):
        raise PlatformError("Meta answered the code exchange without an access token.")
    return _call(
        "GET", "oauth/access_token",
        {"grant_type": "fb_exchange_token", "client_id": settings.META_APP_ID,
         "client_secret": settings.META_APP_SECRET, "fb_exchange_token": short["access_token"]},
    )  # fmt: skip


def _call(method: str, path: str, params: dict, *, sleep=time.sleep) -> dict:
    """One call outside a connection (the token exchange): errors raised as PlatformError."""
    url = f"{settings.META_GRAPH_URL.rstrip('/')}/{path}"
    try:
        response = outbound.request(method, url, params=params, sleep=sleep)
    except OutboundError as exc:
        raise PlatformError(f"Meta did not answer: {exc}") from exc
    body = _body(response)
    if "error" in body or response.status_code >= 400:
        raise _error(response, body)
    return body


def _body(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {"error": {"message": f"HTTP {response.status_code}, not JSON"}}
    return body if isinstance(body, dict) else {"data": body}


def _error(response, body: dict) -> PlatformError:
    error = body.get("error") or {}
    code = error.get("code")
    message = str(error.get("message") or f"HTTP {response.status_code}")[:300]
    if code in TOKEN_CODES or response.status_code == 401:
        return PlatformError(
            f"Meta refused the access token (code {code}): {message}", kind="token", code=code
        )
    if code in THROTTLE_CODES:
        return PlatformError(f"Meta throttled the app (code {code}): {message}",
                             kind="throttled", code=code)  # fmt: skip
    if code == 100 and "metric" in message.lower():
        return PlatformError(f"Meta: {message}", kind="metric", code=code)
    return PlatformError(f"Meta answered HTTP {response.status_code} (code {code}): {message}",
                         code=code)  # fmt: skip


# --- usage headers ---------------------------------------------------------------------------


def usage(headers) -> tuple[float, float]:
    """(highest percentage of any limit Meta reports, minutes until access is regained)."""
    highest, regain = 0.0, 0.0
    for name in ("X-App-Usage", "X-Business-Use-Case-Usage", "X-Ad-Account-Usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        for entry in _usage_entries(value):
            for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
                if isinstance(entry.get(key), int | float):
                    highest = max(highest, float(entry[key]))
            wait = entry.get("estimated_time_to_regain_access")
            if isinstance(wait, int | float):
                regain = max(regain, float(wait))
    return highest, regain


def _usage_entries(value) -> Iterator[dict]:
    # X-App-Usage is one object; X-Business-Use-Case-Usage maps business ids to lists of them.
    if isinstance(value, dict) and any(isinstance(v, list) for v in value.values()):
        for entries in value.values():
            yield from (e for e in entries if isinstance(e, dict))
    elif isinstance(value, dict):
        yield value


# --- the client of one connection ------------------------------------------------------------


class Graph:
    """Calls with one user's (or Page's) token. `sleep` is the run's wait (tests record it)."""

    def __init__(self, token: str, *, sleep: Callable[[float], None] = time.sleep):
        self.token = token
        self.sleep = sleep
        self.base = settings.META_GRAPH_URL.rstrip("/")

    def _proof(self, token: str) -> dict:
        if not settings.META_APP_SECRET:
            return {}
        # appsecret_proof: a leaked token is useless without the app's secret.
        proof = hmac.new(settings.META_APP_SECRET.encode(), token.encode(), hashlib.sha256)
        return {"appsecret_proof": proof.hexdigest()}

    def get(self, path: str, params: dict | None = None, *, token: str | None = None) -> dict:
        url = f"{self.base}/{path.lstrip('/')}" if path else f"{self.base}/"
        token = token or self.token
        sent = {**(params or {}), **self._proof(token)}
        # The token goes in a header, never in the URL (URLs end up in logs).
        headers = {"Authorization": f"Bearer {token}"}
        for attempt in range(THROTTLE_RETRIES + 1):
            try:
                response = outbound.request(
                    "GET", url, params=sent, headers=headers, timeout=60, sleep=self.sleep
                )
            except OutboundError as exc:
                raise PlatformError(f"Meta did not answer: {exc}") from exc
            self._pace(response.headers)
            body = _body(response)
            if "error" not in body and response.status_code < 400:
                return body
            error = _error(response, body)
            if error.kind != "throttled" or attempt == THROTTLE_RETRIES:
                raise error
            self.sleep(THROTTLE_WAIT * 2**attempt)
        raise AssertionError("unreachable")

    def _pace(self, headers) -> None:
        highest, regain = usage(headers)
        if highest >= STOP_AT:
            raise PlatformError(
                f"Meta's usage limits are at {highest:g}%: the sync stops here and resumes "
                f"{'in ' + format(regain, 'g') + ' minutes' if regain else 'within the hour'}.",
                kind="usage", resume_after=(regain or 60) * 60,
            )  # fmt: skip
        if highest > SLOW_AT:
            self.sleep(SLOW_WAIT * (highest - SLOW_AT) / (100 - SLOW_AT))

    def paged(self, path: str, params: dict, *, token: str | None = None) -> Iterator[dict]:
        """Every item of a list edge, following `paging.cursors.after` while `paging.next` says
        there is a next page (the cursor is sent to META_GRAPH_URL, never to the host `next`
        names). A cursor seen twice is a paging loop: stopped with a `loop` error."""
        params = {**params, "limit": params.get("limit", PAGE_LIMIT)}
        seen: set[str] = set()
        while True:
            body = self.get(path, params, token=token)
            yield from body.get("data") or []
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return
            if after in seen:
                raise PlatformError(
                    f"Meta returned the same page cursor twice reading {path}: stopped there "
                    "(nothing of that read is written).",
                    kind="loop",
                )
            seen.add(after)
            params = {**params, "after": after}

    # --- accounts ---

    def me(self) -> dict:
        return self.get("me", {"fields": "id,name"})

    def pages(self) -> list[dict]:
        """The Pages the person manages, each with its Page token and linked Instagram account."""
        return list(self.paged(
            "me/accounts",
            {"fields": "id,name,access_token,instagram_business_account{id,username,name}"},
        ))  # fmt: skip

    def ad_accounts(self) -> list[dict]:
        return list(self.paged("me/adaccounts", {"fields": "account_id,name,currency"}))

    # --- paid ---

    def ad_insights(self, account_id: str, since: date, until: date) -> Iterator[dict]:
        """Ad insights by ad and day (`level=ad`, `time_increment=1`) of the ad account."""
        return self.paged(
            f"act_{account_id}/insights",
            {
                "level": "ad",
                "time_increment": 1,
                "fields": ",".join(AD_INSIGHTS_FIELDS),
                "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
            },
        )

    def ad_objects(self, ad_ids: list[str]) -> dict[str, tuple[str, str]]:
        """{ad id: (effective_object_story_id, effective_instagram_media_id)} for the ads, read
        CREATIVE_BATCH at a time with `?ids=`."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ad_ids), CREATIVE_BATCH):
            batch = ad_ids[start : start + CREATIVE_BATCH]
            body = self.get("", {
                "ids": ",".join(batch),
                "fields": "creative{effective_object_story_id,effective_instagram_media_id}",
            })  # fmt: skip
            for ad_id in batch:
                creative = (body.get(ad_id) or {}).get("creative") or {}
                found[ad_id] = (
                    str(creative.get("effective_object_story_id") or ""),
                    str(creative.get("effective_instagram_media_id") or ""),
                )
        return found

    # --- organic ---

    def media_ids(self, ig_user_id: str) -> Iterator[dict]:
        return self.paged(
            f"{ig_user_id}/media", {"fields": "id,timestamp,media_type,media_url,thumbnail_url"}
        )

    def page_post_ids(self, page_id: str, *, token: str) -> Iterator[dict]:
        return self.paged(f"{page_id}/posts", {"fields": "id,created_time,full_picture"},
                          token=token)  # fmt: skip

    def lifetime_insights(
        self, object_id: str, metrics: dict[str, str], *, token: str | None = None
    ) -> tuple[dict[str, int], list[str]]:
        """The object's lifetime totals ({figure: value}) and the metric names the API version
        refused: when Meta refuses the set (error 100 on a metric), each metric is asked alone
        and the others are kept."""
        names = list(metrics.values())
        try:
            body = self.get(f"{object_id}/insights", {"metric": ",".join(names)}, token=token)
            values = _insight_values(body)
            refused: list[str] = []
        except PlatformError as exc:
            if exc.kind != "metric":
                raise
            values, refused = {}, []
            for name in names:
                try:
                    body = self.get(f"{object_id}/insights", {"metric": name}, token=token)
                except PlatformError as one:
                    if one.kind != "metric":
                        raise
                    refused.append(name)
                    continue
                values.update(_insight_values(body))
        figures = {figure: values[name] for figure, name in metrics.items() if name in values}
        return figures, refused


def _insight_values(body: dict) -> dict[str, int]:
    values = {}
    for metric in body.get("data") or []:
        points = metric.get("values") or []
        value = (
            points[-1].get("value") if points else (metric.get("total_value") or {}).get("value")
        )
        if isinstance(value, dict):  # reactions by type: their sum
            value = sum(v for v in value.values() if isinstance(v, int))
        if isinstance(value, int | float):
            values[metric.get("name")] = int(value)
    return values


def thumbnail(item: dict) -> str:
    """The picture Meta gives for a media or Page post: a video's `thumbnail_url`, an image's
    `media_url`, a Page post's `full_picture`; "" when none."""
    if item.get("thumbnail_url"):
        return str(item["thumbnail_url"])
    if item.get("media_url") and item.get("media_type") in ("IMAGE", "CAROUSEL_ALBUM"):
        return str(item["media_url"])
    return str(item.get("full_picture") or "")
