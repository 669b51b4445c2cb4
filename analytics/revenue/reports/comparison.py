"""Attribution models compared: every model's headline, platform split and top posts, and two
models side by side per post with the change from one to the other (GA4's model comparison).

Shown on the compare page (/analytics/revenue/compare/) and its CSVs (compare, comparison), and
by GET /commerce/revenue/model-comparison; the dashboard's `compare` reads `compare_models`.
"""

from __future__ import annotations

from decimal import Decimal

from analytics.revenue.filters import RevenueFilters
from analytics.revenue.reports.figures import (
    figures,
    headline,
    ranked_posts,
    relative_change,
    revenue_by_platform,
    revenue_by_post,
    revenue_without_post,
)
from attribution.models import AttributionModel
from omnisocial.models import Workspace
from omnisocial.money import ZERO


def compare_models(workspace: Workspace, f: RevenueFilters) -> list[dict]:
    """The same headline, platform split and top posts under every model the workspace keeps."""
    return [
        {
            "model": model,
            "label": AttributionModel(model).label,
            "rewards": MODEL_REWARDS[model],
            "headline": headline(workspace, f, model),
            "by_platform": revenue_by_platform(workspace, f, model),
            "top_posts": revenue_by_post(workspace, f, limit=5, model=model),
            "without_post": revenue_without_post(workspace, f, model),
        }
        for model in workspace.attribution_models
    ]


# What each model rewards, in a line (the compare page prints it under the model's name).
MODEL_REWARDS = {
    "first-touch": "Rewards the post that first brought the buyer: discovery.",
    "last-touch": "Rewards the post clicked last before buying: the closer.",
    "multi-touch": "Shares every order equally between the posts of its journey.",
    "position-based": "40 % to the first post, 40 % to the last, 20 % shared by those between.",
    "time-decay": "More to the posts closest to the purchase: credit halves every 7 days back.",
    "data-driven": "By each post's measured effect: how many orders are lost without it.",
}


def model_comparison(workspace: Workspace, f: RevenueFilters, base: str, other: str) -> dict:
    """Two models side by side, as GA4's model comparison: per post (and per platform for
    revenue credited to no post) each model's revenue, credited orders and ROAS, and the change
    from `base` to `other` (absolute and relative). The rows of each model sum to its total."""
    by_model, known = {}, {}
    for model in (base, other):
        rows = {("post", row["post"].pk): row for row in ranked_posts(
            workspace, f, None, model, clicks=False, known=known)[0]}  # fmt: skip
        rows.update({("noPost", row["platform"]): row
                     for row in revenue_without_post(workspace, f, model)})  # fmt: skip
        by_model[model] = rows
    empty = figures(revenue=ZERO, orders=ZERO)
    found = []
    for key in by_model[base].keys() | by_model[other].keys():
        a, b = by_model[base].get(key), by_model[other].get(key)
        sample = a or b
        a, b = a or {**empty, "roas": _roas_like(b)}, b or {**empty, "roas": _roas_like(a)}
        found.append({
            "kind": key[0], "post": sample.get("post"), "platform": sample["platform"],
            "label": sample["label"], "base": a, "other": b,
            "revenue_change": b["revenue"] - a["revenue"],
            "revenue_change_pct": relative_change(b["revenue"], a["revenue"]),
            "orders_change": b["orders"] - a["orders"],
            "orders_change_pct": relative_change(b["orders"], a["orders"]),
        })  # fmt: skip
    found.sort(key=lambda r: (-max(r["base"]["revenue"], r["other"]["revenue"]),
                              r["kind"], r["label"]))  # fmt: skip
    totals = {model: headline(workspace, f, model) for model in (base, other)}
    return {
        "base": {"model": base, "label": AttributionModel(base).label,
                 "rewards": MODEL_REWARDS[base], **totals[base]},
        "other": {"model": other, "label": AttributionModel(other).label,
                  "rewards": MODEL_REWARDS[other], **totals[other]},
        "revenue_change": totals[other]["revenue"] - totals[base]["revenue"],
        "orders_change": totals[other]["orders"] - totals[base]["orders"],
        "rows": found,
    }  # fmt: skip


def _roas_like(row: dict) -> Decimal | None:
    """A row missing under one model: ROAS 0 where the other model's row has spend (the spend
    is the post's, whatever the model), else none."""
    return ZERO if row.get("ad_spend") else None
