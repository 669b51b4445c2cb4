"""Revenue KPIs, alerts and insights:

- `selectors`: KPI progress and the readers of revenue the checks compare (the same rollups as
  analytics.revenue, so a KPI's actual is the headline's figure for its days and scope);
- `projection`: a KPI's period, its run rate and where it lands;
- `services`: KPI writes, the scheduled checks, outliers and alerts;
- `outliers`: the robust z-score; `insights`: the sentences an advisor reads;
- `api`, `pages` and `urls`: the KPI, alert and insights endpoints and pages.
"""
