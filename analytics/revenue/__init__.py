"""Revenue reads, each figure defined once (docs/metrics.md) and read by every page, API answer
and CSV:

- `filters`: the report's scope (`RevenueFilters`) and the one orders filter (`OrderFilter`);
- `metrics`: the figures (headline, breakdowns by platform, post and segment, per-post figures,
  receipts, order journeys), from the rollups;
- `api` and `serializers`: the documented endpoints under /commerce/ (`urls`);
- `pages` and `exports`: Analytics › Revenue and its pages, and their CSV downloads.

KPIs, alerts and insights read the same rollups (analytics.kpis.selectors).
"""
