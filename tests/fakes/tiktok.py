"""A fake TikTok Business API (v1.3) on loopback, answering as TikTok documents it: every answer
HTTP 200 with `{"code", "message", "request_id", "data"}` (code 0 is success); the advertiser
authorisation page (`/portal/auth`: 302 back with `auth_code` and `state`), `/oauth2/access_token/`,
`/oauth2/advertiser/get/`, `/advertiser/info/`, `/report/integrated/get/` (BASIC, AUCTION_AD, by
`ad_id` and `stat_time_day`, numbered pages with `page_info`) and `/ad/get/` (`tiktok_item_id`).
The `Access-Token` header is checked. Faults by request number: `fake.faults[2] = answer`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import urlencode

import httpx

from tests.fakes.server import Answer, FakePlatform, Seen

APP_ID = "7000000001"
APP_SECRET = "tiktok-app-secret-0123456789"
TOKEN = "tiktok-access-token-0123456789"


def failure(code: int, message: str) -> Answer:
    return Answer(200, {"code": code, "message": message, "request_id": "r1", "data": {}})


def ok(data: dict) -> Answer:
    return Answer(200, {"code": 0, "message": "OK", "request_id": "r1", "data": data})


class FakeTikTok(FakePlatform):
    def __init__(self):
        super().__init__()
        self.codes: set[str] = set()
        self.advertisers = [{"advertiser_id": "7001", "advertiser_name": "Brand TT",
                             "currency": "USD"}]  # fmt: skip
        self.ads: dict[str, list[tuple[str, str]]] = {"7001": []}  # advertiser -> (ad, item)
        self.figures = lambda ad, day: {"spend": "5.50", "impressions": "2000", "clicks": "40"}
        self.page_size = 1000
        self.repeat_page = False

    def configure(self, settings) -> None:
        settings.OUTBOUND_ALLOW_PRIVATE = True
        settings.TIKTOK_APP_ID, settings.TIKTOK_APP_SECRET = APP_ID, APP_SECRET
        settings.TIKTOK_BUSINESS_API_URL = f"{self.url}/open_api/v1.3"
        settings.TIKTOK_AUTH_URL = f"{self.url}/portal/auth"

    def authorize(self, auth_url: str) -> str:
        response = httpx.get(auth_url, follow_redirects=False)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def respond(self, seen: Seen) -> Answer:
        return self.scripted(seen) or self._answer(seen)

    def _q(self, seen: Seen, name: str, default: str = "") -> str:
        return seen.query.get(name, [default])[0]

    def _answer(self, seen: Seen) -> Answer:
        path = seen.path.removeprefix("/open_api/v1.3")
        if path == "/portal/auth":
            code = f"auth-{len(self.codes) + 1}"
            self.codes.add(code)
            target = self._q(seen, "redirect_uri") + "?" + urlencode(
                {"auth_code": code, "code": code, "state": self._q(seen, "state")}
            )  # fmt: skip
            return Answer(302, b"", {"Location": target})
        if path == "/oauth2/access_token/":
            body = seen.json()
            if body.get("app_id") != APP_ID or body.get("secret") != APP_SECRET:
                return failure(40001, "app_id or secret is invalid")
            if body.get("auth_code") not in self.codes:
                return failure(40110, "auth_code is invalid or expired")
            self.codes.discard(body["auth_code"])
            return ok({"access_token": TOKEN, "scope": [4, 5],
                       "advertiser_ids": [a["advertiser_id"] for a in self.advertisers]})  # fmt: skip
        if seen.headers.get("Access-Token") != TOKEN:
            return failure(40105, "The access token is invalid or has been revoked.")
        if path == "/oauth2/advertiser/get/":
            return ok({"list": [{"advertiser_id": a["advertiser_id"],
                                 "advertiser_name": a["advertiser_name"]} for a in self.advertisers]})  # fmt: skip
        if path == "/advertiser/info/":
            ids = json.loads(self._q(seen, "advertiser_ids"))
            return ok({"list": [{"advertiser_id": a["advertiser_id"], "name": a["advertiser_name"],
                                 "currency": a["currency"]} for a in self.advertisers
                                if a["advertiser_id"] in ids]})  # fmt: skip
        if path == "/report/integrated/get/":
            return self._report(seen)
        if path == "/ad/get/":
            wanted = set(json.loads(self._q(seen, "filtering")).get("ad_ids") or [])
            found = [{"ad_id": ad, "tiktok_item_id": item}
                     for ad, item in self.ads.get(self._q(seen, "advertiser_id"), [])
                     if ad in wanted]  # fmt: skip
            return self._paged(seen, found)
        return failure(40002, f"No such path {path}")

    def _paged(self, seen: Seen, items: list) -> Answer:
        page = int(self._q(seen, "page", "1"))
        size = min(int(self._q(seen, "page_size", "10")), self.page_size)
        total_page = max(1, -(-len(items) // size))
        answered = 1 if (self.repeat_page and page > 1) else page
        chunk = items[(answered - 1) * size : answered * size]
        return ok({"list": chunk, "page_info": {"page": answered, "page_size": size,
                                                "total_number": len(items),
                                                "total_page": total_page}})  # fmt: skip

    def _report(self, seen: Seen) -> Answer:
        if self._q(seen, "data_level") != "AUCTION_AD" or self._q(seen, "report_type") != "BASIC":
            return failure(40002, "data_level or report_type is invalid")
        since = date.fromisoformat(self._q(seen, "start_date"))
        until = date.fromisoformat(self._q(seen, "end_date"))
        if (until - since).days >= 30:
            return failure(40002, "The time range cannot exceed 30 days with stat_time_day.")
        rows = []
        day = since
        while day <= until:
            for ad, _item in self.ads.get(self._q(seen, "advertiser_id"), []):
                rows.append({"dimensions": {"ad_id": ad, "stat_time_day": f"{day} 00:00:00"},
                             "metrics": self.figures(ad, day)})  # fmt: skip
            day += timedelta(days=1)
        return self._paged(seen, rows)
