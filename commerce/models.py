"""Stores, the webhook inbox, orders with their lines and refunds, coupons and exchange rates."""

import base64
import secrets
from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from omnisocial.crypto import EncryptedTextField
from omnisocial.models import Campaign, Post, Workspace, validate_currency
from omnisocial.money import MONEY_FIELD, ZERO, round_money


class StorePlatform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    CUSTOM = "custom", "Custom store"


def custom_store_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class StoreConnection(models.Model):
    """A store that sends its orders to us by signed webhooks.

    The webhook secret is the one the store signs with: Shopify's app client secret, the
    WooCommerce webhook secret, or one we generate for a custom store. After a rotation the
    previous secret stays valid until `previous_secret_expires_at`, because the platforms keep
    signing in-flight retries with the old one for a while.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="stores")
    platform = models.CharField(max_length=16, choices=StorePlatform.choices)
    name = models.CharField(max_length=120, blank=True, default="")
    shop_domain = models.CharField(
        max_length=255, help_text="e.g. my-shop.myshopify.com or shop.example.com"
    )
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    webhook_secret = models.CharField(max_length=255)
    previous_webhook_secret = models.CharField(max_length=255, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The store's own API, for its order history and the missed-webhook sync. WooCommerce: the
    # site's URL as connected (https; the REST API lives under it) and a consumer key and
    # secret; Shopify: an Admin API access token. Secrets are encrypted at rest and never shown.
    store_url = models.CharField(max_length=300, blank=True, default="")
    api_key = EncryptedTextField(blank=True, default="")
    api_secret = EncryptedTextField(blank=True, default="")
    # The platform's last refusal of those credentials (revoked token, wrong key), shown on the
    # store page with what to do; cleared by the next call that succeeds.
    api_error = models.TextField(blank=True, default="")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_filled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["workspace", "shop_domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "platform", "shop_domain"], name="store_unique_domain"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.shop_domain} ({self.get_platform_display()})"

    def valid_secrets(self, *, now=None) -> list[str]:
        """The secrets a delivery may be signed with right now, the current one first."""
        now = now or timezone.now()
        found = [self.webhook_secret]
        if (
            self.previous_webhook_secret
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > now
        ):
            found.append(self.previous_webhook_secret)
        return found


class StoreImport(models.Model):
    """An import of a store's orders from its own API: its history (`history`, on connecting
    or on demand) or the orders changed since the last sync (`sync`, the missed-webhook
    schedule). A worker runs it a page at a time and saves its cursor after each page, so a
    restarted worker resumes where it stopped; the store page shows its progress."""

    class Kind(models.TextChoices):
        HISTORY = "history", "Order history"
        SYNC = "sync", "Missed-webhook sync"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    store = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="imports")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.HISTORY)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    since = models.DateTimeField(help_text="Orders created (history) or updated (sync) from then.")
    cursor = models.TextField(blank=True, default="", help_text="Where the next page starts.")
    pages = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0, help_text="Orders read so far.")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True, help_text="When the API says.")
    error = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["store", "-requested_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.store}: {self.status}"


class StoreProbe(models.Model):
    """A test delivery sent to a store's webhook URL (commerce/probe.py) and its verdict.

    It is sent by the worker, never in the web request (a slow or dead URL must not hold a web
    worker); the store page shows the last one and follows it until it has a verdict. The
    verdict is the product's own sentence: the far end's body is never kept or shown.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", "Sending"
        WORKS = "works", "Works"
        FAILED = "failed", "Failed"

    store = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="probes")
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.PENDING)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    verdict = models.CharField(max_length=400, blank=True, default="")
    delivery_id = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["store", "-requested_at"])]

    def __str__(self) -> str:
        return f"{self.store} test delivery at {self.requested_at:%Y-%m-%d %H:%M}"


class WebhookDelivery(models.Model):
    """The inbox: every request a store's webhook URL receives, kept as it arrived.

    The raw body of a verified delivery is kept byte for byte (the signature covers those
    bytes), so it can be verified again and replayed after a fix. Of a delivery that fails
    verification only the first UNVERIFIED_BODY_KEPT bytes are kept (`body_truncated`): anybody
    can send those, and it is never replayed. `event_key` is what identifies the event across
    re-deliveries (Shopify's event id, WooCommerce's order id and modification time, the
    Standard Webhooks message id).
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        DUPLICATE = "duplicate", "Duplicate"
        IGNORED = "ignored", "Ignored (topic not handled)"
        WAITING = "waiting", "Waiting for its order"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"

    # What is kept of the body of a delivery that fails verification (enough to see what it was).
    UNVERIFIED_BODY_KEPT = 4096

    # No single-column index on store: (store, event_key) and (store, received_at) start with it,
    # and every index costs on the webhook's one INSERT.
    # No database constraint either: checking it locks the store's row (FOR KEY SHARE) in every
    # delivery's transaction, and a burst of one store's deliveries queued on that one row. The
    # store is read just before the INSERT; deleting a store deletes its deliveries (Django's
    # collector).
    store = models.ForeignKey(
        StoreConnection, on_delete=models.CASCADE, related_name="deliveries", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    topic = models.CharField(max_length=80, blank=True, default="")
    delivery_id = models.CharField(max_length=120, blank=True, default="")
    event_key = models.CharField(max_length=200, blank=True, default="")
    order_external_id = models.CharField(max_length=64, blank=True, default="")
    raw_body = models.BinaryField()
    body_truncated = models.BooleanField(
        default=False,
        help_text="Only the body's first bytes were kept: the delivery failed verification.",
    )
    body_size = models.PositiveIntegerField(
        null=True, blank=True, help_text="The body's size as received, in bytes."
    )
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)
    verified = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    # No index: nothing reads deliveries by order except an order's deletion (the admin, rare),
    # which may then scan the inbox; the webhook's INSERT would pay for it on every delivery.
    order = models.ForeignKey(
        "CommerceOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )  # fmt: skip

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["store", "event_key"]),
            models.Index(fields=["store", "received_at"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self) -> str:
        return f"{self.topic or 'delivery'} {self.delivery_id or self.pk} ({self.status})"


class OrderStatus(models.TextChoices):
    """The one status an order is shown and filtered by, everywhere (pages, API, CSV): cancelled
    wins; else refunded when the refunds reach its total, partially refunded when there are
    some; else open."""

    OPEN = "open", "Open"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled"

    @classmethod
    def q(cls, status: str) -> Q:
        """The orders in `status`, as a queryset condition (the same rule as `of`)."""
        cancelled = Q(cancelled_at__isnull=False) | Q(status="cancelled")
        if status == cls.CANCELLED:
            return cancelled
        if status == cls.REFUNDED:
            return ~cancelled & Q(refunded_amount__gt=0, refunded_amount__gte=F("total_price"))
        if status == cls.PARTIALLY_REFUNDED:
            return ~cancelled & Q(refunded_amount__gt=0, refunded_amount__lt=F("total_price"))
        return ~cancelled & Q(refunded_amount=0)

    @classmethod
    def of(cls, order: "CommerceOrder") -> "OrderStatus":
        if order.is_cancelled:
            return cls.CANCELLED
        if order.refunded_amount > 0:
            return (
                cls.REFUNDED
                if order.refunded_amount >= order.total_price
                else (cls.PARTIALLY_REFUNDED)
            )
        return cls.OPEN


class CommerceOrder(models.Model):
    """An order as the store last described it, with the attribution signals it carried.

    Amounts are in the store's currency (`currency`); `exchange_rate` converts them to the
    workspace's reporting currency and is null when no rate is known (`is_converted` False):
    such an order is kept and shown, never counted 1:1.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CANCELLED = "cancelled", "Cancelled"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="orders")
    store = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=64)
    order_number = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(help_text="When the buyer placed the order.")
    updated_at_source = models.DateTimeField(
        help_text="The store's updated_at / date_modified of the version kept here."
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    attributed_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When the engine last attributed the order; at or after updated_at, the "
        "five-minute safety net skips it.",
    )  # fmt: skip

    currency = models.CharField(max_length=3)
    presentment_currency = models.CharField(max_length=3, blank=True, default="")
    total_price = models.DecimalField(**MONEY_FIELD)
    subtotal = models.DecimalField(**MONEY_FIELD, default=ZERO)
    total_tax = models.DecimalField(**MONEY_FIELD, default=ZERO)
    total_shipping = models.DecimalField(**MONEY_FIELD, default=ZERO)
    shipping_tax = models.DecimalField(
        **MONEY_FIELD, default=ZERO, db_default=ZERO,
        help_text="The shipping lines' tax (part of total_tax; part of total_shipping too when "
        "taxes_included).",
    )  # fmt: skip
    total_discounts = models.DecimalField(**MONEY_FIELD, default=ZERO)
    taxes_included = models.BooleanField(
        default=False,
        help_text="Prices include tax, shipping's too (Shopify's taxes_included; WooCommerce's "
        "amounts are before tax whatever prices_include_tax says).",
    )
    refunded_amount = models.DecimalField(**MONEY_FIELD, default=ZERO)
    financial_status = models.CharField(max_length=32, blank=True, default="")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    reporting_currency = models.CharField(max_length=3)
    exchange_rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    reporting_total = models.DecimalField(**MONEY_FIELD, null=True, blank=True)
    is_converted = models.BooleanField(default=False)

    # The documented attribution fields (utmSource ... landingPage), normalised.
    utm_source = models.CharField(max_length=200, blank=True, default="")
    utm_medium = models.CharField(max_length=200, blank=True, default="")
    utm_campaign = models.CharField(max_length=200, blank=True, default="")
    utm_content = models.CharField(max_length=200, blank=True, default="")
    utm_term = models.CharField(max_length=200, blank=True, default="")
    referrer_url = models.CharField(max_length=2000, blank=True, default="")
    landing_page = models.CharField(max_length=2000, blank=True, default="")
    osc_click = models.CharField(max_length=64, blank=True, default="")
    osc_clicks = models.JSONField(
        default=list, db_default=[], blank=True,
        help_text="Every click id the storefront snippet kept for the buyer (its osc_clicks).",
    )  # fmt: skip
    fbclid = models.CharField(max_length=255, blank=True, default="")
    gclid = models.CharField(max_length=255, blank=True, default="")
    ttclid = models.CharField(max_length=255, blank=True, default="")
    visitor_id = models.CharField(max_length=64, blank=True, default="")
    coupon_codes = models.JSONField(default=list, blank=True)

    # Who bought: never the plain email (see commerce.attribution_values.customer_key).
    customer_key = models.CharField(max_length=80, blank=True, default="")
    is_returning_customer = models.BooleanField(default=False)
    customer_tags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "order"
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="order_unique_per_store"),
            models.CheckConstraint(
                condition=Q(total_price__gte=0), name="order_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0), name="order_refunds_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "created_at"]),
            models.Index(fields=["workspace", "utm_content"]),
            models.Index(fields=["workspace", "utm_campaign"]),
            models.Index(fields=["workspace", "osc_click"]),
            models.Index(fields=["workspace", "visitor_id"]),
            models.Index(fields=["workspace", "customer_key"]),
            models.Index(fields=["store", "created_at"]),
            models.Index(fields=["store", "recorded_at"]),  # a store's last order
        ]

    def __str__(self) -> str:
        return f"Order {self.order_number or self.external_id} ({self.total_price} {self.currency})"

    @property
    def is_cancelled(self) -> bool:
        """Cancelled is known by cancelled_at, whatever the totals still say."""
        return self.cancelled_at is not None or self.status == self.Status.CANCELLED

    @property
    def order_status(self) -> OrderStatus:
        """What pages, the API and CSVs call the order's status (see OrderStatus)."""
        return OrderStatus.of(self)

    @property
    def has_attribution_signal(self) -> bool:
        return bool(
            self.utm_source
            or self.utm_campaign
            or self.utm_content
            or self.osc_click
            or self.fbclid
            or self.gclid
            or self.ttclid
            or self.coupon_codes
        )

    @property
    def shipping_before_tax(self) -> Decimal:
        """Shipping without its tax. A tax-inclusive order's shipping price holds its tax,
        which the order's total tax holds as well: merchandise takes that tax off once."""
        if self.taxes_included:
            return self.total_shipping - self.shipping_tax
        return self.total_shipping

    def revenue_in_store_currency(self, basis: str, *, net_of_refunds: bool = True) -> Decimal:
        """The order's revenue under a workspace revenue basis, in the store's currency:
        the total, or merchandise (the total less its tax and its shipping before tax)."""
        if self.is_cancelled:
            return ZERO
        amount = self.total_price
        if basis == Workspace.RevenueBasis.NET:
            amount = amount - self.total_tax - self.shipping_before_tax
        if net_of_refunds:
            amount -= self.refunded_amount
        return max(amount, ZERO)

    def attributable_revenue(
        self, basis: str | None = None, *, net_of_refunds: bool = True
    ) -> Decimal | None:
        """What the attribution engine splits between touchpoints, in the reporting currency.

        Per the workspace's revenue basis (the order total, or net of tax and shipping), net of
        refunds, zero when cancelled. None when the order has no exchange rate: unconverted
        orders are never counted 1:1. With `net_of_refunds=False` refunds are left for the
        caller to book as dated events (see `Refund.reporting_amount`).
        """
        if self.is_cancelled:
            return ZERO
        if self.exchange_rate is None:
            return None
        basis = basis or self.workspace.revenue_basis
        amount = self.revenue_in_store_currency(basis, net_of_refunds=net_of_refunds)
        return round_money(amount * self.exchange_rate, self.reporting_currency)


class OrderLine(models.Model):
    order = models.ForeignKey(CommerceOrder, on_delete=models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=64, blank=True, default="")
    product_id = models.CharField(max_length=64, blank=True, default="")
    variant_id = models.CharField(max_length=64, blank=True, default="")
    sku = models.CharField(max_length=120, blank=True, default="")
    title = models.CharField(max_length=300, blank=True, default="")
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(**MONEY_FIELD, default=ZERO)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title or self.sku}"


class Refund(models.Model):
    """A dated refund event, recorded once by its id whichever delivery brings it first."""

    order = models.ForeignKey(CommerceOrder, on_delete=models.CASCADE, related_name="refunds")
    external_id = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY_FIELD)
    units = models.PositiveIntegerField(
        default=0, help_text="Units returned, from the refund's line items (0 when not given)."
    )
    items_subtotal = models.DecimalField(
        **MONEY_FIELD, null=True, blank=True,
        help_text="The refunded line items' subtotal, when the store gives line items.",
    )  # fmt: skip
    items_tax = models.DecimalField(**MONEY_FIELD, default=ZERO)
    created_at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True, default="")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "external_id"], name="refund_unique_per_order"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.external_id}: {self.amount}"

    def amount_for(self, basis: str, *, taxes_included: bool) -> Decimal:
        """What the refund takes off the order's revenue under a revenue basis, in the store's
        currency: all of it for the order total; for merchandise, the refunded items net of tax
        (a refund of 24.00 of items plus 2.13 tax takes 24.00), or all of it when the store gave
        no line items (a refund of an amount only)."""
        if basis != Workspace.RevenueBasis.NET or self.items_subtotal is None:
            return self.amount
        items = self.items_subtotal - (self.items_tax if taxes_included else ZERO)
        return max(min(items, self.amount), ZERO)

    @property
    def reporting_amount(self) -> Decimal | None:
        """The refund in the reporting currency at the order's rate; None when unconverted."""
        if self.order.exchange_rate is None:
            return None
        return round_money(self.amount * self.order.exchange_rate, self.order.reporting_currency)


class Coupon(models.Model):
    """A discount code and the posts that distributed it.

    The code is kept as the marketer typed it (trimmed) and shown that way; it compares without
    case, since buyers type it in any case at checkout and stores send it back as they please
    (WooCommerce lower-cases it). So a workspace holds one code per spelling-without-case: a
    second "summer20" beside "Summer20" would be the same code, and is refused.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=100, help_text="As typed; matched to orders in any case.")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="coupons"
    )
    posts = models.ManyToManyField(Post, blank=True, related_name="coupons")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [Lower("code"), "pk"]
        constraints = [
            models.UniqueConstraint(
                "workspace",
                Lower("code"),
                name="coupon_unique_code_any_case",
                violation_error_code="code_taken",
                violation_error_message=(
                    "This workspace already has this coupon code, perhaps in another case: codes "
                    "match orders in any case, so SUMMER20 and summer20 are one code."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code = self.code.strip()
        super().save(*args, **kwargs)


def coupon_key(code: str) -> str:
    """A coupon code as orders' codes are matched to it: trimmed, without case. Python's
    lower-casing, which PostgreSQL's LOWER (the unique constraint's) agrees with; SQLite's LOWER
    folds ASCII letters only, so there two codes differing in the case of an accented letter
    are not refused as one."""
    return code.strip().lower()


class ExchangeRate(models.Model):
    """1 unit of `from_currency` = `rate` units of `to_currency` on `day`.

    A rate is either shared market data (`workspace` null: loaded by staff with
    `load_exchange_rates` or the admin) or a workspace's own (posted through its API), which
    converts only that workspace's orders and wins over a shared rate of the same day. A client
    can therefore never change what another workspace reports.
    """

    # An order uses the latest rate on or before its day, at most this stale (weekends, holidays).
    MAX_AGE = timedelta(days=7)

    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.CASCADE,
        related_name="exchange_rates",
        null=True,
        blank=True,
        help_text="Empty for a shared rate; else the only workspace whose orders it converts.",
    )
    day = models.DateField()
    from_currency = models.CharField(max_length=3, validators=[validate_currency])
    to_currency = models.CharField(max_length=3, validators=[validate_currency])
    rate = models.DecimalField(max_digits=20, decimal_places=10)

    class Meta:
        ordering = ["-day", "from_currency", "to_currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "from_currency", "to_currency"],
                condition=Q(workspace__isnull=True),
                name="exchangerate_unique_shared_day",
            ),
            models.UniqueConstraint(
                fields=["workspace", "day", "from_currency", "to_currency"],
                condition=Q(workspace__isnull=False),
                name="exchangerate_unique_workspace_day",
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_positive"),
        ]
        indexes = [models.Index(fields=["from_currency", "to_currency", "day"])]

    def __str__(self) -> str:
        return f"{self.day}: 1 {self.from_currency} = {self.rate} {self.to_currency}"
