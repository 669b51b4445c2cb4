"""TikTok's Business API (v1.3, pinned by TIKTOK_BUSINESS_API_URL): the advertiser authorisation,
the advertiser accounts it grants, ad-level daily reports (`/report/integrated/get/`) and ads'
`tiktok_item_id` (the video an ad promotes, joined to posts by their platform post id).

Every answer is HTTP 200 with `{"code", "message", "data"}`: code 0 is success; 40100 (too many
requests) is backed off and retried; 40104/40105 (token invalid or expired) are `token` errors.
Pages are numbered (`page`, `page_info.total_page`); an answer naming a page already read is a
paging loop. The Business API offers no PKCE: the state parameter guards the flow.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime

from django.conf import settings

from omnisocial import outbound
from omnisocial.outbound import OutboundError
from omnisocial.platforms import PlatformError, day_windows

THROTTLE_CODES = frozenset({40100, 50002})
TOKEN_CODES = frozenset({40104, 40105, 40102})
THROTTLE_RETRIES = 4
THROTTLE_WAIT = 10.0
PAGE_SIZE = 1000
REPORT_DAYS = 30  # the report's longest range by day (stat_time_day)
AD_BATCH = 100  # ad ids per /ad/get/ filter


def auth_url(*, state: str, redirect_uri: str) -> tuple[str, dict]:
    return settings.TIKTOK_AUTH_URL, {
        "app_id": settings.TIKTOK_APP_ID,
        "state": state,
        "redirect_uri": redirect_uri,
    }


def _check(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise PlatformError(f"TikTok answered HTTP {response.status_code}, not JSON.") from None
    if not isinstance(body, dict):
        raise PlatformError("TikTok answered something other than an object.")
    code = body.get("code")
    message = str(body.get("message") or "")[:300]
    if response.status_code >= 400 and code in (None, 0):
        raise PlatformError(f"TikTok answered HTTP {response.status_code}.")
    if code == 0:
        return body.get("data") or {}
    if code in TOKEN_CODES:
        raise PlatformError(f"TikTok refused the access token (code {code}): {message}",
                            kind="token", code=code)  # fmt: skip
    if code in THROTTLE_CODES:
        raise PlatformError(f"TikTok throttled the app (code {code}): {message}",
                            kind="throttled", code=code)  # fmt: skip
    raise PlatformError(f"TikTok answered code {code}: {message}", code=code)


def code_exchange(*, auth_code: str) -> dict:
    """{"access_token", "advertiser_ids", "scope"}: TikTok's advertiser tokens do not expire
    until the advertiser revokes them."""
    url = f"{settings.TIKTOK_BUSINESS_API_URL.rstrip('/')}/oauth2/access_token/"
    try:
        response = outbound.request("POST", url, json={
            "app_id": settings.TIKTOK_APP_ID, "secret": settings.TIKTOK_APP_SECRET,
            "auth_code": auth_code,
        })  # fmt: skip
    except OutboundError as exc:
        raise PlatformError(f"TikTok did not answer: {exc}") from exc
    data = _check(response)
    if not data.get("access_token"):
        raise PlatformError("TikTok answered the code exchange without an access token.")
    return data


class Business:
    """Calls with one advertiser authorisation's token."""

    def __init__(self, token: str, *, sleep: Callable[[float], None] = time.sleep):
        self.token = token
        self.sleep = sleep
        self.base = settings.TIKTOK_BUSINESS_API_URL.rstrip("/")

    def get(self, path: str, params: dict) -> dict:
        url = f"{self.base}/{path.lstrip('/')}"
        for attempt in range(THROTTLE_RETRIES + 1):
            try:
                response = outbound.request("GET", url, params=params, timeout=60,
                                            headers={"Access-Token": self.token},
                                            sleep=self.sleep)  # fmt: skip
            except OutboundError as exc:
                raise PlatformError(f"TikTok did not answer: {exc}") from exc
            try:
                return _check(response)
            except PlatformError as exc:
                if exc.kind != "throttled" or attempt == THROTTLE_RETRIES:
                    raise
            self.sleep(THROTTLE_WAIT * 2**attempt)
        raise AssertionError("unreachable")

    def paged(self, path: str, params: dict) -> Iterator[dict]:
        page, seen = 1, set()
        while True:
            data = self.get(path, {**params, "page": page, "page_size": PAGE_SIZE})
            info = data.get("page_info") or {}
            answered = info.get("page", page)
            if answered in seen:
                raise PlatformError(
                    f"TikTok answered page {answered} twice reading {path}: stopped there "
                    "(nothing of that read is written).",
                    kind="loop",
                )
            seen.add(answered)
            yield from data.get("list") or []
            if answered >= int(info.get("total_page") or 1):
                return
            page = answered + 1

    def advertisers(self) -> list[dict]:
        """[{advertiser_id, advertiser_name, currency}] the authorisation grants."""
        data = self.get("oauth2/advertiser/get/", {
            "app_id": settings.TIKTOK_APP_ID, "secret": settings.TIKTOK_APP_SECRET,
        })  # fmt: skip
        found = [dict(a) for a in data.get("list") or []]
        if found:
            info = self.get("advertiser/info/", {
                "advertiser_ids": json.dumps([str(a["advertiser_id"]) for a in found]),
                "fields": json.dumps(["advertiser_id", "name", "currency"]),
            })  # fmt: skip
            currencies = {str(a.get("advertiser_id")): a.get("currency") or "" for a in
                          info.get("list") or []}  # fmt: skip
            for advertiser in found:
                advertiser["currency"] = currencies.get(str(advertiser["advertiser_id"]), "")
        return found

    def ad_report(self, advertiser_id: str, since: date, until: date) -> Iterator[dict]:
        """{ad_id, day, spend, impressions, clicks} per ad and day, 30 days per report."""
        for start, end in day_windows(since, until, REPORT_DAYS):
            rows = self.paged("report/integrated/get/", {
                "advertiser_id": advertiser_id,
                "report_type": "BASIC",
                "data_level": "AUCTION_AD",
                "dimensions": json.dumps(["ad_id", "stat_time_day"]),
                "metrics": json.dumps(["spend", "impressions", "clicks"]),
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
            })  # fmt: skip
            for row in rows:
                dims, metrics = row.get("dimensions") or {}, row.get("metrics") or {}
                stamp = str(dims.get("stat_time_day") or "")
                yield {
                    "ad_id": str(dims.get("ad_id") or ""),
                    "day": datetime.strptime(stamp[:10], "%Y-%m-%d").date(),  # noqa: DTZ007
                    "spend": str(metrics.get("spend") or "0"),
                    "impressions": str(metrics.get("impressions") or "0"),
                    "clicks": str(metrics.get("clicks") or "0"),
                }

    def ad_items(self, advertiser_id: str, ad_ids: list[str]) -> dict[str, str]:
        """{ad id: tiktok_item_id} (empty when the ad promotes no TikTok post)."""
        found: dict[str, str] = {}
        for start in range(0, len(ad_ids), AD_BATCH):
            batch = ad_ids[start : start + AD_BATCH]
            for ad in self.paged("ad/get/", {
                "advertiser_id": advertiser_id,
                "fields": json.dumps(["ad_id", "tiktok_item_id"]),
                "filtering": json.dumps({"ad_ids": batch}),
            }):  # fmt: skip
                found[str(ad.get("ad_id"))] = str(ad.get("tiktok_item_id") or "")
        return found
