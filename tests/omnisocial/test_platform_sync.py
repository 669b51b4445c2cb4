"""The Meta and TikTok sync against fake platform APIs on loopback (the real outbound client):
paging, the joins from ads to posts, spend converted at the day's rate, and every fault: an
expired token, throttling codes and usage headers, 5xx, a paging loop, a dropped metric, a
missing rate. Nothing is lost or doubled, and the Connections page says what happened."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.platform_sync import platform_sync_run, platform_syncs_due
from commerce.models import ExchangeRate
from omnisocial import connections
from omnisocial.models import PlatformConnection, PlatformSync, PostMetrics
from tests.factories import PostFactory
from tests.fakes import meta as fake_meta
from tests.fakes import tiktok as fake_tiktok
from tests.fakes.meta import FakeMeta
from tests.fakes.server import Answer
from tests.fakes.tiktok import FakeTikTok

DAYS = 5


@pytest.fixture
def meta(settings):
    with FakeMeta() as fake:
        fake.configure(settings)
        fake.account_ads["111"] = ["a1", "a2", "a3"]
        fake.creatives = {
            "a1": {"effective_instagram_media_id": "m1",
                   "effective_object_story_id": "500_1"},
            "a2": {"effective_object_story_id": "500_9"},
            "a3": {"effective_object_story_id": "500_404"},  # a post not in the workspace
        }  # fmt: skip
        fake.media = {"1784": ["m1", "m2"]}
        fake.totals = {"m1": {"views": 500, "reach": 300, "total_interactions": 40}}
        fake.page_size = 4  # 15 insights rows: four pages
        yield fake


@pytest.fixture
def posts(workspace):
    return {
        "m1": PostFactory(workspace=workspace, platform="instagram", external_id="m1"),
        "fb": PostFactory(workspace=workspace, platform="facebook", external_id="500_9"),
    }


@pytest.fixture
def today(workspace):
    return connections.workspace_today(workspace)


@pytest.fixture
def rates(today):
    for n in range(0, DAYS + 1, 5):
        ExchangeRate.objects.create(day=today - timedelta(days=n), from_currency="EUR",
                                    to_currency="USD", rate=Decimal("1.08"))  # fmt: skip


def meta_connection(workspace):
    connection = connections.connection_save(
        workspace=workspace, platform="meta", token=fake_meta.LONG_TOKEN, expires_in=5183944,
        user=None, external_user="Ada Owner",
        accounts=[
            {"kind": "ad_account", "external_id": "111", "name": "Brand ads", "currency": "EUR"},
            {"kind": "instagram", "external_id": "1784", "name": "@brand"},
        ],
    )  # fmt: skip
    connection.accounts.update(selected=True)
    return connection


def run(connection, today, *, days=DAYS, waits=None):
    sync = PlatformSync.objects.create(
        connection=connection, kind=PlatformSync.Kind.BACKFILL,
        since=today - timedelta(days=days - 1), until=today,
    )  # fmt: skip
    platform_sync_run(sync.pk, sleep=(waits.append if waits is not None else lambda s: None))
    sync.refresh_from_db()
    return sync


def figures(post):
    return {
        m.day: (m.impressions, m.reach, m.engagements, m.link_clicks, m.spend, m.source)
        for m in PostMetrics.objects.filter(post=post)
    }


def expected_m1(today, *, engagements=40):
    rows = {today - timedelta(days=n): (1000, 800, 0, 20, Decimal("10.80"), "meta")
            for n in range(1, DAYS)}  # fmt: skip
    rows[today] = (1500, 1100, engagements, 20, Decimal("10.80"), "meta")
    return rows


def test_meta_backfill_joins_ads_to_posts_converts_spend_and_reads_organic(
    workspace, posts, meta, today, rates
):
    sync = run(meta_connection(workspace), today)
    assert sync.status == "done", sync.message
    assert figures(posts["m1"]) == expected_m1(today)
    assert figures(posts["fb"]) == {
        today - timedelta(days=n): (1000, 800, 0, 20, Decimal("10.80"), "meta") for n in range(DAYS)
    }
    spend = PostMetrics.objects.get(post=posts["fb"], day=today)
    assert (spend.spend_original, spend.spend_currency) == (Decimal("10.00"), "EUR")
    assert (sync.rows_created, sync.rows_unmatched) == (10, 5)  # a3's five days name no post
    assert "5 platform rows named ads of no post" in sync.message
    insights = [s for s in meta.server.seen if s.path.endswith("/insights") and "act_" in s.path]
    assert [s.query.get("after", [None])[0] is None for s in insights] == [
        True, False, False, False,
    ]  # fmt: skip
    assert insights[0].query["level"] == ["ad"] and insights[0].query["time_increment"] == ["1"]
    assert insights[0].query["fields"] == [
        "ad_id,date_start,account_currency,spend,impressions,reach,clicks,inline_link_clicks"
    ]


def test_the_same_days_again_change_nothing(workspace, posts, meta, today, rates):
    connection = meta_connection(workspace)
    run(connection, today)
    again = run(connection, today)
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 10)
    assert figures(posts["m1"]) == expected_m1(today)
    # A day later the organic total grew by 60 views: the new day gets the difference.
    meta.totals["m1"]["views"] = 560
    run(connection, today, days=1)
    assert PostMetrics.objects.get(post=posts["m1"], day=today).impressions == 1560


def test_expired_token_marks_the_connection_and_the_page_says_so(
    client, workspace, posts, meta, today, rates
):
    meta.fault = lambda seen: fake_meta.expired() if "act_" in seen.path else None
    connection = meta_connection(workspace)
    sync = run(connection, today)
    connection.refresh_from_db()
    assert sync.status == "failed"
    assert connection.status == PlatformConnection.Status.RECONNECT
    assert "code 190" in connection.status_reason
    assert not PostMetrics.objects.exists()
    page = client.get(reverse("platform-connections")).content.decode()
    assert "Needs reconnecting" in page and ">Reconnect</button>" in page
    assert "Session has expired" in page
    assert fake_meta.LONG_TOKEN not in page


@pytest.mark.parametrize("code", [17, 32, 613, 4])
def test_throttling_codes_back_off_and_nothing_is_lost_or_doubled(
    code, workspace, posts, meta, today, rates
):
    meta.faults[2] = fake_meta.throttled(code)  # the second insights page
    waits = []
    sync = run(meta_connection(workspace), today, waits=waits)
    assert sync.status == "done", sync.message
    assert waits == [30.0]
    assert figures(posts["m1"]) == expected_m1(today)


def test_throttled_past_the_retries_pauses_the_run(workspace, posts, meta, today, rates):
    meta.fault = lambda seen: fake_meta.throttled(17) if "act_" in seen.path else None
    waits = []
    sync = run(meta_connection(workspace), today, waits=waits)
    assert sync.status == "paused"
    assert waits == [30.0, 60.0, 120.0, 240.0]


def test_usage_above_75_slows_and_at_95_pauses_then_resumes(
    client, workspace, posts, meta, today, rates
):
    connection = meta_connection(workspace)
    calls = []

    def usage(seen):
        calls.append(seen.path)
        if "act_" in seen.path and len([c for c in calls if "act_" in c]) == 3:
            return Answer(200, {"data": []}, fake_meta.usage_headers(96, regain=12))
        return None

    meta.fault = usage
    meta.usage = fake_meta.usage_headers(85)
    waits = []
    sync = run(connection, today, waits=waits)
    assert sync.status == "paused", sync.message
    assert waits and waits[0] == pytest.approx(4.0)  # 85%: 10 s x (85-75)/25
    assert "at 96%" in sync.message and "in 12 minutes" in sync.message
    connection.refresh_from_db()
    assert connection.paused_until is not None
    assert not PostMetrics.objects.exists()  # the window was not finished: nothing half-written
    page = client.get(reverse("platform-connections")).content.decode()
    assert "Paused by the platform" in page

    meta.fault, meta.usage = None, {}
    assert platform_syncs_due() == {"resumed": 0, "queued": 0}  # still paused
    PlatformConnection.objects.filter(pk=connection.pk).update(
        paused_until=timezone.now() - timedelta(minutes=1)
    )
    assert platform_syncs_due() == {"resumed": 1, "queued": 0}
    sync.refresh_from_db()
    assert sync.status == "done"
    assert figures(posts["m1"]) == expected_m1(today)


def test_server_errors_are_retried(workspace, posts, meta, today, rates):
    meta.faults[1] = Answer(503, "Service Unavailable", {"Retry-After": "2"})
    meta.faults[3] = Answer(500, {"error": {"message": "An unknown error occurred", "code": 1}})
    waits = []
    sync = run(meta_connection(workspace), today, waits=waits)
    assert sync.status == "done", sync.message
    assert waits == [2.0, 0.5]
    assert figures(posts["m1"]) == expected_m1(today)


def test_a_paging_loop_stops_with_a_message(client, workspace, posts, meta, today, rates):
    meta.loop_at = 8
    connection = meta_connection(workspace)
    sync = run(connection, today)
    assert sync.status == "partial"
    issue = sync.issues.get()
    assert "same page cursor twice" in issue.message and issue.account.external_id == "111"
    # Only the organic figures of the day were written; the looped account's days are not.
    assert figures(posts["fb"]) == {}
    page = client.get(reverse("platform-connections")).content.decode()
    assert "same page cursor twice" in page and "Done with problems" in page
    meta.loop_at = None
    assert run(connection, today).status == "done"
    assert figures(posts["m1"]) == expected_m1(today)


def test_a_metric_the_version_dropped_is_reported_and_the_others_kept(
    client, workspace, posts, meta, today, rates
):
    meta.offered.discard("total_interactions")
    sync = run(meta_connection(workspace), today)
    assert sync.status == "partial"
    assert [i.message for i in sync.issues.all()] == [
        "Instagram professional account @brand: Meta's API v24.0 no longer offers the metric "
        "total_interactions; engagements not read, the other figures kept."
    ]
    assert figures(posts["m1"]) == expected_m1(today, engagements=0)
    assert (
        "no longer offers the metric total_interactions"
        in client.get(reverse("platform-connections")).content.decode()
    )


def test_a_day_without_an_exchange_rate_is_reported_not_converted_one_to_one(
    workspace, posts, meta, today
):
    ExchangeRate.objects.create(day=today - timedelta(days=7), from_currency="EUR",
                                to_currency="USD", rate=Decimal("1.08"))  # fmt: skip
    sync = run(meta_connection(workspace), today, days=9)
    assert sync.status == "partial"
    refused = sorted(i.day for i in sync.issues.all())
    assert refused == [today - timedelta(days=8)]  # a rate serves the 7 days after it
    assert "No EUR→USD exchange rate" in sync.issues.first().message
    assert today - timedelta(days=8) not in figures(posts["fb"])


# --- TikTok ---


@pytest.fixture
def tiktok(settings):
    with FakeTikTok() as fake:
        fake.configure(settings)
        fake.ads["7001"] = [("t1", "v1"), ("t2", "")]
        fake.page_size = 3
        yield fake


def tiktok_connection(workspace):
    connection = connections.connection_save(
        workspace=workspace, platform="tiktok", token=fake_tiktok.TOKEN, expires_in=None,
        user=None, external_user="",
        accounts=[{"kind": "advertiser", "external_id": "7001", "name": "Brand TT",
                   "currency": "USD"}],
    )  # fmt: skip
    connection.accounts.update(selected=True)
    return connection


def test_tiktok_report_joins_ads_through_their_item_id(settings, workspace, tiktok, today):
    settings.PLATFORM_SYNC_WINDOW_DAYS = 60  # one window: TikTok's 30-day reports cut it
    post = PostFactory(workspace=workspace, platform="tiktok", external_id="v1")
    sync = run(tiktok_connection(workspace), today, days=35)
    assert sync.status == "done", sync.message
    rows = figures(post)
    assert len(rows) == 35
    assert rows[today] == (2000, 0, 0, 40, Decimal("5.50"), "tiktok")
    assert sync.rows_unmatched == 35
    reports = [s for s in tiktok.server.seen if s.path.endswith("/report/integrated/get/")]
    assert {(s.query["start_date"][0], s.query["end_date"][0]) for s in reports} == {
        ((today - timedelta(days=34)).isoformat(), (today - timedelta(days=5)).isoformat()),
        ((today - timedelta(days=4)).isoformat(), today.isoformat()),
    }
    assert reports[0].query["dimensions"] == ['["ad_id", "stat_time_day"]']
    assert run(tiktok_connection(workspace), today, days=35).rows_unchanged == 35


def test_tiktok_errors(workspace, tiktok, today):
    post = PostFactory(workspace=workspace, platform="tiktok", external_id="v1")
    connection = tiktok_connection(workspace)
    tiktok.faults[1] = fake_tiktok.failure(40100, "Too many requests.")
    waits = []
    assert run(connection, today, days=2, waits=waits).status == "done"
    assert waits == [10.0] and len(figures(post)) == 2

    tiktok.repeat_page = True
    tiktok.page_size = 1
    looped = run(connection, today, days=2)
    assert looped.status == "partial"
    assert "answered page 1 twice" in looped.issues.get().message

    tiktok.repeat_page, tiktok.page_size = False, 1000
    tiktok.faults[tiktok.requests + 1] = fake_tiktok.failure(
        40105, "The access token is invalid or has been revoked."
    )
    revoked = run(connection, today, days=2)
    connection.refresh_from_db()
    assert revoked.status == "failed"
    assert connection.status == PlatformConnection.Status.RECONNECT
    assert "revoked" in connection.status_reason
    assert len(figures(post)) == 2  # what was stored stays


def test_the_schedule_queues_one_daily_run_per_connection(workspace, meta, today):
    connection = meta_connection(workspace)
    assert platform_syncs_due() == {"resumed": 0, "queued": 1}
    daily = connection.syncs.get()
    assert (daily.kind, daily.since, daily.until) == ("daily", today - timedelta(days=2), today)
    assert platform_syncs_due() == {"resumed": 0, "queued": 0}  # one run at a time
    PlatformSync.objects.update(status="done")
    PlatformConnection.objects.update(last_synced_at=timezone.now())
    assert platform_syncs_due() == {"resumed": 0, "queued": 0}  # synced today already
    PlatformConnection.objects.update(last_synced_at=timezone.now() - timedelta(days=6))
    assert platform_syncs_due() == {"resumed": 0, "queued": 1}
    assert connection.syncs.order_by("-pk").first().since == today - timedelta(days=8)


def test_a_run_that_lost_its_worker_is_resumed_from_its_next_window(
    settings, workspace, posts, meta, today, rates
):
    settings.PLATFORM_SYNC_WINDOW_DAYS = 2
    connection = meta_connection(workspace)
    sync = PlatformSync.objects.create(
        connection=connection, kind="backfill", since=today - timedelta(days=DAYS - 1),
        until=today, status="running", next_day=today - timedelta(days=2),
        started_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    assert platform_syncs_due()["resumed"] == 1
    sync.refresh_from_db()
    assert sync.status == "done"
    assert sorted(figures(posts["fb"])) == [today - timedelta(days=n) for n in (2, 1, 0)]


def test_the_sync_keeps_the_posts_picture_and_the_pages_show_it(
    client, workspace, posts, meta, today, rates
):
    """A media's thumbnail (a video's thumbnail_url, an image's media_url) becomes the post's
    picture, which the one post label shows; Meta's image hosts are allowed by the pages' CSP."""
    picture = "https://scontent-cdg4-1.cdninstagram.com/v/t51/m1_n.jpg?stp=dst-jpg&_nc_ht=x"
    meta.media_fields = {"m1": {"media_type": "IMAGE", "media_url": picture},
                         "m2": {"media_type": "VIDEO", "thumbnail_url": "http://insecure/x.jpg"}}  # fmt: skip
    assert run(meta_connection(workspace), today).status == "done"
    posts["m1"].refresh_from_db()
    assert posts["m1"].thumbnail_url == picture
    media = [s for s in meta.server.seen if s.path.endswith("/media")]
    assert "thumbnail_url" in media[0].query["fields"][0]
    response = client.get("/posts/")
    page = response.content.decode()
    assert f'<img class="post-thumb" src="{picture.replace("&", "&amp;")}"' in page
    assert "https://*.cdninstagram.com" in response["Content-Security-Policy"]
