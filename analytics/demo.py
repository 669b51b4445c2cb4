"""Demo KPIs for the demo workspace: one per scope the page shows. Idempotent."""

from decimal import Decimal

from analytics.kpis import services
from analytics.models import RevenueKPI
from omnisocial.models import Platform, Workspace

DEMO_CAMPAIGN_SLUG = "summer-sale"


def seed_kpis(*, workspace: Workspace) -> int:
    """Creates the demo KPIs that are missing (matched by name); returns how many it created."""
    existing = set(workspace.kpis.values_list("name", flat=True))
    wanted = [
        {"name": "Monthly social revenue", "target": Decimal("25000.00")},
        {
            "name": "Instagram this month",
            "target": Decimal("9000.00"),
            "scope": RevenueKPI.Scope.PLATFORM,
            "platform": Platform.INSTAGRAM,
        },
    ]
    campaign = workspace.campaigns.filter(slug=DEMO_CAMPAIGN_SLUG).first()
    if campaign is not None:
        wanted.append(
            {
                "name": f"{campaign.name} this quarter",
                "target": Decimal("15000.00"),
                "scope": RevenueKPI.Scope.CAMPAIGN,
                "campaign": campaign,
                "period": RevenueKPI.Period.QUARTER,
            }
        )
    created = 0
    for fields in wanted:
        if fields["name"] not in existing:
            services.kpi_create(workspace=workspace, **fields)
            created += 1
    return created
