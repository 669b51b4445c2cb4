"""Revenue KPIs (targets over a period) and the alerts raised about them and about outliers."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from attribution.models import AttributionModel
from omnisocial.instants import DAY_RANGE_MESSAGE, EARLIEST_DAY, LATEST_DAY, day_in_range
from omnisocial.models import Campaign, Platform, Post, Workspace
from omnisocial.money import MONEY_FIELD

RATIO_FIELD = {"max_digits": 5, "decimal_places": 2}

# Projected revenue at or above 110% of the target is "on track to exceed", below 90% "falling
# behind": a ±10% band keeps ordinary day-to-day noise of a run rate inside "on track".
DEFAULT_EXCEED_RATIO = Decimal("1.10")
DEFAULT_BEHIND_RATIO = Decimal("0.90")


class KpiState(models.TextChoices):
    ON_TRACK_TO_EXCEED = "on_track_to_exceed", "On track to exceed"
    ON_TRACK = "on_track", "On track"
    FALLING_BEHIND = "falling_behind", "Falling behind"


class RevenueKPI(models.Model):
    """A revenue target for a period, for the whole workspace, a platform, a campaign or a post.

    The target is in the workspace's reporting currency, like the rollups it is compared with.
    `state` and `state_period_start` remember the last conclusive state of the current period, so
    an evaluation can tell a transition (which raises an alert) from a state that merely persists.
    """

    class Scope(models.TextChoices):
        WORKSPACE = "workspace", "Whole workspace"
        PLATFORM = "platform", "Platform"
        CAMPAIGN = "campaign", "Campaign"
        POST = "post", "Post"

    class Period(models.TextChoices):
        WEEK = "week", "Every week (Monday to Sunday)"
        MONTH = "month", "Every month"
        QUARTER = "quarter", "Every quarter"
        CUSTOM = "custom", "Date range"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="kpis")
    name = models.CharField(max_length=120)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.WORKSPACE)
    platform = models.CharField(max_length=16, choices=Platform.choices, blank=True, default="")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="kpis"
    )
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="kpis"
    )
    target = models.DecimalField(**MONEY_FIELD, validators=[MinValueValidator(Decimal("0.01"))])
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    start_date = models.DateField(null=True, blank=True, help_text="First day of a date range.")
    end_date = models.DateField(null=True, blank=True, help_text="Last day of a date range.")
    attribution_model = models.CharField(
        max_length=16,
        choices=AttributionModel.choices,
        blank=True,
        default="",
        help_text="Blank: the workspace's default attribution model.",
    )
    exceed_ratio = models.DecimalField(
        **RATIO_FIELD,
        default=DEFAULT_EXCEED_RATIO,
        help_text="Projected / target at or above this: on track to exceed.",
    )
    behind_ratio = models.DecimalField(
        **RATIO_FIELD,
        default=DEFAULT_BEHIND_RATIO,
        help_text="Projected / target below this: falling behind.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(max_length=20, choices=KpiState.choices, blank=True, default="")
    state_period_start = models.DateField(null=True, blank=True, editable=False)
    evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "revenue KPI"
        constraints = [
            models.CheckConstraint(condition=Q(target__gt=0), name="kpi_target_positive"),
            models.CheckConstraint(
                condition=Q(behind_ratio__gt=0) & Q(exceed_ratio__gt=models.F("behind_ratio")),
                name="kpi_ratios_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(period="custom")
                | (
                    Q(start_date__isnull=False)
                    & Q(end_date__isnull=False)
                    & Q(end_date__gte=models.F("start_date"))
                ),
                name="kpi_custom_period_has_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.scope == self.Scope.PLATFORM and not self.platform:
            errors["platform"] = "A platform KPI needs a platform."
        if self.scope == self.Scope.CAMPAIGN and self.campaign_id is None:
            errors["campaign"] = "A campaign KPI needs a campaign."
        if self.scope == self.Scope.POST and self.post_id is None:
            errors["post"] = "A post KPI needs a post."
        for field in ("campaign", "post"):
            related = getattr(self, field)
            if related is not None and related.workspace_id != self.workspace_id:
                errors[field] = f"No such {field} in this workspace."
        for field in ("start_date", "end_date"):
            day = getattr(self, field)
            if day is not None and not day_in_range(day):
                errors[field] = DAY_RANGE_MESSAGE
        if self.period == self.Period.CUSTOM and not errors.keys() & {"start_date", "end_date"}:
            if self.start_date is None or self.end_date is None:
                errors["start_date"] = "A date range needs a start and an end date."
            elif self.end_date < self.start_date:
                errors["end_date"] = "The range ends before it starts."
        ratios = (self.exceed_ratio, self.behind_ratio)
        if None not in ratios and (ratios[1] <= 0 or ratios[0] <= ratios[1]):
            errors["exceed_ratio"] = "The exceed ratio must be above the behind ratio (> 0)."
        if errors:
            raise ValidationError(errors)

    def dates_problem(self) -> str:
        """Why the KPI's period cannot be computed, "" when it can: a date range outside
        2000-01-01..2099-12-31 (a row stored before the dates were validated, or written around
        the model), which no period arithmetic survives."""
        if self.period != self.Period.CUSTOM:
            return ""
        days = (self.start_date, self.end_date)
        if None in days or not all(day_in_range(day) for day in days):
            start, end = (day.isoformat() if day else "none" for day in days)
            return (
                f"The KPI's date range ({start} to {end}) is outside {EARLIEST_DAY} to "
                f"{LATEST_DAY}: change its dates or delete it."
            )
        return ""

    @property
    def model_name(self) -> str:
        """The attribution model whose rollups this KPI reads."""
        return self.attribution_model or self.workspace.default_attribution_model

    @property
    def subject(self) -> str:
        if self.scope == self.Scope.PLATFORM:
            return self.get_platform_display()
        if self.scope == self.Scope.CAMPAIGN and self.campaign is not None:
            return self.campaign.name
        if self.scope == self.Scope.POST and self.post is not None:
            return str(self.post)
        return "Whole workspace"


class Alert(models.Model):
    """Something a marketer should look at, raised once (`dedupe_key` is unique per workspace)."""

    class Kind(models.TextChoices):
        KPI_AHEAD = "kpi_ahead", "KPI on track to exceed"
        KPI_BEHIND = "kpi_behind", "KPI falling behind"
        POST_OUTLIER_HIGH = "post_outlier_high", "Post over-performing"
        POST_OUTLIER_LOW = "post_outlier_low", "Post under-performing"
        CAMPAIGN_OUTLIER_HIGH = "campaign_outlier_high", "Campaign over-performing"
        CAMPAIGN_OUTLIER_LOW = "campaign_outlier_low", "Campaign under-performing"

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    title = models.CharField(max_length=200)
    message = models.TextField()
    figures = models.JSONField(
        default=dict, blank=True, help_text="The numbers behind the alert (amounts as strings)."
    )
    kpi = models.ForeignKey(
        RevenueKPI, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    dedupe_key = models.CharField(max_length=200)
    # Services pass the evaluation's `now`, so alerts raised under a controlled clock say when.
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "dedupe_key"], name="alert_unique_dedupe_key"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="alert_recent"),
            models.Index(fields=["workspace", "kind", "acknowledged_at"], name="alert_open"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None
