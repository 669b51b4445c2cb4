"""The revenue dashboard: the headline with its change, platform and post splits, top content
and the funnel in one answer (with `compare`, the same under every model the workspace keeps).

Shown by GET /commerce/revenue/dashboard; the figures are `figures.py`'s, the ones Analytics ›
Revenue shows.
"""

from __future__ import annotations

from analytics.revenue.filters import RevenueFilters
from analytics.revenue.reports.comparison import compare_models
from analytics.revenue.reports.figures import (
    funnel,
    headline,
    report_scope,
    revenue_breakdown_by_post,
    revenue_by_platform,
    unique_clicks_in_scope,
    with_change,
)
from omnisocial.models import Workspace

TOP_CONTENT = 10
POSTS_RANKED = 50


def dashboard(workspace: Workspace, f: RevenueFilters, *, compare: bool = False) -> dict:
    """Everything GET /commerce/revenue/dashboard answers: the headline with its change against
    the previous period, platform and post splits, top content, the funnel, and with `compare`
    the same figures under every model the workspace keeps."""
    clicks = unique_clicks_in_scope(workspace, f)
    by_post = revenue_breakdown_by_post(workspace, f, limit=POSTS_RANKED, scope_clicks=clicks)
    current = headline(workspace, f)
    result = {
        "filters": report_scope(workspace, f),
        "headline": with_change(current, headline(workspace, f.previous())),
        "by_platform": revenue_by_platform(workspace, f),
        "by_post": by_post,
        "top_content": [row for row in by_post if row["kind"] == "post"][:TOP_CONTENT],
        "funnel": funnel(workspace, f, purchases=current["orders"], clicks=clicks),
    }
    if compare:
        result["models"] = compare_models(workspace, f)
    return result
