"""Rollups the pages and the API read instead of scanning raw rows, each module holding one
rollup's full build and its live update side by side:

- `daily_revenue`: revenue, credited orders and units per model, day and post (or platform-only
  cell), built from the touch rows; the live path rebuilds the cells one order touched.
- `daily_totals`: revenue and credited orders per model and day, by platform and campaign (what
  a sum of post cells gives too slowly); the live path shifts one order's share.
- `post_revenue`: the spec's per-post figures, read from DailyRevenue.
- `clicks`: unique human clicks per post and day, rolled up behind a mark.
- `credited`: the one definition of credited orders, and the touch rows as SQL.
"""

from attribution.rollups.clicks import (
    CLICK_SETTLE,
    clicks_rebuild,
    clicks_roll_up,
    post_unique_clicks,
    unique_clicks,
)
from attribution.rollups.credited import ORDER_PLACES, credited, order_counts
from attribution.rollups.daily_revenue import daily_revenue_build, daily_revenue_refresh
from attribution.rollups.daily_totals import (
    Entry,
    daily_totals_build,
    daily_totals_shift,
    totals,
)
from attribution.rollups.post_revenue import post_revenue_rebuild, post_revenue_shift

__all__ = [
    "CLICK_SETTLE", "ORDER_PLACES", "Entry", "clicks_rebuild", "clicks_roll_up", "credited",
    "daily_revenue_build", "daily_revenue_refresh", "daily_totals_build", "daily_totals_shift",
    "order_counts", "post_revenue_rebuild", "post_revenue_shift",
    "post_unique_clicks", "totals", "unique_clicks",
]  # fmt: skip
