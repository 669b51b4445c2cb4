"""Conversion paths (GA4's report), read from the stored journeys: the touch rows of the orders
placed in the range under the report's model.

- A path is an order's touches in journey order, by post (a platform-only touch is its platform)
  and by platform; repeats in a row collapse into one step with a count ("Instagram × 2").
- An order counts once it credits orders (not cancelled, not fully refunded: the rule of
  credited orders, docs/metrics.md), and its revenue is its net revenue credited to social (the
  sum of its touches' revenue under the model: the same under every model).
- Path length is the number of touches; days to conversion run from the first touch to the
  order.
- Early, middle and late credit: the first touch is early, the last late, those between middle
  (a one-touch journey is late): what the model credits each stage, per platform.

`platform` and `campaign` filters keep the paths with a touch on them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from itertools import groupby

from analytics.revenue.filters import RevenueFilters
from analytics.revenue.reports.figures import ratio
from attribution.models import RevenueAttribution
from attribution.rollups import order_counts
from omnisocial.models import Platform, Workspace
from omnisocial.money import ZERO

STAGES = ("early", "middle", "late")
# Days from the first touch to the order: (first day, last day or None, label).
DAY_BUCKETS = [
    (0, 0, "Same day"), (1, 1, "1 day"), (2, 3, "2–3 days"), (4, 7, "4–7 days"),
    (8, 14, "8–14 days"), (15, 30, "15–30 days"), (31, None, "31 days or more"),
]  # fmt: skip


def _collapse(steps) -> tuple:
    """Consecutive repeats as one (step, count)."""
    return tuple((step, sum(1 for _ in run)) for step, run in groupby(steps))


def _stages(n: int) -> list[str]:
    if n == 1:
        return ["late"]
    return ["early", *["middle"] * (n - 2), "late"]


def conversion_paths(workspace: Workspace, f: RevenueFilters, *, limit: int = 20) -> dict:
    rows = (
        RevenueAttribution.objects.filter(
            workspace=workspace, attribution_model=f.model,
            order_day__gte=f.start, order_day__lte=f.end,
        )
        .order_by("order_id", "position")
        .values_list("order_id", "post_id", "platform", "campaign_id", "touched_at", "refunded",
                     "revenue", "order__created_at")
    )  # fmt: skip
    post_paths: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    platform_paths: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    lengths: Counter = Counter()
    days: Counter = Counter()
    stages: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(STAGES, ZERO))
    orders, revenue = 0, ZERO
    for _order_id, touches in groupby(rows, key=lambda row: row[0]):
        touches = list(touches)
        if not order_counts((f.model, t[5], t[6]) for t in touches)[f.model]:
            continue  # fully refunded: credits no order
        net = sum((t[6] for t in touches), ZERO)
        if f.platform and all(t[2] != f.platform for t in touches):
            continue
        if f.campaign_id and all(t[3] != f.campaign_id for t in touches):
            continue
        orders += 1
        revenue += net
        for paths, steps in (
            (post_paths, [("post", t[1]) if t[1] else ("platform", t[2]) for t in touches]),
            (platform_paths, [t[2] for t in touches]),
        ):
            entry = paths[_collapse(steps)]
            entry[0] += 1
            entry[1] += net
        lengths[len(touches)] += 1
        waited = max((touches[0][7] - touches[0][4]).days, 0)
        days[next(label for low, high, label in DAY_BUCKETS
                  if waited >= low and (high is None or waited <= high))] += 1  # fmt: skip
        for touch, stage in zip(touches, _stages(len(touches)), strict=True):
            stages[touch[2]][stage] += touch[6]

    def ranked(paths: dict) -> list[tuple]:
        return sorted(paths.items(), key=lambda item: (-item[1][0], -item[1][1], str(item[0])))

    top_posts = ranked(post_paths)[:limit]
    post_ids = {value for path, _ in top_posts for (kind, value), _ in path if kind == "post"}
    posts = workspace.posts.in_bulk(post_ids)
    labels = dict(Platform.choices)

    def post_step(step, count) -> dict:
        kind, value = step
        post = posts.get(value) if kind == "post" else None
        return {"kind": kind, "post": post, "platform": post.platform if post else value,
                "label": str(post) if post else f"{labels.get(value, value)} (no post)",
                "count": count}  # fmt: skip

    return {
        "orders": orders,
        "revenue": revenue,
        "post_paths": [
            {
                "steps": [post_step(step, count) for step, count in path],
                "orders": n,
                "revenue": money,
                "share": ratio(n, orders),
            }
            for path, (n, money) in top_posts
        ],  # fmt: skip
        "platform_paths": [
            {
                "steps": [
                    {
                        "platform": platform,
                        "label": labels.get(platform, platform or "Other"),
                        "count": count,
                    }
                    for platform, count in path
                ],
                "orders": n,
                "revenue": money,
                "share": ratio(n, orders),
            }
            for path, (n, money) in ranked(platform_paths)[:limit]
        ],  # fmt: skip
        "lengths": [
            {"touches": n, "orders": lengths[n], "share": ratio(lengths[n], orders)}
            for n in sorted(lengths)
        ],
        "days": [
            {
                "label": label,
                "from_day": low,
                "to_day": high,
                "orders": days[label],
                "share": ratio(days[label], orders),
            }
            for low, high, label in DAY_BUCKETS
        ],  # fmt: skip
        "stages": [
            {
                "platform": platform,
                "label": labels.get(platform, platform or "Other"),
                **credit,
                "total": sum(credit.values(), ZERO),
            }
            for platform, credit in sorted(stages.items())
        ],  # fmt: skip
    }
