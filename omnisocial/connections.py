"""Meta and TikTok connections: the OAuth flow's state, saving a connection and its accounts,
and the sync that writes the platforms' daily figures into `PostMetrics` (docs/platforms.md).

The sync reads the picked accounts a window of days at a time (PLATFORM_SYNC_WINDOW_DAYS):
paid figures by ad and day, joined to posts through the ad's creative (Meta) or its
`tiktok_item_id` (TikTok), and, on the run's last day, the organic lifetime totals of the
picked Instagram accounts' media and Pages' posts. Each day is written through the one upsert
(`omnisocial.post_metrics`), so a day read twice changes nothing. Spend is converted with the
`rates` function the caller passes (commerce's exchange rates live above this app).

What a run could not read or store is a `PlatformSyncIssue` per account (and day), shown on the
Connections page; an expired token marks the connection as needing reconnecting; the platforms'
usage limits pause the run, which resumes from its next unwritten day.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from omnisocial.models import (
    ConnectionPlatform,
    MetricsSource,
    OrganicTotal,
    Platform,
    PlatformAccount,
    PlatformConnection,
    PlatformSync,
    PlatformSyncIssue,
    Post,
    Workspace,
)
from omnisocial.platforms import PlatformError, day_windows, meta, tiktok
from omnisocial.post_metrics import MAX_COUNT, MetricsRow, Rates, post_metrics_upsert

# The task that runs a sync lives in the analytics app, which composes this sync with
# commerce's exchange rates; named here as django-q2's dotted path (no import upwards).
SYNC_TASK = "analytics.platform_sync.platform_sync_run"
RE_READ_DAYS = 3  # the platforms restate recent days: every run reads the last three again
PENDING = (PlatformSync.Status.QUEUED, PlatformSync.Status.RUNNING, PlatformSync.Status.PAUSED)

# --- the OAuth flow's state ------------------------------------------------------------------

STATE_SALT = "omnisocial.platform-oauth"
STATE_MAX_AGE = 600  # seconds between leaving for the platform's dialog and coming back
SESSION_KEY = "platform_oauth"


def oauth_begin(*, session, workspace: Workspace, platform: str) -> tuple[str, str]:
    """A `state` for the platform's dialog (signed, naming the workspace and platform, with a
    nonce kept in this session) and the PKCE verifier kept beside it. Returns (state,
    code_challenge)."""
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    pending = dict(session.get(SESSION_KEY) or {})
    pending[platform] = {"nonce": nonce, "verifier": verifier, "workspace": workspace.pk}
    session[SESSION_KEY] = pending
    state = signing.dumps({"w": workspace.pk, "p": platform, "n": nonce}, salt=STATE_SALT)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return state, challenge.rstrip(b"=").decode()


def oauth_finish(*, session, workspace: Workspace, platform: str, state: str) -> str:
    """Checks the `state` the platform sent back: signed by this app, recent, for this
    workspace and platform, and the one this session is waiting for. It is used up whatever
    the outcome (single use). Returns the PKCE verifier; raises ValidationError otherwise."""
    pending = dict(session.get(SESSION_KEY) or {})
    entry = pending.pop(platform, None)
    session[SESSION_KEY] = pending
    try:
        data = signing.loads(state or "", salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError("The connection took too long: start it again.") from None
    except signing.BadSignature:
        raise ValidationError("The answer's state was not issued here: start again.") from None
    expected = entry and {"w": workspace.pk, "p": platform, "n": entry["nonce"]}
    if not entry or data != expected or entry["workspace"] != workspace.pk:
        raise ValidationError(
            "This answer does not belong to a connection started in this session (or was "
            "used already): start again."
        )
    return entry["verifier"]


# --- connections and accounts ----------------------------------------------------------------


@transaction.atomic
def connection_save(
    *, workspace: Workspace, platform: str, token: str, expires_in: int | None, user,
    external_user: str, accounts: list[dict],
) -> PlatformConnection:  # fmt: skip
    """Stores the platform's token for the workspace (a reconnection replaces it and marks the
    connection active) and the accounts it may read; an account picked before stays picked,
    one the token no longer grants goes. `accounts`: [{kind, external_id, name, currency,
    page_token}]."""
    ConnectionPlatform(platform)
    expires_at = timezone.now() + timedelta(seconds=expires_in) if expires_in else None
    connection, _ = PlatformConnection.objects.update_or_create(
        workspace=workspace, platform=platform,
        defaults={
            "access_token": token, "token_expires_at": expires_at, "connected_by": user,
            "connected_at": timezone.now(), "external_user": external_user[:200],
            "status": PlatformConnection.Status.ACTIVE, "status_reason": "",
            "paused_until": None,
        },
    )  # fmt: skip
    kept = []
    for account in accounts:
        row, _ = PlatformAccount.objects.update_or_create(
            connection=connection, kind=account["kind"], external_id=str(account["external_id"]),
            defaults={"name": (account.get("name") or "")[:200],
                      "currency": (account.get("currency") or "").upper()[:3],
                      "page_token": account.get("page_token") or ""},
        )  # fmt: skip
        kept.append(row.pk)
    connection.accounts.exclude(pk__in=kept).delete()
    return connection


@transaction.atomic
def accounts_select(
    *, connection: PlatformConnection, account_ids: set[int]
) -> PlatformSync | None:
    """Picks the accounts the sync reads. The first pick of a connection queues its backfill
    (PLATFORM_BACKFILL_DAYS); returns that sync, or None."""
    connection.accounts.update(selected=False)
    connection.accounts.filter(pk__in=account_ids).update(selected=True)
    if not account_ids or connection.syncs.filter(kind=PlatformSync.Kind.BACKFILL).exists():
        return None
    return sync_request(connection=connection, kind=PlatformSync.Kind.BACKFILL)


@transaction.atomic
def connection_disconnect(*, connection: PlatformConnection) -> None:
    """Forgets the token and the accounts. The figures already synced stay (they are the
    posts' history); nothing is read from the platform any more."""
    connection.delete()


def workspace_today(workspace: Workspace) -> date:
    return timezone.localdate(timezone.now(), workspace.zone)


@transaction.atomic
def sync_request(
    *, connection: PlatformConnection, kind: str, days: int | None = None
) -> PlatformSync:
    """Queues a run of the connection's sync: a backfill of the last `days` days
    (PLATFORM_BACKFILL_DAYS by default), or the daily run (the last RE_READ_DAYS days, from
    further back when the last run is older). Raises ValidationError when a run is queued,
    running or paused, or `days` is out of range."""
    from django_q.tasks import async_task

    today = workspace_today(connection.workspace)
    if kind == PlatformSync.Kind.BACKFILL:
        days = settings.PLATFORM_BACKFILL_DAYS if days is None else days
        if not isinstance(days, int) or not 1 <= days <= settings.PLATFORM_BACKFILL_MAX_DAYS:
            raise ValidationError(
                f"Read between 1 and {settings.PLATFORM_BACKFILL_MAX_DAYS} days.", code="days"
            )
        since = today - timedelta(days=days - 1)
    else:
        since = today - timedelta(days=RE_READ_DAYS - 1)
        if connection.last_synced_at:
            last = timezone.localtime(connection.last_synced_at, connection.workspace.zone)
            oldest = today - timedelta(days=settings.PLATFORM_BACKFILL_MAX_DAYS - 1)
            since = max(min(since, last.date() - timedelta(days=RE_READ_DAYS - 1)), oldest)
    PlatformConnection.objects.select_for_update().filter(pk=connection.pk).first()
    pending = connection.syncs.filter(status__in=PENDING).first()
    if pending is not None:
        raise ValidationError(
            f"A {pending.get_kind_display().lower()} of this connection is already "
            f"{pending.get_status_display().lower()}; ask again once it has finished.",
            code="pending",
        )
    sync = PlatformSync.objects.create(connection=connection, kind=kind, since=since, until=today)
    transaction.on_commit(lambda: async_task(SYNC_TASK, sync.pk, group="platform-syncs"))
    return sync


# --- the sync --------------------------------------------------------------------------------


@dataclass
class Figures:
    counts: dict[str, int] = field(default_factory=dict)
    spend: Decimal | None = None
    currency: str = ""

    def add(self, counts: dict[str, int], spend: Decimal | None = None, currency: str = ""):
        for name, value in counts.items():
            self.counts[name] = min(MAX_COUNT, self.counts.get(name, 0) + value)
        if spend is not None:
            self.spend = (self.spend or Decimal(0)) + spend
            self.currency = currency


class _Window:
    """What one window of days read: figures by (post, day) and the problems met."""

    def __init__(self, sync: PlatformSync):
        self.sync = sync
        self.rows: dict[tuple[int, date], Figures] = defaultdict(Figures)
        self.issues: list[PlatformSyncIssue] = []
        self.unmatched = 0

    def issue(self, message: str, *, account: PlatformAccount | None = None, day=None) -> None:
        self.issues.append(
            PlatformSyncIssue(sync=self.sync, account=account, day=day, message=message[:500])
        )

    def merge(self, account: PlatformAccount, found: dict[tuple[int, date], Figures]) -> None:
        """An account's figures into the window's; a post's day spent in two currencies (ad
        accounts in different currencies) keeps the first and says so."""
        for key, figures in found.items():
            held = self.rows[key]
            if (
                figures.spend is not None
                and held.spend is not None
                and (held.currency != figures.currency)
            ):
                self.issue(
                    f"{account}: spend in {figures.currency} on a post already spending in "
                    f"{held.currency} that day (another ad account): not added.",
                    account=account, day=key[1],
                )  # fmt: skip
                figures = Figures(figures.counts)
            held.add(figures.counts, figures.spend, figures.currency)


def _post_index(workspace: Workspace) -> dict[tuple[str, str], int]:
    """{(platform, platform post id): post id}; a Facebook post also by its bare post id."""
    index: dict[tuple[str, str], int] = {}
    for pk, platform, external_id in workspace.posts.exclude(external_id="").values_list(
        "pk", "platform", "external_id"
    ):
        index[(platform, external_id)] = pk
        if platform == Platform.FACEBOOK and "_" in external_id:
            index.setdefault((platform, external_id.split("_", 1)[1]), pk)
    return index


def _number(value) -> int:
    try:
        return max(0, min(MAX_COUNT, int(Decimal(str(value or 0)))))
    except (InvalidOperation, ValueError):
        return 0


def _money(value) -> Decimal:
    try:
        return Decimal(str(value or "0"))
    except InvalidOperation:
        return Decimal(0)


class _MetaReader:
    def __init__(self, connection: PlatformConnection, index, sleep):
        self.connection = connection
        self.graph = meta.Graph(connection.access_token, sleep=sleep)
        self.index = index
        self.ads: dict[str, int | None] = {}  # ad id -> post id (None: no post)

    def _post_of(self, story: str, media: str) -> int | None:
        if media and (post := self.index.get((Platform.INSTAGRAM, media))):
            return post
        if story:
            return self.index.get((Platform.FACEBOOK, story)) or self.index.get(
                (Platform.FACEBOOK, story.split("_", 1)[-1])
            )
        return None

    def paid(self, window: _Window, account: PlatformAccount, since: date, until: date):
        raw = [
            (row.get("ad_id"), row.get("date_start"), row)
            for row in self.graph.ad_insights(account.external_id, since, until)
        ]
        unknown = sorted({str(ad) for ad, _, _ in raw if ad and str(ad) not in self.ads})
        for ad_id, (story, media) in self.graph.ad_objects(unknown).items():
            self.ads[ad_id] = self._post_of(story, media)
        found: dict[tuple[int, date], Figures] = defaultdict(Figures)
        for ad_id, day, row in raw:
            post = self.ads.get(str(ad_id))
            if post is None:
                window.unmatched += 1
                continue
            counts = {"impressions": _number(row.get("impressions")),
                      "reach": _number(row.get("reach")),
                      "link_clicks": _number(row.get("inline_link_clicks"))}  # fmt: skip
            currency = str(row.get("account_currency") or account.currency).upper()
            found[(post, date.fromisoformat(day))].add(counts, _money(row.get("spend")), currency)
        window.merge(account, found)

    def organic(self, window: _Window, account: PlatformAccount, today: date) -> None:
        """Today's lifetime totals of the account's media (Instagram) or posts (Page)."""
        if account.kind == PlatformAccount.Kind.INSTAGRAM:
            platform, names, token = Platform.INSTAGRAM, meta.organic_metrics("instagram"), None
            objects = self.graph.media_ids(account.external_id)
        else:
            platform, names = Platform.FACEBOOK, meta.organic_metrics("facebook")
            token = account.page_token or None
            objects = self.graph.page_post_ids(account.external_id, token=token or "")
        refused: set[str] = set()
        totals = []
        pictures: dict[int, str] = {}
        for item in objects:
            object_id = str(item.get("id") or "")
            post = self.index.get((platform, object_id))
            if post is None and platform == Platform.FACEBOOK:
                post = self.index.get((platform, object_id.split("_", 1)[-1]))
            if post is None:
                continue
            picture = meta.thumbnail(item)
            if picture.startswith("https://"):
                pictures[post] = picture[:2000]
            figures, missing = self.graph.lifetime_insights(object_id, names, token=token)
            refused.update(missing)
            totals.append(OrganicTotal(post_id=post, day=today, **{
                name: figures.get(name) for name in ("impressions", "reach", "engagements")
            }))  # fmt: skip
        for name in sorted(refused):
            figure = next(f for f, metric in names.items() if metric == name)
            window.issue(
                f"{account}: Meta's API {meta.version()} no longer offers the metric {name}; "
                f"{figure} not read, the other figures kept.",
                account=account, day=today,
            )  # fmt: skip
        OrganicTotal.objects.bulk_create(
            totals, update_conflicts=True, unique_fields=["post", "day"],
            update_fields=["impressions", "reach", "engagements"],
        )  # fmt: skip
        # The post's picture as the platform shows it (pages name posts with it).
        for post_id, picture in pictures.items():
            Post.objects.filter(pk=post_id).exclude(thumbnail_url=picture).update(
                thumbnail_url=picture
            )


class _TikTokReader:
    def __init__(self, connection: PlatformConnection, index, sleep):
        self.business = tiktok.Business(connection.access_token, sleep=sleep)
        self.index = index
        self.ads: dict[str, int | None] = {}

    def paid(self, window: _Window, account: PlatformAccount, since: date, until: date):
        raw = list(self.business.ad_report(account.external_id, since, until))
        unknown = sorted({row["ad_id"] for row in raw if row["ad_id"] not in self.ads})
        items = self.business.ad_items(account.external_id, unknown) if unknown else {}
        for ad_id in unknown:
            self.ads[ad_id] = (
                self.index.get((Platform.TIKTOK, items.get(ad_id, "")))
                if items.get(ad_id)
                else None
            )
        found: dict[tuple[int, date], Figures] = defaultdict(Figures)
        for row in raw:
            post = self.ads.get(row["ad_id"])
            if post is None:
                window.unmatched += 1
                continue
            counts = {"impressions": _number(row["impressions"]),
                      "link_clicks": _number(row["clicks"])}  # fmt: skip
            found[(post, row["day"])].add(counts, _money(row["spend"]), account.currency)
        window.merge(account, found)


def _organic_deltas(window: _Window, post_days: set[int], since: date, until: date) -> None:
    """Adds each day's organic figures (a day's lifetime total less the previous one read) to
    the window's rows, for the posts with totals on its days."""
    totals = defaultdict(list)
    for total in OrganicTotal.objects.filter(post_id__in=post_days, day__lte=until).order_by(
        "post_id", "day"
    ):
        totals[total.post_id].append(total)
    for post, rows in totals.items():
        previous = None
        for total in rows:
            if total.day >= since:
                counts = {}
                for name in ("impressions", "reach", "engagements"):
                    now = getattr(total, name)
                    before = getattr(previous, name) if previous is not None else 0
                    if now is not None and before is not None:
                        counts[name] = max(0, now - before)
                window.rows[(post, total.day)].add(counts)
            previous = total


Sleep = Callable[[float], None]


def sync_run(*, sync: PlatformSync, rates: Rates | None, sleep: Sleep = time.sleep) -> PlatformSync:
    """Runs (or resumes) a sync from its next unwritten day. See the module's docstring."""
    connection = sync.connection
    workspace = connection.workspace
    now = timezone.now()
    # started_at is this attempt's start: a run older than the task timeout has lost its worker.
    PlatformSync.objects.filter(pk=sync.pk).update(
        status=PlatformSync.Status.RUNNING, started_at=now
    )
    if connection.status != PlatformConnection.Status.ACTIVE or connection.token_expired:
        reason = connection.status_reason or "The access token expired: reconnect."
        return _reconnect(sync, connection, reason)
    accounts = list(connection.accounts.filter(selected=True))
    index = _post_index(workspace)
    source = MetricsSource.META if connection.platform == ConnectionPlatform.META else (
        MetricsSource.TIKTOK
    )  # fmt: skip
    reader = (_MetaReader if source == MetricsSource.META else _TikTokReader)(
        connection, index, sleep
    )
    today = workspace_today(workspace)
    paid_kinds = (PlatformAccount.Kind.AD_ACCOUNT, PlatformAccount.Kind.ADVERTISER)
    start = sync.next_day or sync.since
    try:
        for since, until in day_windows(start, sync.until, settings.PLATFORM_SYNC_WINDOW_DAYS):
            window = _Window(sync)
            for account in accounts:
                try:
                    if account.kind in paid_kinds:
                        reader.paid(window, account, since, until)
                    elif since <= today <= until:
                        reader.organic(window, account, today)
                except PlatformError as exc:
                    if exc.kind in ("token", "usage", "throttled"):
                        raise
                    window.issue(
                        f"{account}, {since.isoformat()} to {until.isoformat()}: {exc} "
                        "Nothing of this account was written for these days; the next run "
                        "reads them again.",
                        account=account, day=since,
                    )  # fmt: skip
            if source == MetricsSource.META:
                organic_posts = set(
                    OrganicTotal.objects.filter(post__workspace=workspace, day__gte=since,
                                                day__lte=until).values_list("post_id", flat=True)
                )  # fmt: skip
                _organic_deltas(window, organic_posts, since, until)
            _window_write(sync, window, workspace, source, rates, until)
    except PlatformError as exc:
        if exc.kind == "token":
            return _reconnect(sync, connection, str(exc))
        resume = timezone.now() + timedelta(seconds=exc.resume_after or 3600)
        PlatformConnection.objects.filter(pk=connection.pk).update(paused_until=resume)
        return _finish(sync, PlatformSync.Status.PAUSED, f"{exc} Resumes after "
                       f"{timezone.localtime(resume, workspace.zone):%Y-%m-%d %H:%M}.")  # fmt: skip
    sync.refresh_from_db()
    status = PlatformSync.Status.PARTIAL if sync.issues.exists() else PlatformSync.Status.DONE
    PlatformConnection.objects.filter(pk=connection.pk).update(
        last_synced_at=timezone.now(), paused_until=None
    )
    unmatched = (
        f" {sync.rows_unmatched} platform rows named ads of no post (give those posts their "
        "platform post id)."
        if sync.rows_unmatched
        else ""
    )
    return _finish(sync, status, f"Read {sync.since.isoformat()} to {sync.until.isoformat()}: "
                   f"{sync.rows_created} days added, {sync.rows_updated} changed, "
                   f"{sync.rows_unchanged} unchanged.{unmatched}")  # fmt: skip


def _window_write(sync, window: _Window, workspace, source, rates, until: date) -> None:
    """Writes the window's rows day by day (a day refused, for a missing exchange rate, is
    reported and the others written), then its issues and progress, in one transaction per
    day and one for the window's end."""
    by_day: dict[date, list[MetricsRow]] = defaultdict(list)
    for (post, day), figures in window.rows.items():
        by_day[day].append(MetricsRow(post_id=post, day=day, counts=figures.counts,
                                      spend=figures.spend, currency=figures.currency))  # fmt: skip
    created = updated = unchanged = 0
    for day in sorted(by_day):
        try:
            result = post_metrics_upsert(
                workspace=workspace, rows=by_day[day], source=source, rates=rates
            )
        except ValidationError as exc:
            window.issue(f"{day.isoformat()} not stored: {' '.join(exc.messages)}", day=day)
            continue
        created, updated = created + result.created, updated + result.updated
        unchanged += result.unchanged
    with transaction.atomic():
        PlatformSyncIssue.objects.bulk_create(window.issues)
        PlatformSync.objects.filter(pk=sync.pk).update(
            rows_created=F("rows_created") + created, rows_updated=F("rows_updated") + updated,
            rows_unchanged=F("rows_unchanged") + unchanged,
            rows_unmatched=F("rows_unmatched") + window.unmatched,
            next_day=until + timedelta(days=1),
        )  # fmt: skip


def _reconnect(sync: PlatformSync, connection: PlatformConnection, reason: str) -> PlatformSync:
    PlatformConnection.objects.filter(pk=connection.pk).update(
        status=PlatformConnection.Status.RECONNECT, status_reason=reason[:500]
    )
    return _finish(sync, PlatformSync.Status.FAILED, f"{reason} Reconnect, then sync again.")


def _finish(sync: PlatformSync, status: str, message: str) -> PlatformSync:
    PlatformSync.objects.filter(pk=sync.pk).update(
        status=status, message=message, finished_at=timezone.now()
    )
    sync.refresh_from_db()
    return sync
