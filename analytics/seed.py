"""The demo workspace `make run` shows on first start (`manage.py seed_demo`). Deterministic and
idempotent.

It seeds every app's data (posts and metrics here; clicks, stores, orders and KPIs through their
apps' demo modules), always through the same services real data takes, so it lives in the highest
app: no lower app imports the ones above it (pyproject.toml, [tool.importlinter]).
"""

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from analytics.demo import seed_kpis
from attribution import demo as attribution_demo
from attribution import services as attribution_services
from attribution.engine import workspace_recalculate
from attribution.receivers import order_attribution_paused
from commerce.demo import seed_commerce_demo
from omnisocial import services
from omnisocial.models import Membership, Platform, Post, PostMetrics, Workspace

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"
DEMO_SLUG = "demo"
DEMO_SHOP = "demo-boutique.myshopify.com"
DAYS = 60  # two 30-day periods, so the dashboard's comparisons mean something

CAMPAIGNS = [
    ("Summer Sale", "summer-sale"),
    ("New Arrivals", "new-arrivals"),
    ("Gift Guide", "gift-guide"),
]
PRODUCTS = [
    "linen-shirt",
    "canvas-tote",
    "silk-scarf",
    "leather-sandals",
    "straw-hat",
    "sunglasses",
]
CAPTIONS = {
    Post.ContentType.PRODUCT: "Meet the {p}: made to last, priced to move. Shop now {url}",
    Post.ContentType.LIFESTYLE: "Slow mornings, long lunches and the {p} for both. {url}",
    Post.ContentType.UGC: "You styled it best: our community's favourite {p} looks. {url}",
    Post.ContentType.PROMO: "48 hours only: 20% off the {p} with code SUMMER20. {url}",
}


def seed_demo(*, log: Callable[[str], None] = print, today=None) -> str:
    rng = random.Random(20261125)
    workspace = _workspace()
    attribution_services.domain_allow(workspace=workspace, domain=DEMO_SHOP)
    campaigns = [
        services.campaign_get_or_create(workspace=workspace, name=name, slug=slug)
        for name, slug in CAMPAIGNS
    ]
    posts = _posts(workspace, campaigns, rng)
    metrics = _metrics(workspace, posts, rng, today or timezone.localdate(timezone=workspace.zone))
    clicks = attribution_demo.seed_clicks(workspace=workspace, posts=posts, rng=rng)
    log(f"demo workspace {workspace.slug}: {len(campaigns)} campaigns, {len(posts)} posts")
    log(f"{clicks} new demo clicks")
    # The whole workspace is re-attributed right after: no task per order for the worker.
    with order_attribution_paused():
        seed_commerce_demo(
            workspace=workspace, log=log, clicks=attribution_demo.human_clicks(posts)
        )
    result = workspace_recalculate(workspace=workspace)
    log(f"attribution: {result['orders']} orders, {result['attributions']} attribution rows")
    log(f"{seed_kpis(workspace=workspace)} new demo KPIs")
    return (
        f"Demo ready: {len(posts)} posts, {metrics} daily metric rows. "
        f"Log in as {DEMO_EMAIL} / {DEMO_PASSWORD}."
    )


@transaction.atomic
def _workspace() -> Workspace:
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is None:
        workspace = services.workspace_create(
            name="Demo Boutique",
            owner_email=DEMO_EMAIL,
            owner_password=DEMO_PASSWORD,
            time_zone="America/New_York",
        )
        Workspace.objects.filter(pk=workspace.pk).update(slug=DEMO_SLUG)
        workspace.refresh_from_db()
    user = get_user_model().objects.get(username=DEMO_EMAIL)
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(
        user=user, workspace=workspace, defaults={"role": Membership.Role.OWNER}
    )
    return workspace


def _posts(workspace, campaigns, rng) -> list[Post]:
    existing = {p.external_id: p for p in workspace.posts.all()}
    now = timezone.now()
    posts = []
    content_types = list(CAPTIONS)
    for index in range(36):
        platform = Platform.values[index % 3]
        external_id = f"demo-{platform}-{index:03d}"
        if external_id in existing:
            post = existing[external_id]
            if not post.links.exists():  # demo data from before its store domain was allowed
                attribution_services.post_links_tag(post=post)
            posts.append(post)
            continue
        product = PRODUCTS[index % len(PRODUCTS)]
        content_type = content_types[index % len(content_types)]
        url = f"https://{DEMO_SHOP}/products/{product}"
        posts.append(
            services.post_save(
                workspace=workspace,
                platform=platform,
                external_id=external_id,
                caption=CAPTIONS[content_type].format(p=product.replace("-", " "), url=url),
                link_url=url,
                content_type=content_type,
                published_at=now
                - timedelta(days=DAYS - index * DAYS // 36, hours=rng.randint(0, 12)),
                campaign=campaigns[(index // 3) % len(campaigns)],
                boosted_spend=Decimal(rng.choice([0, 0, 0, 50, 120, 250])).quantize(
                    Decimal("0.01")
                ),
            )
        )
    return posts


def _metrics(workspace, posts, rng, today) -> int:
    rows = []
    for post in posts:
        start = max(
            post.published_at.astimezone(workspace.zone).date(), today - timedelta(DAYS - 1)
        )
        reach_base = rng.randint(800, 9000)
        for offset in range((today - start).days + 1):
            day = start + timedelta(offset)
            decay = 1 / (1 + offset * 0.35)
            impressions = int(reach_base * 1.4 * decay) + rng.randint(0, 200)
            reach = int(impressions * 0.7)
            spend = post.boosted_spend / 7 if post.is_boosted and offset < 7 else Decimal(0)
            rows.append(
                PostMetrics(
                    post=post,
                    day=day,
                    impressions=impressions,
                    reach=reach,
                    engagements=int(reach * rng.uniform(0.02, 0.08)),
                    link_clicks=int(impressions * rng.uniform(0.004, 0.02)),
                    spend=spend.quantize(Decimal("0.01")),
                )
            )
    PostMetrics.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["post", "day"],
        update_fields=["impressions", "reach", "engagements", "link_clicks", "spend"],
    )
    return len(rows)
