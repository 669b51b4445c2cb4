"""Demo store and orders, recorded through the real ingestion service. Deterministic and idempotent.

Orders follow the demo posts: many carry a post's reference as utm_content, some only a campaign,
some only the SUMMER20 coupon the promo posts distributed; a few are refunded, one is in EUR (with
a rate) and one in a currency without a rate, so it shows as unconverted.
"""

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from commerce import services
from commerce.attribution_values import Attribution, LineData, OrderData, RefundData
from commerce.models import StoreConnection
from omnisocial.models import Post, Workspace

DEMO_SHOP = "demo-boutique.myshopify.com"
ORDERS = 300
PRICES = {
    "linen-shirt": "45.00", "canvas-tote": "28.00", "silk-scarf": "30.00",
    "leather-sandals": "89.00", "straw-hat": "35.00", "sunglasses": "55.00",
}  # fmt: skip


def seed_commerce_demo(
    *, workspace: Workspace, log: Callable[[str], None] = print, clicks: dict | None = None
) -> int:
    """`clicks`: each post's (click id, time) list; an order from a post carries the id of the
    latest click on it before the order, as the storefront snippet would have written it."""
    rng = random.Random(20261126)
    store = StoreConnection.objects.filter(workspace=workspace, shop_domain=DEMO_SHOP).first()
    if store is None:
        store = services.store_connect(
            workspace=workspace, platform="shopify", shop_domain=DEMO_SHOP,
            currency=workspace.reporting_currency, webhook_secret="shpss_demo_secret",
            name="Demo Boutique",
        )  # fmt: skip
    posts = list(workspace.posts.select_related("campaign").order_by("external_id"))
    promo = [p for p in posts if p.content_type == Post.ContentType.PROMO]
    services.coupon_save(
        workspace=workspace, code="SUMMER20",
        campaign=promo[0].campaign if promo else None, posts=promo,
    )  # fmt: skip
    # Orders are laid out relative to the day the demo was first seeded, so re-running is a no-op;
    # nothing an order brings (its refund, its last update) is dated after that moment either.
    first = store.created_at
    today = timezone.now().date()
    services.exchange_rates_load(
        rates=[(today - timedelta(days=d), "EUR", workspace.reporting_currency, Decimal("1.08"))
               for d in range(0, 65)]
    )  # fmt: skip
    orders = [_order(n, rng, first, posts, promo, clicks or {}) for n in range(ORDERS)]
    for data in orders:
        services.order_save(store=store, data=data)
    log(f"demo store {DEMO_SHOP}: {len(orders)} orders")
    return len(orders)


def _order(n, rng: random.Random, first, posts: list[Post], promo: list[Post], clicks) -> OrderData:
    when = first - timedelta(days=rng.uniform(0, 59), hours=rng.uniform(0, 23))
    product = rng.choice(list(PRICES))
    quantity = rng.choice([1, 1, 1, 2])
    price = Decimal(PRICES[product])
    subtotal = price * quantity
    kind = rng.random()
    published = [p for p in posts if p.published_at is None or p.published_at < when]
    post = rng.choice(published) if published else None
    attribution, coupons, discount = Attribution(), [], Decimal("0.00")
    if post is not None and kind < 0.6:
        attribution = Attribution(
            utm_source=post.platform, utm_medium="social",
            utm_campaign=post.campaign.slug if post.campaign else "",
            utm_content=post.reference, osc_click=_click_before(clicks.get(post.pk, []), when),
            visitor_id=f"demo-visitor-{n % 97:03d}",
            landing_page=f"https://{DEMO_SHOP}/products/{product}?utm_content={post.reference}",
            referrer_url=f"https://l.{post.platform}.com/",
        )  # fmt: skip
    elif post is not None and post.campaign and kind < 0.75:
        attribution = Attribution(utm_source=post.platform, utm_campaign=post.campaign.slug)
    elif promo and kind < 0.85:
        coupons, discount = ["summer20"], (subtotal * Decimal("0.20")).quantize(Decimal("0.01"))
    shipping = Decimal("0.00") if subtotal >= 60 else Decimal("6.00")
    tax = ((subtotal - discount) * Decimal("0.08")).quantize(Decimal("0.01"))
    total = subtotal - discount + shipping + tax
    currency = "EUR" if n == 7 else "CHF" if n == 11 else "USD"
    refunds, last_change = [], when
    if n % 23 == 5:
        # Three days after the order, but never after the demo was seeded: an order from its last
        # days is refunded at that moment instead of in the future.
        last_change = min(when + timedelta(days=3), first)
        refunds = [RefundData(f"demo-refund-{n}", price, last_change, "Returned")]
    return OrderData(
        external_id=f"demo-{n:04d}", order_number=str(1001 + n), created_at=when,
        updated_at=min(last_change + timedelta(minutes=1), first), currency=currency,
        total_price=total, subtotal=subtotal, total_tax=tax, total_shipping=shipping,
        total_discounts=discount,
        financial_status="partially_refunded" if refunds else "paid",
        attribution=attribution, coupon_codes=coupons,
        customer_id=str(5000 + rng.randint(0, 110)), is_returning_customer=rng.random() < 0.3,
        lines=[LineData(external_id=f"demo-line-{n}", product_id=product, sku=product.upper(),
                        title=product.replace("-", " ").title(), quantity=quantity, price=price)],
        refunds=refunds,
    )  # fmt: skip


def _click_before(clicks: list[tuple[str, object]], when) -> str:
    earlier = [click_id for click_id, clicked_at in clicks if clicked_at <= when]
    return earlier[-1] if earlier else ""
