"""Tracked links and the clicks on them (link tagging and click tracking)."""

import secrets
import string

from django.db import models
from django.db.models import Q

from omnisocial.models import AttributionModel, Post, Workspace

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 7


def new_link_code() -> str:
    """A short random code: 62^7 ≈ 3.5e12 codes, so collisions are rare and retried."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_click_id() -> str:
    """The id carried into the store as `osc_click`: 72 random bits, URL-safe, 12 characters."""
    return secrets.token_urlsafe(9)


class AllowedDomain(models.Model):
    """A host that tracked links may send visitors to, besides the connected stores' domains.

    Subdomains are allowed too (`shop.example` allows `www.shop.example`). Anything else is refused,
    so the redirect can never be an open redirect.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="allowed_domains"
    )
    domain = models.CharField(max_length=253)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "domain"], name="alloweddomain_unique"),
        ]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        # The admin's form too: no IP address, local name, single label or public suffix.
        from attribution.tagging import check_allowed_domain

        self.domain = check_allowed_domain(self.domain)


class TrackedLink(models.Model):
    """A destination URL of a post, tagged with UTMs and reachable through `/r/<code>`."""

    class Source(models.TextChoices):
        CAPTION = "caption", "Caption"
        LINK = "link", "Post link"
        API = "api", "Tagged on request"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="links")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="links")
    code = models.CharField(max_length=16, unique=True)
    destination_url = models.URLField(
        max_length=2000, help_text="The URL as the marketer wrote it."
    )
    tagged_url = models.URLField(max_length=2500, help_text="The destination with the UTMs added.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CAPTION)
    utm_source = models.CharField(max_length=100)
    utm_medium = models.CharField(max_length=100)
    utm_campaign = models.CharField(max_length=200, blank=True, default="")
    utm_content = models.CharField(max_length=200, blank=True, default="")
    utm_term = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "destination_url"], name="link_unique_per_post"
            ),
        ]

    def __str__(self) -> str:
        return f"/r/{self.code} → {self.destination_url}"

    @property
    def short_path(self) -> str:
        return f"/r/{self.code}"


class Click(models.Model):
    """One request to `/r/<code>`. Every request is kept; bots are kept but never counted.

    `is_unique` is False for a repeat by the same visitor on the same link within
    UNIQUE_CLICK_WINDOW of their previous click (a sliding window, like a web analytics session).
    """

    # Hot table: no single-column index where a composite one below starts with the column.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="clicks", db_index=False
    )
    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="clicks")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="clicks", db_index=False)
    click_id = models.CharField(max_length=24, unique=True)
    visitor_id = models.CharField(max_length=40, blank=True, default="")
    clicked_at = models.DateTimeField()
    referrer = models.CharField(max_length=1000, blank=True, default="")
    user_agent = models.CharField(max_length=500, blank=True, default="")
    ip_prefix = models.CharField(
        max_length=45, blank=True, default="", help_text="IPv4 /24 or IPv6 /48: never the full IP."
    )
    is_bot = models.BooleanField(default=False)
    bot_reason = models.CharField(max_length=40, blank=True, default="")
    is_unique = models.BooleanField(default=True)

    class Meta:
        ordering = ["-clicked_at"]
        indexes = [
            models.Index(fields=["post", "clicked_at"], name="click_post_time"),
            models.Index(
                fields=["workspace", "visitor_id", "clicked_at"],
                condition=Q(is_bot=False),
                name="click_human_visitor_time",
            ),
            models.Index(fields=["workspace", "clicked_at"], name="click_workspace_time"),
        ]

    def __str__(self) -> str:
        return f"{self.click_id} on {self.link_id}{' (bot)' if self.is_bot else ''}"


# --- Attribution: journeys' touches, credited revenue, rollups ---------------------------------


class MatchedField(models.TextChoices):
    """How a touch was matched to the order, in precedence order."""

    CLICK_ID = "clickId", "Click id"
    UTM_CONTENT = "utmContent", "utm_content"
    UTM_CAMPAIGN = "utmCampaign", "utm_campaign"
    COUPON_CODE = "couponCode", "Coupon code"
    UTM_SOURCE = "utmSource", "utm_source"
    REFERRER_URL = "referrerUrl", "Referrer"


class Reach(models.TextChoices):
    """How a touch was reached, beside its `MatchedField` (empty where the field says it all:
    a landing UTM, a campaign's coupon, a social source or referrer)."""

    COOKIE = "cookie", "The click id this visitor's browser carried to checkout (osc_click)"
    KEPT = "kept", "A click id the storefront kept for this buyer (osc_clicks)"
    VISITOR = "visitor", "An earlier click by the same visitor"
    CUSTOMER = "customer", "A click by the same customer on another visit or device"
    PRODUCT = "product", "The coupon's post links to a product in the order"
    DISTRIBUTED = "distributed", "The coupon's posts, none linking to a product in the order"


WEIGHT_FIELD = {"max_digits": 7, "decimal_places": 6}


class VisitorIdentity(models.Model):
    """Visitor ids (of the click cookie) known to belong to one customer, learnt from orders whose
    clicks carried them. A customer's clicks from another device join their journey through it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    customer_key = models.CharField(max_length=80)
    visitor_id = models.CharField(max_length=40)
    first_seen_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "visitor identities"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "customer_key", "visitor_id"], name="visitoridentity_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_key} ~ {self.visitor_id}"


# Each model's columns on a touch row: its suffix, in the order the product lists the models.
MODEL_COLUMNS: dict[str, str] = {
    AttributionModel.FIRST_TOUCH: "first",
    AttributionModel.LAST_TOUCH: "last",
    AttributionModel.MULTI_TOUCH: "multi",
    AttributionModel.POSITION_BASED: "position",
    AttributionModel.TIME_DECAY: "decay",
    AttributionModel.DATA_DRIVEN: "data",
}
# What a touch row holds per model: `<figure>_<suffix>` (weight_first, gross_first, ...).
TOUCH_FIGURES = ("weight", "gross", "refunded", "revenue", "units")


def _derived_key(to, *, on_delete=models.CASCADE, related_name="+", **options):
    """A foreign key of a derived row (written only by the engine from rows it has just read, and
    rebuilt in full every night): no database constraint. A constraint costs an index probe per
    key and row, checked at commit: a million-order rebuild queued ninety million checks.
    Deletions still cascade, through Django's collector."""
    options.setdefault("db_index", False)
    return models.ForeignKey(
        to, on_delete=on_delete, related_name=related_name, db_constraint=False, **options
    )


def _nullable_key(to, **options):
    return _derived_key(to, null=True, blank=True, **options)


class AttributionTouch(models.Model):
    """The stored fact of attribution: one touch of an order's journey, with what every model
    credits it in columns (`weight_<model>`, `gross_<model>`, `refunded_<model>`,
    `revenue_<model>`, `units_<model>`; see MODEL_COLUMNS). A model the workspace does not
    compute stays null.

    One row per touch instead of one per touch and model: a rebuild writes a sixth of the rows
    (docs/architecture.md, "Attribution storage"). `RevenueAttribution` is its per-model
    projection, the documented shape the API, the admin and the pages read.
    Per model, an order's weights sum to 1 and its gross, refunded and revenue figures sum to the
    order's; revenue is gross less refunded.
    """

    workspace = _derived_key(Workspace)
    order = _derived_key("commerce.CommerceOrder", related_name="touches")
    position = models.PositiveSmallIntegerField(help_text="The touch's place in the journey.")
    post = _nullable_key(Post)
    campaign = _nullable_key("omnisocial.Campaign", on_delete=models.SET_NULL)
    platform = models.CharField(max_length=16, blank=True, default="")
    click = _nullable_key(Click, on_delete=models.SET_NULL, db_index=True)
    touched_at = models.DateTimeField()
    matched_field = models.CharField(max_length=16, choices=MatchedField.choices)
    matched_value = models.CharField(max_length=200)
    reached = models.CharField(
        max_length=12, choices=Reach.choices, blank=True, default="",
        help_text="How the touch was reached (the order page explains it).",
    )  # fmt: skip
    currency = models.CharField(max_length=3)
    order_day = models.DateField(help_text="The order's day in the workspace's time zone.")
    data_fallback = models.BooleanField(
        default=False, help_text="Data-driven weights fell back to multi-touch: too little data."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="touch_unique"),
        ]
        indexes = [
            models.Index(fields=["workspace", "order_day"], name="touch_day"),
            models.Index(fields=["post", "order_day"], name="touch_post_day"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.position}"


for _suffix in MODEL_COLUMNS.values():
    AttributionTouch.add_to_class(
        f"weight_{_suffix}", models.DecimalField(**WEIGHT_FIELD, null=True)
    )
    for _figure in ("gross", "refunded", "revenue"):
        AttributionTouch.add_to_class(
            f"{_figure}_{_suffix}", models.DecimalField(max_digits=14, decimal_places=2, null=True)
        )
    AttributionTouch.add_to_class(
        f"units_{_suffix}", models.DecimalField(max_digits=12, decimal_places=6, null=True)
    )


class RefundTouch(models.Model):
    """A refund split by the order's weights, one row per (refund, touch) with every model's part
    in columns (`amount_<model>`), booked on the refund's day: a dated event, so past days do not
    move when a refund arrives and the totals still net out. `RefundAttribution` is its
    per-model projection."""

    workspace = _derived_key(Workspace)
    order = _derived_key("commerce.CommerceOrder", db_index=True)
    refund = _derived_key("commerce.Refund")
    position = models.PositiveSmallIntegerField()
    post = _nullable_key(Post)
    campaign = _nullable_key("omnisocial.Campaign", on_delete=models.SET_NULL)
    platform = models.CharField(max_length=16, blank=True, default="")
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["refund", "position"], name="refundtouch_unique"),
        ]
        indexes = [models.Index(fields=["workspace", "day"], name="refundtouch_day")]

    def __str__(self) -> str:
        return f"refund {self.refund_id}#{self.position}"


for _suffix in MODEL_COLUMNS.values():
    RefundTouch.add_to_class(
        f"amount_{_suffix}", models.DecimalField(max_digits=14, decimal_places=2, null=True)
    )


def _projected_key(to, **options):
    """A key of a projection (a database view): deleting what it points at deletes the touch
    rows underneath (their own keys cascade); Django never writes to the view."""
    return models.ForeignKey(
        to, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, **options
    )


class RevenueAttribution(models.Model):
    """One touch of an order's journey under one model, with the revenue it is credited: the
    documented row (attributionModel, attributionWeight, revenue, matchedField, matchedValue).

    A read-only projection of `AttributionTouch` (a database view, one branch per model; see
    migration 0011): the engine writes touch rows, everything else reads these. `revenue` is net
    of refunds (`gross_revenue` - `refunded`); each of the three sums exactly to the order's
    figure across the order's rows of one model.
    """

    id = models.BigIntegerField(primary_key=True, help_text="The touch's id * 8 + the model's.")
    workspace = _projected_key(Workspace, related_name="+")
    order = _projected_key("commerce.CommerceOrder", related_name="attributions")
    attribution_model = models.CharField(max_length=16, choices=AttributionModel.choices)
    position = models.PositiveSmallIntegerField(help_text="The touch's place in the journey.")
    post = _projected_key(Post, null=True, blank=True, related_name="attributions")
    campaign = _projected_key("omnisocial.Campaign", null=True, blank=True, related_name="+")
    platform = models.CharField(max_length=16, blank=True, default="")
    click = _projected_key(Click, null=True, blank=True, related_name="+")
    touched_at = models.DateTimeField()
    matched_field = models.CharField(max_length=16, choices=MatchedField.choices)
    matched_value = models.CharField(max_length=200)
    attribution_weight = models.DecimalField(**WEIGHT_FIELD)
    currency = models.CharField(max_length=3)
    gross_revenue = models.DecimalField(max_digits=14, decimal_places=2)
    refunded = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2)
    units = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    order_day = models.DateField(help_text="The order's day in the workspace's time zone.")
    is_fallback = models.BooleanField(
        default=False, help_text="Data-driven weights fell back to multi-touch: too little data."
    )

    class Meta:
        managed = False
        db_table = "attribution_revenueattribution"
        ordering = ["order_id", "attribution_model", "position"]  # by column: no join

    def __str__(self) -> str:
        return f"{self.attribution_model} {self.order_id}#{self.position}: {self.revenue}"


class RefundAttribution(models.Model):
    """A refund's part credited back from one touch under one model, on the refund's day. A
    read-only projection of `RefundTouch` (a database view, like RevenueAttribution)."""

    id = models.BigIntegerField(primary_key=True, help_text="The refund touch's id * 8 + model.")
    workspace = _projected_key(Workspace, related_name="+")
    order = _projected_key("commerce.CommerceOrder", related_name="+")
    refund = _projected_key("commerce.Refund", related_name="+")
    attribution_model = models.CharField(max_length=16, choices=AttributionModel.choices)
    position = models.PositiveSmallIntegerField()
    post = _projected_key(Post, null=True, blank=True, related_name="+")
    campaign = _projected_key("omnisocial.Campaign", null=True, blank=True, related_name="+")
    platform = models.CharField(max_length=16, blank=True, default="")
    day = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        managed = False
        db_table = "attribution_refundattribution"

    def __str__(self) -> str:
        return f"refund {self.refund_id} {self.attribution_model}#{self.position}: {self.amount}"


CREDITED_ORDERS_HELP = (
    "Credited orders: the sum of the touches' weights (fractional under fractional models); an "
    "order that is cancelled or fully refunded credits none."
)


class PostRevenue(models.Model):
    """Per post and model: the spec's figures, kept equal to the raw attribution rows."""

    # Derived rows, rebuilt in full: keys without database constraints (see _derived_key).
    workspace = _derived_key(Workspace)
    post = _derived_key(Post, related_name="revenue")
    attribution_model = models.CharField(max_length=16, choices=AttributionModel.choices)
    total_revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total_orders = models.DecimalField(
        max_digits=16, decimal_places=6, default=0, help_text=CREDITED_ORDERS_HELP
    )
    total_units = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    avg_order_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    unique_clicks = models.PositiveIntegerField(default=0)
    conversion_rate = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    roas = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "post revenue"
        constraints = [
            models.UniqueConstraint(
                fields=["post", "attribution_model"], name="postrevenue_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "attribution_model", "-total_revenue"], name="pr_rank"
            )
        ]

    def __str__(self) -> str:
        return f"{self.post_id} {self.attribution_model}: {self.total_revenue}"


class DailyRevenueCell(models.Model):
    """The stored DailyRevenue: one row per cell (day in the workspace's time zone, platform,
    campaign, post or platform-only) with every model's revenue, credited orders and units in
    columns (`revenue_<suffix>`, `orders_<suffix>`, `units_<suffix>`; see MODEL_COLUMNS), null
    for a model without rows in the cell. A rebuild writes a sixth of the rows it would write one
    per model; `DailyRevenue` is its per-model projection, what every reader reads."""

    # No single-column index where a composite one below starts with the column: each costs on
    # every write, and a stale one lures the planner into ANDing bitmaps of a million entries.
    # Derived rows, rebuilt in full: keys without database constraints (see _derived_key).
    workspace = _derived_key(Workspace)
    day = models.DateField()
    platform = models.CharField(max_length=16, blank=True, default="")
    # A deleted campaign leaves its posts' revenue in place, as the attribution rows do (the
    # index finds its rows to clear).
    campaign = _nullable_key("omnisocial.Campaign", on_delete=models.SET_NULL, db_index=True)
    post = _nullable_key(Post)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "day"], name="drc_day"),
            models.Index(fields=["post", "day"], name="drc_post_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.platform} {self.post_id}"


# What a cell holds per model, with its places: `<figure>_<suffix>`.
CELL_FIGURES = {
    "revenue": {"max_digits": 14, "decimal_places": 2},
    "orders": {"max_digits": 16, "decimal_places": 6},
    "units": {"max_digits": 14, "decimal_places": 2},
}
for _suffix in MODEL_COLUMNS.values():
    for _figure, _places in CELL_FIGURES.items():
        DailyRevenueCell.add_to_class(
            f"{_figure}_{_suffix}", models.DecimalField(**_places, null=True)
        )


class DailyRevenue(models.Model):
    """Revenue per day (workspace time zone), platform, campaign, post and model: sales on the
    order's day, refunds (negative) on the refund's day.

    A read-only projection of `DailyRevenueCell` (a database view, one branch per model; see
    migration 0014): the rollups write cells, everything else reads these."""

    id = models.BigIntegerField(primary_key=True, help_text="The cell's id * 8 + the model's.")
    workspace = _projected_key(Workspace, related_name="+")
    attribution_model = models.CharField(max_length=16, choices=AttributionModel.choices)
    day = models.DateField()
    platform = models.CharField(max_length=16, blank=True, default="")
    campaign = _projected_key("omnisocial.Campaign", null=True, blank=True, related_name="+")
    post = _projected_key(Post, null=True, blank=True, related_name="+")
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    orders = models.DecimalField(
        max_digits=16, decimal_places=6, default=0, help_text=CREDITED_ORDERS_HELP
    )
    units = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        managed = False
        db_table = "attribution_dailyrevenue"
        verbose_name_plural = "daily revenue"

    def __str__(self) -> str:
        return f"{self.day} {self.platform} {self.post_id} {self.attribution_model}: {self.revenue}"


class DailyTotals(models.Model):
    """Revenue and credited orders per day (workspace time zone) and model: over the whole
    workspace, per platform, per campaign, and per platform and campaign. Sales count on the
    order's day and refunds (negative) on the refund's day, as in DailyRevenue, whose cells
    these equal when summed.

    Summing DailyRevenue's post-level cells for a month reads hundreds of thousands of rows; the
    dashboard reads the one cell of its filters per day here instead. Credited orders are sums
    of weights, so cells and days add up. `grouping` says which of platform and campaign a row is
    cut by (bits: 1 platform, 2 campaign); the columns it is not cut by hold '' and 0, so every row
    has a non-null key and upserts can add to it.
    """

    ALL, PLATFORM, CAMPAIGN = 0, 1, 2

    workspace = _derived_key(Workspace)
    attribution_model = models.CharField(max_length=16, choices=AttributionModel.choices)
    day = models.DateField()
    grouping = models.PositiveSmallIntegerField()
    platform = models.CharField(max_length=16, blank=True, default="")
    campaign_key = models.PositiveBigIntegerField(
        default=0, help_text="The campaign's id in rows cut by campaign, else 0."
    )
    orders = models.DecimalField(
        max_digits=16, decimal_places=6, default=0, help_text=CREDITED_ORDERS_HELP
    )
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        verbose_name_plural = "daily totals"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "workspace", "attribution_model", "day", "grouping", "platform",
                    "campaign_key",
                ],
                name="dailytotals_cell",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.day} {self.attribution_model} g{self.grouping}: {self.orders}"

    @classmethod
    def grouping_of(cls, *, platform: str, campaign_id: int | None) -> int:
        return (cls.PLATFORM if platform else 0) | (cls.CAMPAIGN if campaign_id else 0)


class DailyClicks(models.Model):
    """Unique human clicks per post and day (workspace time zone), for clicks up to the
    workspace's `AttributionState.clicks_rolled_up_to` (a click id). Readers add the few clicks
    past that mark from the raw table, so the figure is exact at every moment while the click
    redirect itself stays one INSERT."""

    workspace = _derived_key(Workspace)
    post = _derived_key(Post)
    day = models.DateField()
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily clicks"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day", "post"], name="dailyclicks_cell"),
        ]
        indexes = [
            # Covering on PostgreSQL: a post's clicks are summed on every attributed order, from
            # the index alone rather than a heap page per day.
            models.Index(
                fields=["post", "day"], include=["clicks", "workspace"], name="dc_post_day_clicks"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.post_id}: {self.clicks}"


def credited_key(post_id: int | None, campaign_id: int | None, platform: str):
    """What the data-driven model credits a touch as: its post, else its campaign, else its
    platform (`JourneyTouch.key`, `RemovalEffect.key`)."""
    if post_id is not None:
        return post_id
    if campaign_id is not None:
        return ("campaign", campaign_id)
    return ("platform", platform)


def key_columns(key) -> tuple[int | None, int | None, str]:
    """(post_id, campaign_id, platform) of a credited key: `credited_key` read backwards."""
    if isinstance(key, int):
        return key, None, ""
    if key[0] == "campaign":
        return None, key[1], ""
    return None, None, key[1]


class RemovalEffect(models.Model):
    """What data-driven credit weighs a touch by: the removal effect of what the touch credits
    (`JourneyTouch.key`: its post, else its campaign, else its platform), from the workspace's
    last full recalculation (attribution.markov). A post's row has `post` set; a campaign's has
    `campaign` and no post; a platform's has neither. The rows are replaced whole by each full
    recalculation; none at all means data-driven credit falls back to multi-touch."""

    workspace = _derived_key(Workspace)
    post = _nullable_key(Post)
    campaign = _nullable_key("omnisocial.Campaign")
    platform = models.CharField(max_length=16, blank=True, default="")
    effect = models.FloatField(
        help_text="The share of conversions lost when this key is removed from every path."
    )

    class Meta:
        indexes = [models.Index(fields=["workspace", "post"], name="removaleffect_post")]

    def __str__(self) -> str:
        return f"{self.key}: {self.effect}"

    @property
    def key(self):
        return credited_key(self.post_id, self.campaign_id, self.platform)


class DeferredOrder(models.Model):
    """An order whose live attribution waited for a rebuild of its workspace to end
    (attribution.engine.writers): the rebuild attributes it once it has committed, and the
    five-minute safety net does if the rebuild's process died first."""

    workspace = _derived_key(Workspace, db_index=True)
    order = _derived_key("commerce.CommerceOrder", related_name="+")
    deferred_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order"], name="deferredorder_unique")]

    def __str__(self) -> str:
        return f"order {self.order_id} deferred at {self.deferred_at}"


class AttributionState(models.Model):
    """Per workspace: how many converting journeys the removal effects (`RemovalEffect`) were
    learnt from, and the recalculation watermarks."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="attribution_state"
    )
    converting_journeys = models.PositiveIntegerField(default=0)
    full_run_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="Held by a running recalculation (one at a time)."
    )
    incremental_run_at = models.DateTimeField(null=True, blank=True)
    clicks_rolled_up_to = models.PositiveBigIntegerField(
        default=0, help_text="DailyClicks holds every click with an id up to this one."
    )
    clicks_seen_up_to = models.PositiveBigIntegerField(
        default=0, help_text="The highest click id the last roll-up saw (the next one's end)."
    )
    clicks_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last roll-up saw clicks_seen_up_to."
    )

    def __str__(self) -> str:
        return f"attribution state of {self.workspace}"


class Recalculation(models.Model):
    """A recalculation asked for through the API: queued, then run by a worker, with what it
    did or why it did not. The nightly schedule and the command do not record one."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        BUSY = "busy", "Skipped: another recalculation of the workspace was running"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    requested_by = models.CharField(max_length=200, blank=True, default="")
    since = models.DateField(null=True, blank=True, help_text="Only orders from this day on.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    orders = models.PositiveIntegerField(null=True, blank=True)
    attributions = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="recalc_recent")]

    def __str__(self) -> str:
        return f"recalculation {self.pk} of {self.workspace_id}: {self.status}"
