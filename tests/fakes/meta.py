"""A fake Meta Graph and Marketing API on loopback, answering as Meta documents it (v24.0):

- the Login dialog (`/dialog/oauth`: 302 back to the redirect URI with `code` and `state`), the
  code exchange and the long-lived exchange (`/oauth/access_token`, PKCE checked);
- `/me`, `/me/accounts` (Pages with their token and Instagram account), `/me/adaccounts`;
- `/act_<id>/insights` (`level=ad`, `time_increment=1`, `time_range`), by ad and day, numbers
  as strings, `paging.cursors.after` / `paging.next`;
- `/?ids=...&fields=creative{...}` (ads' creatives), `/<ig user>/media`, `/<page>/posts`,
  `/<object>/insights?metric=...` (lifetime totals; a metric not in `offered` is refused with
  error 100 as Meta refuses a deprecated one);
- errors as `{"error": {"message", "type", "code", "fbtrace_id"}}`.

Faults are scripted by request number (`fake.faults[3] = answer`), or by a function of the
request returning an Answer or None; `fake.usage` adds usage headers to every answer;
`fake.loop_at` answers every page from that one on with the same cursor.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import urlencode

import httpx

from tests.fakes.server import Answer, FakePlatform, Seen

APP_ID = "1234567890"
APP_SECRET = "meta-app-secret-0123456789"
SHORT_TOKEN = "EAAshort"
LONG_TOKEN = "EAAlonglivedtoken0123456789"
PAGE_TOKEN = "EAApagetoken0123456789"


def error(code: int, message: str = "An error", status: int = 400, subcode: int | None = None):
    body = {"error": {"message": message, "type": "OAuthException", "code": code,
                      "fbtrace_id": "AbCdEf"}}  # fmt: skip
    if subcode:
        body["error"]["error_subcode"] = subcode
    return Answer(status, body)


def expired() -> Answer:
    return error(190, "Error validating access token: Session has expired.", subcode=463)


def throttled(code: int = 17) -> Answer:
    return error(code, "(#17) User request limit reached")


def usage_headers(percent: int, regain: int = 0) -> dict[str, str]:
    business = {"777": [{"type": "ads_insights", "call_count": percent, "total_cputime": 1,
                         "total_time": 1, "estimated_time_to_regain_access": regain}]}  # fmt: skip
    return {"X-Business-Use-Case-Usage": json.dumps(business),
            "X-App-Usage": json.dumps({"call_count": 1, "total_cputime": 1, "total_time": 1})}  # fmt: skip


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1])


class FakeMeta(FakePlatform):
    def __init__(self):
        super().__init__()
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (redirect_uri, challenge)
        self.token = LONG_TOKEN
        self.me = {"id": "10001", "name": "Ada Owner"}
        self.pages = [{"id": "500", "name": "Brand Page", "access_token": PAGE_TOKEN,
                       "instagram_business_account": {"id": "1784", "username": "brand"}}]  # fmt: skip
        self.ad_accounts = [{"id": "act_111", "account_id": "111", "name": "Brand ads",
                             "currency": "EUR"}]  # fmt: skip
        # account id -> ad ids; every ad has a row each day of the asked range
        self.account_ads: dict[str, list[str]] = {"111": []}
        self.creatives: dict[str, dict] = {}  # ad id -> creative fields
        self.figures: Callable[[str, date], dict] = lambda ad, day: {
            "spend": "10.00", "impressions": "1000", "reach": "800", "clicks": "30",
            "inline_link_clicks": "20",
        }  # fmt: skip
        self.media: dict[str, list[str]] = {}  # ig user or page id -> media/post ids
        # media/post id -> its fields as Meta gives them (thumbnail_url, media_url, full_picture)
        self.media_fields: dict[str, dict] = {}
        self.totals: dict[str, dict[str, int]] = {}  # object id -> {metric: lifetime value}
        self.offered = {"views", "reach", "total_interactions", "post_media_view",
                        "post_total_media_view_unique", "post_reactions_by_type_total"}  # fmt: skip
        self.fault: Callable[[Seen], Answer | None] | None = None
        self.usage: dict[str, str] = {}
        self.loop_at: int | None = None
        self.page_size = 500

    def configure(self, settings) -> None:
        settings.OUTBOUND_ALLOW_PRIVATE = True
        settings.META_APP_ID, settings.META_APP_SECRET = APP_ID, APP_SECRET
        settings.META_GRAPH_URL = f"{self.url}/v24.0"
        settings.META_OAUTH_DIALOG_URL = f"{self.url}/v24.0/dialog/oauth"

    def authorize(self, dialog_url: str) -> str:
        """A person approving the Login dialog: the URL Meta sends them back to."""
        response = httpx.get(dialog_url, follow_redirects=False)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    # --- answers ---

    def respond(self, seen: Seen) -> Answer:
        answer = self.scripted(seen)
        if answer is None and self.fault is not None:
            answer = self.fault(seen)
        if answer is None:
            answer = self._answer(seen)
        answer.headers = {**self.usage, **answer.headers}
        return answer

    def _q(self, seen: Seen, name: str, default: str = "") -> str:
        return seen.query.get(name, [default])[0]

    def _answer(self, seen: Seen) -> Answer:
        path = seen.path.removeprefix("/v24.0")
        if path == "/dialog/oauth":
            code = f"code-{len(self.codes) + 1}"
            self.codes[code] = (self._q(seen, "redirect_uri"), self._q(seen, "code_challenge"))
            target = self._q(seen, "redirect_uri") + "?" + urlencode(
                {"code": code, "state": self._q(seen, "state")}
            )  # fmt: skip
            return Answer(302, b"", {"Location": target})
        if path == "/oauth/access_token":
            return self._exchange(seen)
        token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in (self.token, PAGE_TOKEN):
            return error(190, "Invalid OAuth access token - Cannot parse access token")
        if path == "/me":
            return Answer(200, self.me)
        if path == "/me/accounts":
            return self._list(seen, self.pages)
        if path == "/me/adaccounts":
            return self._list(seen, self.ad_accounts)
        if path == "/" and "ids" in seen.query:
            ids = self._q(seen, "ids").split(",")
            return Answer(200, {ad: {"id": ad, "creative": {"id": f"c{ad}", **self.creatives.get(
                ad, {})}} for ad in ids})  # fmt: skip
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0].startswith("act_") and parts[1] == "insights":
            return self._insights(seen, parts[0].removeprefix("act_"))
        if len(parts) == 2 and parts[1] in ("media", "posts"):
            asked = set(self._q(seen, "fields").split(","))
            items = [{"id": m, **{k: v for k, v in self.media_fields.get(m, {}).items()
                                  if k in asked}} for m in self.media.get(parts[0], [])]  # fmt: skip
            return self._list(seen, items)
        if len(parts) == 2 and parts[1] == "insights":
            return self._lifetime(seen, parts[0])
        return error(100, f"Unsupported get request. Object with ID '{parts[0]}' does not exist")

    def _exchange(self, seen: Seen) -> Answer:
        if self._q(seen, "client_id") != APP_ID or self._q(seen, "client_secret") != APP_SECRET:
            return error(1, "Error validating client secret.")
        if self._q(seen, "grant_type") == "fb_exchange_token":
            if self._q(seen, "fb_exchange_token") != SHORT_TOKEN:
                return error(190, "Invalid OAuth access token.")
            return Answer(200, {"access_token": self.token, "token_type": "bearer",
                                "expires_in": 5183944})  # fmt: skip
        code = self._q(seen, "code")
        if code not in self.codes:
            return error(100, "Invalid verification code format.")
        redirect_uri, challenge = self.codes.pop(code)
        verifier = self._q(seen, "code_verifier")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            redirect_uri != self._q(seen, "redirect_uri")
            or digest.rstrip(b"=").decode() != challenge
        ):
            return error(100, "Error validating verification code.")
        return Answer(200, {"access_token": SHORT_TOKEN, "token_type": "bearer",
                            "expires_in": 5400})  # fmt: skip

    def _page(self, seen: Seen, total: int) -> tuple[int, int, dict]:
        """(start, end, paging) of the page asked for over `total` items."""
        limit = min(int(self._q(seen, "limit", "25")), self.page_size)
        start = _offset(self._q(seen, "after")) if self._q(seen, "after") else 0
        end = min(total, start + limit)
        paging = {}
        if end < total:
            cursor = _cursor(end)
            if self.loop_at is not None and start >= self.loop_at:
                cursor = _cursor(start)  # the same cursor again: a paging loop
            paging = {"cursors": {"before": _cursor(start), "after": cursor},
                      "next": f"https://graph.facebook.com/v24.0{seen.path}?after={cursor}"}  # fmt: skip
        return start, end, paging

    def _list(self, seen: Seen, items: list) -> Answer:
        start, end, paging = self._page(seen, len(items))
        body = {"data": items[start:end]}
        if paging:
            body["paging"] = paging
        return Answer(200, body)

    def _insights(self, seen: Seen, account: str) -> Answer:
        if self._q(seen, "level") != "ad" or self._q(seen, "time_increment") != "1":
            return error(100, "(#100) level and time_increment expected")
        span = json.loads(self._q(seen, "time_range"))
        since, until = date.fromisoformat(span["since"]), date.fromisoformat(span["until"])
        ads = self.account_ads.get(account, [])
        days = (until - since).days + 1
        start, end, paging = self._page(seen, days * len(ads))
        currency = next(a["currency"] for a in self.ad_accounts if a["account_id"] == account)
        rows = []
        for n in range(start, end):
            day = since + timedelta(days=n // len(ads))
            ad = ads[n % len(ads)]
            rows.append({"ad_id": ad, "account_currency": currency, **self.figures(ad, day),
                         "date_start": day.isoformat(), "date_stop": day.isoformat()})  # fmt: skip
        body = {"data": rows}
        if paging:
            body["paging"] = paging
        return Answer(200, body)

    def _lifetime(self, seen: Seen, object_id: str) -> Answer:
        names = self._q(seen, "metric").split(",")
        for n, name in enumerate(names):
            if name not in self.offered:
                return error(100, f"(#100) metric[{n}] must be one of the following values: "
                             + ", ".join(sorted(self.offered)))  # fmt: skip
        totals = self.totals.get(object_id, {})
        data = [{"name": name, "period": "lifetime", "values": [{"value": totals.get(name, 0)}],
                 "id": f"{object_id}/insights/{name}/lifetime"} for name in names]  # fmt: skip
        return Answer(200, {"data": data})
