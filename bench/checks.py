"""Consistency checks shared by the load and multi-worker scenarios and the fault tests."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Sum


def attribution_consistency_problems(workspace) -> list[str]:
    """Every invariant a reader relies on, checked from the raw rows:
    - per order and model, weights sum to exactly 1 and credited revenue to the order's revenue;
    - DailyRevenue cells equal the sums of RevenueAttribution minus RefundAttribution;
    - PostRevenue rows equal the sums of RevenueAttribution per post and model (revenue, and
      credited orders: the weights of the orders not fully refunded)."""
    from attribution.models import DailyRevenue, PostRevenue, RefundAttribution, RevenueAttribution
    from commerce.models import CommerceOrder

    problems = []
    rows = (
        RevenueAttribution.objects.filter(workspace=workspace)
        .values("order_id", "attribution_model")
        .annotate(weight=Sum("attribution_weight"), revenue=Sum("gross_revenue"), n=Count("pk"))
    )
    orders = {o.pk: o for o in CommerceOrder.objects.filter(workspace=workspace)}
    for row in rows:
        if row["weight"] != 1:
            problems.append(
                f"order {row['order_id']} {row['attribution_model']}: weights {row['weight']}"
            )
        order = orders[row["order_id"]]
        gross = order.attributable_revenue(workspace.revenue_basis, net_of_refunds=False)
        if row["revenue"] != gross:
            problems.append(
                f"order {order.pk} {row['attribution_model']}: {row['revenue']} != {gross}"
            )
    positions = (
        RevenueAttribution.objects.filter(workspace=workspace)
        .values("order_id", "attribution_model", "position")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    problems += [f"duplicate row {p}" for p in positions]

    expected = defaultdict(Decimal)
    for r in (
        RevenueAttribution.objects.filter(workspace=workspace)
        .values("order_day", "post_id", "platform", "attribution_model")
        .annotate(s=Sum("gross_revenue"))
    ):
        expected[(r["order_day"], r["post_id"], r["platform"], r["attribution_model"])] += r["s"]
    for r in (
        RefundAttribution.objects.filter(workspace=workspace)
        .values("day", "post_id", "platform", "attribution_model")
        .annotate(s=Sum("amount"))
    ):
        expected[(r["day"], r["post_id"], r["platform"], r["attribution_model"])] -= r["s"]
    actual = defaultdict(Decimal)
    for r in (
        DailyRevenue.objects.filter(workspace=workspace)
        .values("day", "post_id", "platform", "attribution_model")
        .annotate(s=Sum("revenue"))
    ):
        actual[(r["day"], r["post_id"], r["platform"], r["attribution_model"])] += r["s"]
    if {k: v for k, v in expected.items() if v} != {k: v for k, v in actual.items() if v}:
        problems.append("DailyRevenue differs from the raw rows")

    # Credited orders (docs/metrics.md): the touches' weights, none for an order fully refunded
    # under the model (every cent it credited refunded).
    totals = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for order_id, model, back, net in RevenueAttribution.objects.filter(
        workspace=workspace
    ).values_list("order_id", "attribution_model", "refunded", "revenue"):
        totals[(order_id, model)][0] += back
        totals[(order_id, model)][1] += net
    gone = {key for key, (back, net) in totals.items() if back > 0 and net <= 0}
    per_post = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for post_id, model, order_id, revenue, weight in RevenueAttribution.objects.filter(
        workspace=workspace, post__isnull=False
    ).values_list("post_id", "attribution_model", "order_id", "revenue", "attribution_weight"):
        per_post[(post_id, model)][0] += revenue
        if (order_id, model) not in gone:
            per_post[(post_id, model)][1] += weight
    for rollup in PostRevenue.objects.filter(workspace=workspace):
        raw = per_post.get((rollup.post_id, rollup.attribution_model), (Decimal(0), 0))
        if (rollup.total_revenue, rollup.total_orders) != (raw[0] or Decimal(0), raw[1]):
            problems.append(f"PostRevenue {rollup.post_id} {rollup.attribution_model} differs")
    missing = set(per_post) - set(
        PostRevenue.objects.filter(workspace=workspace).values_list("post_id", "attribution_model")
    )
    problems += [f"PostRevenue missing for {key}" for key in sorted(missing)]
    return problems
