"""Journeys: which touches led to an order, and how each was matched.

For an order, in this order of evidence:
1. clicks whose click id the order carries: its last click (`osc_click`), however old, and every
   click the storefront snippet kept for the buyer (`osc_clicks`) inside the lookback window: a
   browser that keeps no cookie for our redirect gets a new visitor id on every click, and only
   the store page's list ties its clicks together;
2. clicks by the same visitor ids, and by the other visitor ids known for the same customer
   (`VisitorIdentity`), inside the workspace's lookback window before the order;
3. the order's own landing UTMs when they name a post (utm_content) or a campaign (utm_campaign,
   with a social utm_source or the workspace's medium) not already in the journey;
4. when nothing else matched: a coupon the order used (its code compared without case) that a
   post or a campaign distributed (`coupon_candidates`: the posts whose tracked link points at
   a product of the order when some do, else every post that distributed it, in publication
   order);
5. still nothing: a social utm_source alone, or else a social referrer alone, which gives a
   platform with no post or campaign (it counts in its platform and total social revenue only).

Each touch also says how it was reached (`Reach`: the order's own click, a click the storefront
kept, the same visitor's or the same customer's click, the coupon's product or its posts), which
the order page explains. Touches after the order, bot clicks and other workspaces' clicks never
count. Other platforms' click ids (fbclid...) are kept on the order but are not ours to match.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower

from attribution.models import (
    Click,
    MatchedField,
    Reach,
    TrackedLink,
    VisitorIdentity,
    credited_key,
)
from commerce.attribution_values import SOURCE_ALIASES
from commerce.models import coupon_key
from omnisocial.db import among, datetime_read, hot_cursor
from omnisocial.models import Campaign, Platform, Post, Workspace

SOCIAL_PLATFORMS = frozenset(Platform.values)
# Hosts (and their subdomains) whose referral means the buyer came from a platform's app or site.
SOCIAL_REFERRER_HOSTS = {
    "instagram.com": "instagram",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "messenger.com": "facebook",
    "tiktok.com": "tiktok",
}


def social_source(value: str) -> str:
    """`ig`, `Instagram`, `l.instagram.com` -> `instagram`; "" when not a social platform."""
    value = (value or "").strip().lower()
    value = SOURCE_ALIASES.get(value, value)
    return value if value in SOCIAL_PLATFORMS else ""


def referrer_platform(url: str) -> str:
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""
    for domain, platform in SOCIAL_REFERRER_HOSTS.items():
        if host == domain or host.endswith("." + domain):
            return platform
    return ""


# The path segment before a product's handle: Shopify's /products/<handle> (also under
# /collections/<c>/), WooCommerce's /product/<slug>/.
_PRODUCT_SEGMENTS = frozenset({"products", "product"})
# Query parameters that name a product or a variant by id: Shopify's ?variant=, WooCommerce's
# ?p=, ?product_id=, ?add-to-cart= and ?variation_id=.
_PRODUCT_PARAMETERS = frozenset({"variant", "p", "product_id", "add-to-cart", "variation_id"})
_NOT_HANDLE = re.compile(r"[^0-9a-z]+")


def handle_of(title: str) -> str:
    """A product title as a store makes its handle: `Leather Sandals` -> `leather-sandals`."""
    return _NOT_HANDLE.sub("-", title.strip().lower()).strip("-")


def link_products(url: str) -> frozenset[str]:
    """What a tracked link's destination names of a product (lower-cased): the handle after
    /products/ or /product/ in its path, and the product or variant ids in its query."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return frozenset()
    segments = [unquote(s).strip().lower() for s in parts.path.split("/") if s.strip()]
    found = {segments[i + 1] for i, s in enumerate(segments[:-1]) if s in _PRODUCT_SEGMENTS}
    found |= {
        value.strip().lower() for name, value in parse_qsl(parts.query)
        if name.lower() in _PRODUCT_PARAMETERS and value.strip()
    }  # fmt: skip
    return frozenset(found)


def line_products(product_id: str, variant_id: str, sku: str, title: str) -> set[str]:
    """What an order line says of its product, as the stores send it (lower-cased): its
    product and variant ids, its SKU, and the handle of its title and of the title's product
    part (WooCommerce names a variation `Straw Hat - Natural`, Shopify's name `Linen Shirt - M`)."""
    names = {product_id, variant_id, sku, handle_of(title), handle_of(title.split(" - ")[0])}
    return {name.strip().lower() for name in names if name and name.strip()}


def click_reach(order, click_id: str, visitor_id: str, cookie_visitor: str) -> str:
    """How a click touch was reached, strongest evidence first: the click id the order carries
    (`osc_click`, this browser's cookie), a click id the storefront kept (`osc_clicks`), another
    click of the carried click's visitor, else a visitor the customer is linked to."""
    if click_id == order.osc_click:
        return Reach.COOKIE
    if click_id in (order.osc_clicks or ()):
        return Reach.KEPT
    if cookie_visitor and visitor_id == cookie_visitor:
        return Reach.VISITOR
    return Reach.CUSTOMER


class JourneyTouch(NamedTuple):
    """One touch of an order's journey. A named tuple, not a dataclass: a rebuild makes one
    per touch (millions), and a tuple is built several times faster than a frozen instance."""

    post_id: int | None
    campaign_id: int | None
    platform: str
    touched_at: datetime
    matched_field: str
    matched_value: str
    click_pk: int | None = None
    tiebreak: int = 0
    reached: str = ""

    @property
    def key(self):
        """What the data-driven model credits: the post, else the campaign, else the platform."""
        return credited_key(self.post_id, self.campaign_id, self.platform)


class ClickRow(NamedTuple):
    """A click as journeys read it (the row as the database gives it, by name)."""

    pk: int
    click_id: str
    visitor_id: str
    post_id: int
    clicked_at: datetime


CLICK_FIELDS = ("pk", "click_id", "visitor_id", "post_id", "clicked_at")
LINE_FIELDS = ("order_id", "product_id", "variant_id", "sku", "title")
# The kinds of row `JourneyContext._targeted` reads.
_DIRECT, _VISITOR, _LINK, _POST, _CAMPAIGN, _DESTINATION, _LINE = range(7)


def _window_start(at: datetime, lookback: timedelta) -> datetime:
    """`at - lookback`, or the earliest instant there is when that is before year one."""
    try:
        return at - lookback
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def _journey_order(touch: JourneyTouch):
    """Time, then clicks before the touches found without one, then the order they were found."""
    return (touch.touched_at, touch.click_pk is None, touch.tiebreak)


@dataclass
class JourneyContext:
    """What journeys of a batch of orders need, loaded with a handful of set-based queries."""

    workspace: Workspace
    clicks_by_click_id: dict[str, ClickRow] = field(default_factory=dict)
    clicks_by_visitor: dict[str, list[ClickRow]] = field(default_factory=dict)
    # customer key -> visitor id -> when that link was first seen (an order that carried it)
    identities: dict[str, dict[str, datetime]] = field(default_factory=dict)
    learnt: dict[tuple[str, str], datetime] = field(default_factory=dict)
    posts: dict[int, tuple[int | None, str]] = field(default_factory=dict)
    posts_by_reference: dict[str, int] = field(default_factory=dict)
    campaigns_by_slug: dict[str, int] = field(default_factory=dict)
    # code without case (`coupon_key`) -> (posts that distributed it, its campaign, when that
    # campaign started)
    coupons: dict[str, tuple[list[int], int | None, datetime | None]] = field(default_factory=dict)
    published: dict[int, datetime | None] = field(default_factory=dict)
    # post -> what its tracked links point at (`link_products`), for the coupons' posts
    post_products: dict[int, frozenset[str]] = field(default_factory=dict)
    # order -> what its lines name (`line_products`), for orders that used a coupon of posts
    order_products: dict[int, set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, workspace: Workspace, orders: Sequence) -> JourneyContext:
        """What the journeys of `orders` need (the live path: one order), read by one statement
        (`_targeted`) and, for orders that used coupon codes, the coupons' query."""
        context = cls(workspace=workspace)
        if not orders:
            return context
        context._load_coupons({coupon_key(code) for o in orders for code in o.coupon_codes or []})
        coupon_posts = {pid for pids, *_ in context.coupons.values() for pid in pids}
        by_visitor = defaultdict(list)
        rows = context._targeted(orders, coupon_posts, context._coupon_orders(orders))
        for kind, pk, name, visitor, post_id, at, *post in rows:
            if kind == _DESTINATION:
                context._add_destination(pk, name)
                continue
            if kind == _LINE:  # (order, product id, variant id, sku in reference, title)
                context._add_line(pk, name, visitor, post[0], post[2])
                continue
            at = datetime_read(at)
            if kind in (_DIRECT, _VISITOR):
                click = ClickRow(pk, name, visitor, post_id, at)
                if kind == _DIRECT:
                    context.clicks_by_click_id[name] = click
                else:
                    by_visitor[visitor].append(click)
                if post[2] is not None:  # the post's platform: the post is the workspace's
                    context._add_post(post_id, *post)
            elif kind == _LINK:
                context.identities.setdefault(name, {})[visitor] = at
            elif kind == _POST:
                context._add_post(pk, *post)
            else:  # _CAMPAIGN
                context.campaigns_by_slug[name] = pk
        context.clicks_by_visitor = dict(by_visitor)
        context._learn(orders)
        return context

    def _targeted(
        self, orders: Sequence, coupon_posts: set[int], coupon_orders: list[int]
    ) -> list[tuple]:
        """One statement for what `load` reads, as rows (kind, pk, name, visitor, post_id, at,
        reference, campaign_id, platform, published_at): the human clicks whose click id an
        order carries or kept (rule 1) and their posts; the customers' known visitor links;
        every human click, within the lookback, of those visitors and of the carried clicks'
        visitors (rule 2), with their posts; the posts an order names by utm_content or a coupon
        distributed; the campaigns an order names by utm_campaign; the coupon posts' link
        destinations and the lines of the orders that used their coupons (rule 4)."""
        workspace = self.workspace
        start = _window_start(
            min(o.created_at for o in orders), timedelta(days=workspace.lookback_days)
        )
        end = max(o.created_at for o in orders)
        adapt = connection.ops.adapt_datetimefield_value
        carried = sorted({o.osc_click for o in orders if o.osc_click})
        click_ids, click_params = among(
            "click_id", sorted(set(carried).union(*(o.osc_clicks or () for o in orders)))
        )
        # Rule 2 follows the visitor of the click an order carries, not of the kept ones.
        carried_ids, carried_params = among("click_id", carried)
        keys, key_params = among(
            "customer_key", sorted({o.customer_key for o in orders if o.customer_key})
        )
        # References are stored lower-cased, as orders' UTM values are (see post_save).
        references, reference_params = among(
            "p.reference", sorted({o.utm_content for o in orders if o.utm_content})
        )
        coupon_sql, coupon_params = among("p.id", sorted(coupon_posts))
        slugs, slug_params = among(
            "slug", sorted({o.utm_campaign for o in orders if o.utm_campaign})
        )
        from commerce.models import OrderLine

        destination_sql, destination_params = among("post_id", sorted(coupon_posts))
        line_sql, line_params = among("order_id", coupon_orders)
        tracked, lines = TrackedLink._meta.db_table, OrderLine._meta.db_table
        clicks, links = Click._meta.db_table, VisitorIdentity._meta.db_table
        posts, campaigns = Post._meta.db_table, Campaign._meta.db_table
        post_columns = "p.reference, p.campaign_id, p.platform, p.published_at"
        sql = f"""
            WITH direct AS (
                SELECT id, click_id, visitor_id, post_id, clicked_at FROM {clicks}
                WHERE workspace_id = %s AND NOT is_bot AND {click_ids}
            ),
            links AS (
                SELECT customer_key, visitor_id, first_seen_at FROM {links}
                WHERE workspace_id = %s AND {keys}
            ),
            visitors AS (
                SELECT visitor_id FROM direct
                WHERE visitor_id IS NOT NULL AND visitor_id <> '' AND {carried_ids}
                UNION SELECT visitor_id FROM links
            ),
            found AS (
                SELECT {_DIRECT} AS kind, direct.* FROM direct
                UNION ALL
                SELECT {_VISITOR}, c.id, c.click_id, c.visitor_id, c.post_id, c.clicked_at
                FROM {clicks} AS c
                WHERE c.workspace_id = %s AND NOT c.is_bot
                  AND c.visitor_id IN (SELECT visitor_id FROM visitors)
                  AND c.clicked_at >= %s AND c.clicked_at <= %s
            )
            SELECT f.*, {post_columns} FROM found AS f
            LEFT JOIN {posts} AS p ON p.id = f.post_id AND p.workspace_id = %s
            UNION ALL
            SELECT {_LINK}, NULL, customer_key, visitor_id, NULL, first_seen_at,
                   NULL, NULL, NULL, NULL FROM links
            UNION ALL
            SELECT {_POST}, p.id, NULL, NULL, NULL, NULL, {post_columns} FROM {posts} AS p
            WHERE p.workspace_id = %s AND ({references} OR {coupon_sql})
            UNION ALL
            SELECT {_CAMPAIGN}, id, slug, NULL, NULL, NULL, NULL, NULL, NULL, NULL
            FROM {campaigns} WHERE workspace_id = %s AND {slugs}
            UNION ALL
            SELECT {_DESTINATION}, post_id, destination_url, NULL, NULL, NULL, NULL, NULL, NULL,
                   NULL
            FROM {tracked} WHERE workspace_id = %s AND {destination_sql}
            UNION ALL
            SELECT {_LINE}, order_id, product_id, variant_id, NULL, NULL, sku, NULL, title, NULL
            FROM {lines} WHERE {line_sql}
        """  # noqa: S608 - every value is a parameter; only names are formatted
        params = [
            workspace.pk, *click_params, workspace.pk, *key_params, *carried_params,
            workspace.pk, adapt(start), adapt(end), workspace.pk,
            workspace.pk, *reference_params, *coupon_params, workspace.pk, *slug_params,
            workspace.pk, *destination_params, *line_params,
        ]  # fmt: skip
        with hot_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _coupon_orders(self, orders: Sequence) -> list[int]:
        """The orders that used a coupon some post distributed: rule 4 reads their lines."""
        return sorted(
            o.pk for o in orders
            if any(self.coupons.get(coupon_key(code), ((),))[0] for code in o.coupon_codes or ())
        )  # fmt: skip

    def _add_destination(self, post_id: int, url: str) -> None:
        self.post_products[post_id] = self.post_products.get(post_id, frozenset()) | (
            link_products(url)
        )

    def _add_line(self, order_id, product_id, variant_id, sku, title) -> None:
        products = line_products(product_id or "", variant_id or "", sku or "", title or "")
        self.order_products.setdefault(order_id, set()).update(products)

    def load_coupon_products(self, orders: Iterable) -> None:
        """The coupon posts' link destinations and the coupon orders' lines, for a rebuild
        (the live path reads them with `_targeted`): two statements for the whole period."""
        from commerce.models import OrderLine

        coupon_posts = sorted({pid for pids, *_ in self.coupons.values() for pid in pids})
        wanted = set(self._coupon_orders(list(orders)))
        if not coupon_posts or not wanted:
            return
        destinations = TrackedLink.objects.filter(
            workspace=self.workspace, post_id__in=coupon_posts
        ).values_list("post_id", "destination_url")
        for post_id, url in destinations:
            self._add_destination(post_id, url)
        lines = (
            OrderLine.objects.filter(order__workspace=self.workspace)
            .exclude(order__coupon_codes=[])
            .values_list(*LINE_FIELDS)
        )
        for order_id, *line in lines.iterator(chunk_size=20_000):
            if order_id in wanted:
                self._add_line(order_id, *line)

    def _add_post(self, pk, reference, campaign_id, platform, published_at) -> None:
        self.posts[pk] = (campaign_id, platform)
        self.published[pk] = datetime_read(published_at)
        if reference:
            self.posts_by_reference[reference] = pk

    @classmethod
    def load_whole(cls, workspace: Workspace, orders: Sequence) -> JourneyContext:
        """The same for a bulk rebuild: every human click of the period, every customer link,
        post, campaign and coupon of the workspace, each read in one streamed query instead of
        thousands of targeted ones. Journeys come out the same: `journey` only ever looks up
        what `load` would have fetched."""
        context = cls(workspace=workspace)
        if not orders:
            return context
        start = _window_start(
            min(o.created_at for o in orders), timedelta(days=workspace.lookback_days)
        )
        end = max(o.created_at for o in orders)
        rows = (
            Click.objects.filter(
                workspace=workspace, is_bot=False, clicked_at__gte=start, clicked_at__lte=end
            )
            .order_by("clicked_at", "pk")
            .values_list(*CLICK_FIELDS)
            .iterator(chunk_size=20_000)
        )
        by_visitor = defaultdict(list)
        for row in rows:
            click = ClickRow._make(row)
            context.clicks_by_click_id[click.click_id] = click
            if click.visitor_id:
                by_visitor[click.visitor_id].append(click)
        context.clicks_by_visitor = dict(by_visitor)
        # A click id an order carries counts however old the click (no lookback applies to it).
        missing = {o.osc_click for o in orders if o.osc_click} - context.clicks_by_click_id.keys()
        for row in Click.objects.filter(
            workspace=workspace, is_bot=False, click_id__in=missing
        ).values_list(*CLICK_FIELDS):
            context.clicks_by_click_id[row[1]] = ClickRow._make(row)
        context._load_identities(VisitorIdentity.objects.filter(workspace=workspace), stream=True)
        context._learn(orders)
        context._load_references()
        context.load_coupon_products(orders)
        return context

    @classmethod
    def load_references(cls, workspace: Workspace, orders: Sequence) -> JourneyContext:
        """Only what rules 3 to 5 read (every post, campaign and coupon of the workspace, and
        what the coupon rule compares of `orders`): a rebuild that finds the click touches in
        the database completes its journeys with it."""
        context = cls(workspace=workspace)
        context._load_references()
        context.load_coupon_products(orders)
        return context

    def _load_references(self) -> None:
        self._load_coupons(None)
        self._load_posts(Q())
        self.campaigns_by_slug = dict(self.workspace.campaigns.values_list("slug", "pk"))

    def _load_identities(self, identities, *, stream: bool = False) -> None:
        rows = identities.values_list("customer_key", "visitor_id", "first_seen_at")
        # Streamed (a server-side cursor: three round trips) only for a whole workspace's.
        for key, visitor, seen in rows.iterator(chunk_size=20_000) if stream else rows:
            self.identities.setdefault(key, {})[visitor] = seen

    def _learn(self, orders) -> None:
        """Links each order's customer to its click's visitor, dated by the order (the earliest
        order that shows a link dates it); `learnt` keeps what is new for the caller to store."""
        for order in orders:
            direct = self.clicks_by_click_id.get(order.osc_click) if order.osc_click else None
            if order.customer_key and direct and direct.visitor_id:
                links = self.identities.setdefault(order.customer_key, {})
                seen = links.get(direct.visitor_id)
                if seen is None or order.created_at < seen:
                    links[direct.visitor_id] = order.created_at
                    self.learnt[order.customer_key, direct.visitor_id] = order.created_at

    def _add_visitor_clicks(self, rows) -> None:
        by_visitor = defaultdict(list)
        for row in rows:
            by_visitor[row[2]].append(ClickRow._make(row))
        self.clicks_by_visitor = dict(by_visitor)

    def _load_posts(self, condition: Q) -> None:
        posts = Post.objects.filter(condition, workspace=self.workspace).values_list(
            "pk", "reference", "campaign_id", "platform", "published_at"
        )
        for pk, *post in posts:
            self._add_post(pk, *post)

    def _load_coupons(self, keys: set[str] | None) -> None:
        """The coupons whose code, without case, is one of `keys` (every coupon of the
        workspace when None), keyed by `coupon_key`: buyers type a code in any case, and a
        store may send it back in another one than the marketer typed."""
        if keys is not None and not keys:
            return
        coupons = self.workspace.coupons.select_related("campaign").prefetch_related("posts")
        if keys is not None:
            coupons = coupons.alias(key=Lower("code")).filter(key__in=sorted(keys))
        for coupon in coupons:
            self.coupons[coupon_key(coupon.code)] = (
                sorted(post.pk for post in coupon.posts.all()),
                coupon.campaign_id,
                coupon.campaign.created_at if coupon.campaign else None,
            )

    def journey(self, order) -> list[JourneyTouch]:
        """The order's touches, in journey order (time, then the order they were found in)."""
        return self.completed(order, self._click_touches(order))

    def _click_touches(self, order) -> list[JourneyTouch]:
        """Rules 1 and 2: the order's clicks, by time then click. A bulk rebuild on PostgreSQL
        finds the same clicks with one statement (`attribution.engine.touchpoints`)."""
        lookback = timedelta(days=self.workspace.lookback_days)
        order_at = order.created_at
        touches: dict[int, ClickRow] = {}
        direct = self.clicks_by_click_id.get(order.osc_click) if order.osc_click else None
        # Only links known by the order's time: the journey does not depend on which orders
        # happened to be processed first, so a rebuild gives the same rows as the live path.
        links = self.identities.get(order.customer_key, {}) if order.customer_key else {}
        visitors = {visitor for visitor, seen in links.items() if seen <= order_at}
        if direct is not None and direct.clicked_at <= order_at:
            touches[direct.pk] = direct
            if direct.visitor_id:
                visitors.add(direct.visitor_id)
        for click_id in order.osc_clicks or ():
            kept = self.clicks_by_click_id.get(click_id)
            if kept is not None and timedelta(0) <= order_at - kept.clicked_at <= lookback:
                touches[kept.pk] = kept
        for visitor in visitors:
            for click in self.clicks_by_visitor.get(visitor, ()):
                # As a difference: an order dated in year one has no lookback start.
                if timedelta(0) <= order_at - click.clicked_at <= lookback:
                    touches[click.pk] = click
        cookie_visitor = direct.visitor_id if direct is not None and direct.pk in touches else ""
        journey = [
            JourneyTouch(
                post_id=click.post_id,
                campaign_id=self.posts.get(click.post_id, (None, ""))[0],
                platform=self.posts.get(click.post_id, (None, ""))[1],
                touched_at=click.clicked_at,
                matched_field=MatchedField.CLICK_ID,
                matched_value=click.click_id,
                click_pk=click.pk,
                tiebreak=click.pk,
                reached=click_reach(order, click.click_id, click.visitor_id, cookie_visitor),
            )
            for click in touches.values()
        ]
        journey.sort(key=_journey_order)
        return journey

    def completed(self, order, clicks: list[JourneyTouch]) -> list[JourneyTouch]:
        """Rules 3 to 5 on top of the order's click touches (`clicks`, in journey order)."""
        landing = self._landing_touches(order, clicks)
        if landing:
            journey = clicks + landing
            journey.sort(key=_journey_order)
            return journey
        if clicks:
            return clicks
        journey = self._coupon_touches(order) or self._platform_touches(order)
        journey.sort(key=_journey_order)
        return journey

    def _landing_touches(self, order, journey: list[JourneyTouch]) -> list[JourneyTouch]:
        posts_in = {t.post_id for t in journey}
        campaigns_in = {t.campaign_id for t in journey}
        post_id = self.posts_by_reference.get(order.utm_content) if order.utm_content else None
        if post_id is not None:
            if post_id in posts_in:
                return []
            campaign_id, platform = self.posts[post_id]
            return [
                JourneyTouch(post_id, campaign_id, platform, order.created_at,
                             MatchedField.UTM_CONTENT, order.utm_content, tiebreak=0)
            ]  # fmt: skip
        campaign_id = self.campaigns_by_slug.get(order.utm_campaign) if order.utm_campaign else None
        platform = social_source(order.utm_source)
        is_social = platform or order.utm_medium == self.workspace.utm_medium.lower()
        if campaign_id is not None and is_social and campaign_id not in campaigns_in:
            return [
                JourneyTouch(None, campaign_id, platform, order.created_at,
                             MatchedField.UTM_CAMPAIGN, order.utm_campaign, tiebreak=1)
            ]  # fmt: skip
        return []

    def _coupon_touches(self, order) -> list[JourneyTouch]:
        """The first code the order used that a post published (or a campaign started) by the
        order's time distributed: its candidate posts (`coupon_candidates`) are touches at the
        order's time in publication order, so every model credits them by its own rule: first
        touch the earliest published, last touch the latest, the others share them as they
        share touches (all at one instant, time decay evenly). A post published after the
        order cannot have brought it."""
        for code in order.coupon_codes or []:
            post_ids, campaign_id, started = self.coupons.get(coupon_key(code), ([], None, None))
            candidates, reached = self.coupon_candidates(order, post_ids)
            touches = []
            for rank, post_id in enumerate(candidates):
                post_campaign, platform = self.posts.get(post_id, (None, ""))
                touches.append(
                    JourneyTouch(post_id, post_campaign, platform, order.created_at,
                                 MatchedField.COUPON_CODE, code, tiebreak=rank, reached=reached)
                )  # fmt: skip
            if (
                not post_ids
                and campaign_id is not None
                and (started or order.created_at) <= (order.created_at)
            ):
                touches.append(
                    JourneyTouch(None, campaign_id, "", order.created_at,
                                 MatchedField.COUPON_CODE, code, tiebreak=0)
                )  # fmt: skip
            if touches:
                return touches
        return []

    def coupon_candidates(self, order, post_ids: Sequence[int]) -> tuple[list[int], str]:
        """The coupon rule. Of the posts that distributed a code and were published by the
        order's time, those whose tracked link points at a product of the order's lines (the
        link's /products/<handle> or /product/<slug>, or a product or variant id in its query,
        against the lines' product and variant ids, SKU and title handle), or every one of them
        when none does: a merchant's sandals order with a code that seven posts shared was
        brought by the sandals post, not by the sunglasses one. In publication order (ties by
        id: a post without a date counts as published at the order's time), with how they were
        chosen (`Reach.PRODUCT` or `Reach.DISTRIBUTED`)."""
        at = order.created_at
        live = [p for p in post_ids if (self.published.get(p) or at) <= at]
        bought = self.order_products.get(order.pk, set())
        matching = [p for p in live if self.post_products.get(p, frozenset()) & bought]
        chosen = matching or live
        chosen.sort(key=lambda p: (self.published.get(p) or at, p))
        return chosen, Reach.PRODUCT if matching else Reach.DISTRIBUTED

    def _platform_touches(self, order) -> list[JourneyTouch]:
        platform = social_source(order.utm_source)
        if platform:
            return [
                JourneyTouch(None, None, platform, order.created_at,
                             MatchedField.UTM_SOURCE, order.utm_source)
            ]  # fmt: skip
        platform = referrer_platform(order.referrer_url)
        if platform:
            return [
                JourneyTouch(None, None, platform, order.created_at,
                             MatchedField.REFERRER_URL, order.referrer_url[:200])
            ]  # fmt: skip
        return []
