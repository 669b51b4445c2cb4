"""Outlier posts and campaigns: the modified z-score against peers over the trailing window.

Outlier detection reads the `DailyRevenue` rollup only, so these tests lay rollup rows directly.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from analytics.kpis import services
from analytics.kpis.outliers import modified_z_scores
from analytics.models import Alert
from tests.factories import CampaignFactory, DailyRevenueFactory, PostFactory

# The window is the 14 complete days before today: November 6th to 19th.
NOV_20 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def _posts_with_revenue(workspace, amounts: list[str], day=date(2026, 11, 10)):
    posts = []
    for amount in amounts:
        post = PostFactory(workspace=workspace)
        DailyRevenueFactory(workspace=workspace, post=post, day=day, revenue=Decimal(amount))
        posts.append(post)
    return posts


def test_modified_z_scores_use_median_and_mad():
    values = [Decimal(v) for v in ("90", "95", "98", "100", "100", "105", "110", "1000")]
    scores = modified_z_scores(values)
    # median 100, MAD 5: 0.6745 * 900 / 5 for the 1000.
    assert [s.score for s in scores][-2:] == [Decimal("1.349"), Decimal("121.41")]
    assert [s.is_outlier for s in scores] == [False] * 7 + [True]
    assert (scores[0].median, scores[0].mad) == (Decimal("100"), Decimal("5"))


def test_mad_zero_falls_back_to_the_mean_absolute_deviation():
    scores = modified_z_scores([Decimal("100")] * 6 + [Decimal("500")])
    # MAD 0; mean absolute deviation 400/7: 400 / (1.253314 * 400/7) = 7 / 1.253314.
    assert scores[-1].mad == 0
    assert scores[-1].score.quantize(Decimal("0.0001")) == Decimal("5.5852")
    assert [s.is_outlier for s in scores] == [False] * 6 + [True]


def test_identical_values_have_no_outlier():
    assert [s.score for s in modified_z_scores([Decimal("42.00")] * 7)] == [Decimal(0)] * 7


def test_an_outlier_post_among_steady_peers_raises_one_alert(workspace):
    *peers, viral = _posts_with_revenue(
        workspace, ["90.00", "95.00", "98.00", "100.00", "100.00", "105.00", "110.00", "1000.00"]
    )
    # Outside the window: a sale today and one before the window change nothing.
    DailyRevenueFactory(workspace=workspace, post=peers[0], day=date(2026, 11, 20), revenue=5000)
    DailyRevenueFactory(workspace=workspace, post=peers[1], day=date(2026, 11, 5), revenue=5000)

    raised = services.outliers_detect(workspace=workspace, now=NOV_20)

    assert len(raised) == 1
    alert = raised[0]
    assert (alert.kind, alert.severity, alert.post, alert.campaign) == (
        "post_outlier_high", "info", viral, None,
    )  # fmt: skip
    assert alert.dedupe_key == f"post_outlier_high:{viral.pk}:2026-11-19"
    assert alert.title == f"Post over-performing: {viral.caption}"
    assert alert.message == (
        "1,000.00 USD in revenue from Nov 6 to Nov 19 (1 order), against a median of "
        "100.00 USD across 7 other posts: far above what posts here usually make, by more than "
        "they usually differ from one another."
    )
    assert alert.figures == {
        "currency": "USD",
        "revenue": "1000.00",
        "orders": "1",
        "median": "100.00",
        "mad": "5.00",
        "score": "121.41",
        "threshold": "3.5",
        "peers": 7,
        "windowStart": "2026-11-06",
        "windowEnd": "2026-11-19",
        "attributionModel": "last-touch",
    }


def test_a_persistent_outlier_raises_one_alert_per_window_not_one_per_run(workspace):
    posts = _posts_with_revenue(workspace, ["100.00"] * 6 + ["900.00"])
    assert len(services.outliers_detect(workspace=workspace, now=NOV_20)) == 1
    assert services.outliers_detect(workspace=workspace, now=NOV_20 + timedelta(hours=1)) == []
    assert services.outliers_detect(workspace=workspace, now=NOV_20 + timedelta(days=1)) == []
    assert Alert.objects.count() == 1

    # A window later the same post is still out of line: it is flagged again, once.
    for post, amount in zip(posts, ["100.00"] * 6 + ["900.00"], strict=True):
        DailyRevenueFactory(
            workspace=workspace, post=post, day=date(2026, 11, 30), revenue=Decimal(amount)
        )
    next_window = NOV_20 + timedelta(days=15)
    assert [a.post for a in services.outliers_detect(workspace=workspace, now=next_window)] == [
        posts[-1]
    ]
    assert Alert.objects.count() == 2


def test_mad_zero_post_is_flagged_and_equal_peers_are_not(workspace):
    _posts_with_revenue(workspace, ["100.00"] * 6 + ["500.00"])
    raised = services.outliers_detect(workspace=workspace, now=NOV_20)
    assert [(a.kind, a.figures["mad"], a.figures["score"]) for a in raised] == [
        ("post_outlier_high", "0.00", "5.59")
    ]


def test_equal_posts_raise_nothing(workspace):
    _posts_with_revenue(workspace, ["100.00"] * 8)
    assert services.outliers_detect(workspace=workspace, now=NOV_20) == []


def test_too_few_peers_raise_nothing(workspace):
    _posts_with_revenue(workspace, ["100.00", "101.00", "99.00", "100.00", "5000.00"])
    assert services.outliers_detect(workspace=workspace, now=NOV_20) == []
    # One more peer (five besides the post) is enough.
    _posts_with_revenue(workspace, ["100.00"])
    assert [a.kind for a in services.outliers_detect(workspace=workspace, now=NOV_20)] == [
        "post_outlier_high"
    ]


def test_an_under_performing_campaign_raises_a_low_alert(workspace):
    campaigns = [CampaignFactory(workspace=workspace) for _ in range(7)]
    for campaign, amount in zip(
        campaigns, ["980", "1000", "1010", "990", "1005", "995", "20"], strict=True
    ):
        DailyRevenueFactory(
            workspace=workspace, campaign=campaign, day=date(2026, 11, 12), revenue=Decimal(amount)
        )

    raised = services.outliers_detect(workspace=workspace, now=NOV_20)

    assert [(a.kind, a.severity, a.campaign) for a in raised] == [
        ("campaign_outlier_low", "warning", campaigns[-1])
    ]
    assert raised[0].title == f"Campaign under-performing: {campaigns[-1].name}"
