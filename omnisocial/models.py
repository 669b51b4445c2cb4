"""The shared core: workspaces (tenants), people, API keys, campaigns, posts and their metrics."""

import hashlib
import secrets
import zoneinfo
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from omnisocial.money import MONEY_FIELD, ZERO


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone such as Europe/Paris.")


def validate_currency(value: str) -> None:
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ValidationError(f"{value!r} is not a three-letter ISO 4217 code such as USD.")


class AttributionModel(models.TextChoices):
    """The documented names (first-touch, last-touch, multi-touch) and three more. Defined in the
    core, whose workspaces choose the models they keep; attribution computes them."""

    FIRST_TOUCH = "first-touch", "First touch"
    LAST_TOUCH = "last-touch", "Last touch"
    MULTI_TOUCH = "multi-touch", "Multi-touch (linear)"
    POSITION_BASED = "position-based", "Position-based (40/20/40)"
    TIME_DECAY = "time-decay", "Time decay (7-day half-life)"
    DATA_DRIVEN = "data-driven", "Data-driven (Markov)"


def all_attribution_models() -> list[str]:
    return list(AttributionModel.values)


class Platform(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    FACEBOOK = "facebook", "Facebook"
    TIKTOK = "tiktok", "TikTok"


class Workspace(models.Model):
    """A tenant: one brand's posts, stores, orders and reports. Nothing crosses workspaces."""

    class RevenueBasis(models.TextChoices):
        TOTAL = "total", "Order total"
        NET = "net", "Net of tax and shipping"

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    reporting_currency = models.CharField(
        max_length=3, default="USD", validators=[validate_currency]
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # 30 days is the common default of ad platforms' click windows and covers most consideration
    # cycles of social shoppers; longer windows over-credit old posts.
    lookback_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    revenue_basis = models.CharField(
        max_length=8, choices=RevenueBasis.choices, default=RevenueBasis.TOTAL
    )
    utm_medium = models.CharField(max_length=40, default="social")
    attribution_models = models.JSONField(
        default=all_attribution_models,
        help_text="The attribution models computed for this workspace (all by default).",
    )
    default_attribution_model = models.CharField(max_length=16, default="last-touch")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lookback_days__gte=1) & Q(lookback_days__lte=365),
                name="workspace_lookback_days_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Membership(models.Model):
    class Role(models.TextChoices):
        """What a member may do (docs/security.md): a viewer reads every page, CSV and API
        answer; an analyst also creates and edits posts, links, coupons, campaigns, allowed
        domains, exchange rates, KPIs and alerts; an owner also connects stores and rotates their
        secrets, mints and revokes API keys and changes the workspace's settings."""

        OWNER = "owner", "Owner"
        ANALYST = "analyst", "Analyst"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ANALYST)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class ApiKey(models.Model):
    """A workspace's key for API clients. The secret is shown once; only its SHA-256 is kept.

    Keys are 32 random bytes, so a fast hash is enough: there is nothing to brute-force.
    """

    PREFIX_LENGTH = 8

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=80)
    scope = models.CharField(
        max_length=8, choices=Scope.choices, default=Scope.WRITE,
        help_text="read: GET only; write: what an analyst may do. No key manages keys, stores "
        "or settings: an owner signed in does.",
    )  # fmt: skip
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} (osk_{self.prefix}…)"

    @staticmethod
    def hash_secret(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str, str]:
        """Returns (raw key, prefix, hash); the raw key is `osk_<prefix>_<secret>`."""
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        raw_key = f"osk_{prefix}_{secrets.token_urlsafe(32)}"
        return raw_key, prefix, cls.hash_secret(raw_key)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Invitation(models.Model):
    """An owner's invitation of an email address into a workspace, with a role.

    The link carries a random token of which only the SHA-256 is kept, as for API keys: 32
    random bytes leave nothing to brute-force, and the table cannot be read back into working
    links. A link works until `expires_at` (settings.INVITATION_DAYS after it was sent) and once:
    accepting stamps `accepted_at`, revoking (or inviting the same address again) `revoked_at`.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(help_text="Stored lower-cased, as accounts' usernames are.")
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.ANALYST
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open invitation per address and workspace: inviting again replaces it.
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace} ({self.role})"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str]:
        """Returns (token, hash); the token goes into the link and is never stored."""
        token = secrets.token_urlsafe(32)
        return token, cls.hash_token(token)

    def state(self, now) -> str:
        """pending, accepted, revoked or expired, at `now`."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "pending"


class Campaign(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="campaign_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # The slug is the links' utm_campaign, and orders bring UTM values back lower-cased.
        self.slug = self.slug.lower()
        super().save(*args, **kwargs)


class Post(models.Model):
    """A published social post. Its `reference` is the utm_content its links carry."""

    class ContentType(models.TextChoices):
        PRODUCT = "product", "Product"
        LIFESTYLE = "lifestyle", "Lifestyle"
        UGC = "ugc", "User-generated"
        PROMO = "promo", "Promotion"
        EDUCATIONAL = "educational", "Educational"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="posts")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    external_id = models.CharField(
        max_length=100, blank=True, default="",
        help_text="The platform's id of the post (Instagram media id, Facebook page post id "
        "<page>_<post>, TikTok video id): the platforms' metrics join to posts by it.",
    )  # fmt: skip
    thumbnail_url = models.URLField(
        max_length=2000, blank=True, default="",
        help_text="The post's picture as the platform gives it (Meta's sync fills it).",
    )  # fmt: skip
    reference = models.CharField(
        max_length=100,
        blank=True,
        help_text="The utm_content value of this post's links. Generated when left blank.",
    )
    caption = models.TextField(blank=True, default="")
    link_url = models.URLField(max_length=2000, blank=True, default="")
    content_type = models.CharField(
        max_length=16, choices=ContentType.choices, default=ContentType.PRODUCT
    )
    published_at = models.DateTimeField(null=True, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    boosted_spend = models.DecimalField(**MONEY_FIELD, default=ZERO)
    boosted_currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(boosted_spend__gte=0), name="post_spend_not_negative"
            ),
            models.UniqueConstraint(
                fields=["workspace", "reference"],
                condition=~Q(reference=""),
                name="post_unique_reference",
            ),
            models.UniqueConstraint(
                fields=["workspace", "platform", "external_id"],
                condition=~Q(external_id=""),
                name="post_unique_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "published_at"]),
            # The dashboard's ROAS reads the boosted posts of a workspace on every request.
            models.Index(
                fields=["workspace"], condition=Q(boosted_spend__gt=0), name="post_boosted"
            ),
        ]

    def __str__(self) -> str:
        excerpt = (self.caption[:40] + "…") if len(self.caption) > 40 else self.caption
        return f"{self.get_platform_display()}: {excerpt or self.reference}"

    @property
    def is_boosted(self) -> bool:
        return self.boosted_spend > 0


class MetricsSource(models.TextChoices):
    """Where a day's figures of a post came from (the last writer of the row names it)."""

    META = "meta", "Meta"
    TIKTOK = "tiktok", "TikTok"
    CSV = "csv", "CSV import"
    API = "api", "API"
    MANUAL = "manual", "Entered by hand"


class PostMetrics(models.Model):
    """Daily figures the platform reports for a post (the day is in the workspace's time zone):
    the one source of impressions, reach, engagements, link clicks and ad spend (docs/metrics.md).

    `spend` is in the workspace's reporting currency, converted from `spend_currency` (the ad
    account's or the file's) at the day's rate, as orders are; `spend_original` keeps what the
    source said. One row per post and day: a later write from any source replaces the figures
    it brings and names itself in `source`; `fetched_at` is when the row last changed.
    """

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="metrics")
    day = models.DateField()
    impressions = models.PositiveIntegerField(default=0)
    reach = models.PositiveIntegerField(default=0)
    engagements = models.PositiveIntegerField(default=0)
    link_clicks = models.PositiveIntegerField(default=0)
    spend = models.DecimalField(**MONEY_FIELD, default=ZERO)
    spend_original = models.DecimalField(
        **MONEY_FIELD, default=ZERO, help_text="The spend as the source gave it, in spend_currency."
    )
    spend_currency = models.CharField(max_length=3, blank=True, default="")
    source = models.CharField(
        max_length=8, choices=MetricsSource.choices, default=MetricsSource.MANUAL
    )
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["post", "day"]
        verbose_name_plural = "post metrics"
        constraints = [
            models.UniqueConstraint(fields=["post", "day"], name="postmetrics_unique_day"),
            models.CheckConstraint(
                condition=Q(spend__gte=0), name="postmetrics_spend_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} on {self.day}"


# --- platform connections (Meta, TikTok): omnisocial/connections.py -----------------------------

from omnisocial.crypto import EncryptedTextField  # noqa: E402  (kept beside the models using it)


class ConnectionPlatform(models.TextChoices):
    META = "meta", "Meta (Facebook, Instagram, ads)"
    TIKTOK = "tiktok", "TikTok (Business API)"


class PlatformConnection(models.Model):
    """A workspace's authorisation to read one platform's figures: its OAuth access token
    (encrypted at rest, never shown) and the accounts picked for the sync. One per platform."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        RECONNECT = "reconnect", "Needs reconnecting"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="platform_connections"
    )
    platform = models.CharField(max_length=8, choices=ConnectionPlatform.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=500, blank=True, default="")
    access_token = EncryptedTextField(blank=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    external_user = models.CharField(
        max_length=200, blank=True, default="", help_text="Who authorised it on the platform."
    )
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(default=timezone.now)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # A run stopped by the platform's usage limits resumes after this.
    paused_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["platform"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "platform"], name="platformconnection_one_per_platform"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} of {self.workspace_id}"

    @property
    def token_expired(self) -> bool:
        return self.token_expires_at is not None and self.token_expires_at <= timezone.now()


class PlatformAccount(models.Model):
    """A page, Instagram professional account, ad account or advertiser the connection can read;
    only the picked ones (`selected`) are synced."""

    class Kind(models.TextChoices):
        PAGE = "page", "Facebook Page"
        INSTAGRAM = "instagram", "Instagram professional account"
        AD_ACCOUNT = "ad_account", "Meta ad account"
        ADVERTISER = "advertiser", "TikTok advertiser account"

    connection = models.ForeignKey(
        PlatformConnection, on_delete=models.CASCADE, related_name="accounts"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True, default="")
    currency = models.CharField(max_length=3, blank=True, default="")
    # A Facebook Page's own token (page insights are read with it); empty for the other kinds.
    page_token = EncryptedTextField(blank=True, default="")
    selected = models.BooleanField(default=False)

    class Meta:
        ordering = ["kind", "name", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "external_id"], name="platformaccount_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name or self.external_id}"


class PlatformSync(models.Model):
    """One run of a connection's sync: the backfill on connecting or the daily run. Its
    problems (`issues`) are shown on the Connections page per account and day."""

    class Kind(models.TextChoices):
        BACKFILL = "backfill", "Backfill"
        DAILY = "daily", "Daily"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        PARTIAL = "partial", "Done with problems"
        PAUSED = "paused", "Paused by the platform's limits"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(
        PlatformConnection, on_delete=models.CASCADE, related_name="syncs"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    since = models.DateField()
    until = models.DateField()
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_unmatched = models.PositiveIntegerField(
        default=0, help_text="Platform rows of objects that no post's platform post id names."
    )
    # The first day not yet written: a run paused by the platform's limits resumes from it.
    next_day = models.DateField(null=True, blank=True)
    message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.since}..{self.until} ({self.status})"


class PlatformSyncIssue(models.Model):
    """Something a sync could not read or store, for one account (and day, when it is one day's),
    so no failure is silently skipped."""

    sync = models.ForeignKey(PlatformSync, on_delete=models.CASCADE, related_name="issues")
    account = models.ForeignKey(
        PlatformAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    day = models.DateField(null=True, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.message


class OrganicTotal(models.Model):
    """A post's lifetime organic figures as the platform gave them at the end of a day (Instagram
    media and Facebook post insights are lifetime totals, not daily): a day's organic figures
    are its total less the previous one read."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="organic_totals")
    day = models.DateField()
    # None: the platform did not give the figure that day (a metric its API version dropped).
    impressions = models.PositiveBigIntegerField(null=True, blank=True)
    reach = models.PositiveBigIntegerField(null=True, blank=True)
    engagements = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["post", "day"]
        constraints = [
            models.UniqueConstraint(fields=["post", "day"], name="organictotal_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} through {self.day}"
