"""The filters of every revenue read: `RevenueFilters` (a report's model, days, platform and
campaign, read the same way by every page and API endpoint) and `OrderFilter` (django-filter,
scoped to the request's workspace: the one filter GET /commerce/orders, the Orders page and its
CSV all read, with one spelling of each parameter).

Dates are the workspace's days; `range` takes the report presets (7d, 30d, this-month, ...)
and `from`/`to` given beside it win. `status` is the one order status (commerce.OrderStatus).
`platform`, `campaign`, `post` and `attributed` look at the order's RevenueAttribution rows
under `model` (the workspace's default model when absent) that carry credit (weight > 0), so an
order "from a post" means the same here as on the dashboard.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from attribution.models import AttributionModel, RevenueAttribution
from commerce.models import CommerceOrder, OrderStatus, StoreConnection
from omnisocial.instants import EARLIEST_DAY, LATEST_DAY
from omnisocial.models import Campaign, Platform, Post, Workspace
from omnisocial.params import IdChoiceFilter, is_id
from omnisocial.tenancy import scoped_choices as _scoped
from omnisocial.tenancy import workspace_for

DEFAULT_DAYS = 30
# Reports cover days in this span, at most MAX_DAYS at once: a range of centuries would walk
# millions of days (and its previous period would leave the calendar).
MAX_DAYS = 3660

# Date presets of `range`: (value, label). "Last N days" include today; any `<N>d` up to MAX_DAYS
# is read too, and `all` runs from the workspace's first order to today.
PRESETS = [
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("this-month", "This month"),
    ("last-month", "Last month"),
]
ALL_TIME = "all"
# What a report's figures are compared with: the period before, or the same days a year earlier.
COMPARISONS = {"previous": "Previous period", "year": "Same period last year"}


def preset_range(preset: str, today: date) -> tuple[date, date] | None:
    """The (from, to) days a preset names, or None for an unknown preset (`all` included: it
    depends on the workspace, see `RevenueFilters.from_params`)."""
    if preset.endswith("d") and preset[:-1].isdigit() and 0 < int(preset[:-1]) <= MAX_DAYS:
        return today - timedelta(days=int(preset[:-1]) - 1), today
    if preset == "this-month":
        return today.replace(day=1), today
    if preset == "last-month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last.replace(day=calendar.monthrange(last.year, last.month)[1])
    return None


def is_range(value: str) -> bool:
    """Whether `range` names a preset (any day will do: only the name is checked)."""
    return value == ALL_TIME or preset_range(value, date(2026, 1, 1)) is not None


def range_error(value: str) -> str:
    return (
        f"Unknown range {value!r}; use one of {', '.join(v for v, _ in PRESETS)}, <N>d or "
        f"{ALL_TIME}."
    )


def first_day(workspace: Workspace) -> date | None:
    """The workspace's first order day (its time zone), where `range=all` starts."""
    first = workspace.orders.order_by("created_at").values_list("created_at", flat=True).first()
    return None if first is None else timezone.localdate(first, workspace.zone)


@dataclass(frozen=True)
class RevenueFilters:
    """A report's scope: model, inclusive day range (workspace days), platform, campaign."""

    model: str
    start: date
    end: date
    platform: str = ""
    campaign_id: int | None = None
    today: date | None = None  # the workspace's today when the filters were read
    comparison: str = "previous"  # see COMPARISONS and `previous`
    # A rolling window (`<N>d`, the default 30 days) is compared with the same number of days
    # just before it, even when it happens to start on the 1st; see `previous`.
    rolling: bool = False

    @classmethod
    def from_params(cls, workspace: Workspace, params) -> RevenueFilters:
        """Reads `model`, `range`, `from`, `to`, `platform`, `campaign` (a query dict); raises
        ValidationError naming each bad parameter and the values it takes. Defaults: the
        workspace's model, the last 30 days up to today. `range` is a preset (7d, 30d, 90d,
        this-month, last-month, <N>d, all); `from` and `to` given beside it win over it."""
        errors = {}
        model = params.get("model") or workspace.default_attribution_model
        if model not in workspace.attribution_models:
            errors["model"] = (
                f"Unknown or disabled model {model!r}; use one of "
                f"{', '.join(workspace.attribution_models)}."
            )
        today = timezone.localdate(timezone=workspace.zone)
        start, end = today - timedelta(days=DEFAULT_DAYS - 1), today
        preset = (params.get("range") or "").strip()
        rolling = not preset or preset.endswith("d")
        if preset == ALL_TIME:
            start = min(first_day(workspace) or today, today)
            start = max(start, today - timedelta(days=MAX_DAYS - 1))
        elif preset:
            days = preset_range(preset, today)
            if days is None:
                errors["range"] = range_error(preset)
            else:
                start, end = days
        for name in ("from", "to"):
            value = params.get(name)
            if value:
                try:
                    parsed = date.fromisoformat(value)
                except ValueError:
                    errors[name] = f"{value!r} is not a date (YYYY-MM-DD)."
                    continue
                if not EARLIEST_DAY <= parsed <= LATEST_DAY:
                    errors[name] = f"Dates run from {EARLIEST_DAY} to {LATEST_DAY}."
                    continue
                start, end = (parsed, end) if name == "from" else (start, parsed)
                rolling = False
        if start > end and not errors:
            errors["to"] = "The range ends before it starts."
        elif (end - start).days >= MAX_DAYS and not errors:
            errors["to"] = f"A report covers at most {MAX_DAYS} days."
        platform = params.get("platform") or ""
        if platform and platform not in Platform.values:
            errors["platform"] = f"Unknown platform; use one of {', '.join(Platform.values)}."
        campaign_id = None
        campaign = params.get("campaign")
        if campaign:
            found = workspace.campaigns.filter(
                Q(slug=campaign) | Q(pk=int(campaign) if is_id(campaign) else None)
            ).first()
            if found is None:
                errors["campaign"] = f"No campaign {campaign!r} in this workspace."
            else:
                campaign_id = found.pk
        comparison = params.get("comparison") or "previous"
        if comparison not in COMPARISONS:
            errors["comparison"] = f"Unknown comparison; use one of {', '.join(COMPARISONS)}."
        if errors:
            raise ValidationError(errors)
        return cls(model, start, end, platform, campaign_id, today, comparison, rolling)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def counted_through(self) -> date:
        """The last day whose events a figure can hold: the range's end, or today when the range
        reaches past it (no sale or refund is dated in the future)."""
        return min(self.end, self.today) if self.today else self.end

    def previous(self) -> RevenueFilters:
        """The period these figures are compared with. `comparison=year`: the same days a year
        earlier (Feb 29 becomes Feb 28). Otherwise the period before: a rolling window (`7d`,
        `30d`, the default) with the same number of days just before it (Dec 1-7 with Nov 24-30,
        even though it starts on the 1st); a whole calendar month with the whole month before; a
        month to date (from the 1st) with the same days of the month before (Dec 1-3 with Nov
        1-3; Mar 1-30 with Feb 1-28); and any other range with the days of the same number just
        before it."""
        if self.comparison == "year":
            return replace(self, start=_year_before(self.start), end=_year_before(self.end))
        start, end = self.start, self.end
        same_month = (end.year, end.month) == (start.year, start.month)
        if not self.rolling and start.day == 1 and same_month:
            before = start - timedelta(1)  # the last day of the month before
            if end.day == calendar.monthrange(end.year, end.month)[1]:
                return replace(self, start=before.replace(day=1), end=before)
            return replace(self, start=before.replace(day=1), end=before.replace(
                day=min(end.day, before.day)))  # fmt: skip
        return replace(self, start=start - timedelta(self.days), end=start - timedelta(1))

    def instants(self, workspace: Workspace) -> tuple[datetime, datetime]:
        """The range as aware instants: [start 00:00, day after end 00:00) in the workspace."""
        zone = workspace.zone
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(1), time.min, tzinfo=zone),
        )


class OrderFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        preset = (self.data.get("range") or "").strip()
        if preset and not is_range(preset):
            # The message quotes the client's text: it travels as a parameter, so a "%" in it
            # is never read as a format directive when the error is rendered.
            self.add_error(
                "range", ValidationError("%(message)s", params={"message": range_error(preset)})
            )
        start, end = data.get("from"), data.get("to")
        if start and end and end < start:
            self.add_error("to", "The range ends before it starts.")
        low, high = data.get("minAmount"), data.get("maxAmount")
        if low is not None and high is not None and high < low:
            self.add_error("maxAmount", "maxAmount is below minAmount.")
        return data


class OrderFilter(django_filters.FilterSet):
    model = django_filters.ChoiceFilter(
        choices=AttributionModel.choices, method="_noop",
        help_text="Attribution model of the rows shown and filtered on; default: the workspace's.",
    )  # fmt: skip
    from_ = django_filters.DateFilter(
        field_name="created_at", method="_from", label="from",
        help_text="First day (YYYY-MM-DD, the workspace's time zone), inclusive.",
    )  # fmt: skip
    to = django_filters.DateFilter(
        field_name="created_at", method="_to",
        help_text="Last day (YYYY-MM-DD, the workspace's time zone), inclusive.",
    )  # fmt: skip
    range = django_filters.CharFilter(
        method="_range",
        help_text="A preset: 7d, 30d, 90d, this-month, last-month, <N>d or all; `from`/`to` win.",
    )
    store = IdChoiceFilter(queryset=_scoped(StoreConnection))
    platform = django_filters.ChoiceFilter(choices=Platform.choices, method="_noop")
    # field_name only names the relation for the schema; filter_queryset applies these.
    campaign = IdChoiceFilter(
        field_name="attributions__campaign", queryset=_scoped(Campaign), method="_noop"
    )
    post = IdChoiceFilter(field_name="attributions__post", queryset=_scoped(Post), method="_noop")
    # A choice rather than a boolean filter: an unreadable value is a 400, not silently ignored.
    attributed = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="_noop",
        help_text="true: orders credited to social under the model; false: the others.",
    )  # fmt: skip
    coupon = django_filters.CharFilter(method="_coupon", help_text="A coupon code the order used.")
    status = django_filters.ChoiceFilter(
        choices=OrderStatus.choices, method="_status",
        help_text="cancelled wins; refunded: refunds reach the total; partially_refunded; open.",
    )  # fmt: skip
    minAmount = django_filters.NumberFilter(
        field_name="reporting_total", lookup_expr="gte",
        help_text="Smallest order total in the reporting currency.",
    )  # fmt: skip
    maxAmount = django_filters.NumberFilter(
        field_name="reporting_total", lookup_expr="lte",
        help_text="Largest order total in the reporting currency.",
    )  # fmt: skip

    class Meta:
        model = CommerceOrder
        fields = []
        form = OrderFilterForm

    @property
    def workspace(self):
        return workspace_for(self.request)

    def _noop(self, queryset, name, value):
        return queryset  # applied together in filter_queryset

    def _bound(self, day, *, after: bool) -> datetime:
        # Clamped to the reports' calendar: `to=9999-12-31` must not overflow the day after.
        day = min(max(day, EARLIEST_DAY), LATEST_DAY)
        day = day + timedelta(1) if after else day
        return datetime.combine(day, time.min, tzinfo=self.workspace.zone)

    def _from(self, queryset, name, value):
        return queryset.filter(created_at__gte=self._bound(value, after=False))

    def _to(self, queryset, name, value):
        return queryset.filter(created_at__lt=self._bound(value, after=True))

    def _range(self, queryset, name, value):
        data = self.form.cleaned_data
        if value == ALL_TIME or data.get("from") or data.get("to"):
            return queryset
        start, end = preset_range(value, timezone.localdate(timezone=self.workspace.zone))
        return self._from(self._to(queryset, name, end), name, start)

    def _status(self, queryset, name, value):
        return queryset.filter(OrderStatus.q(value))

    def _coupon(self, queryset, name, value):
        # Codes are stored lower-cased in a JSON list; match the quoted element.
        return queryset.filter(coupon_codes__icontains=f'"{value.strip().lower()}"')

    def attribution_model(self) -> str:
        return self.form.cleaned_data.get("model") or self.workspace.default_attribution_model

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        rows = RevenueAttribution.objects.filter(
            workspace=self.workspace,
            attribution_model=self.attribution_model(),
            attribution_weight__gt=0,
        )
        narrowed = False
        if data.get("platform"):
            rows, narrowed = rows.filter(platform=data["platform"]), True
        if data.get("campaign"):
            rows, narrowed = rows.filter(campaign=data["campaign"]), True
        if data.get("post"):
            rows, narrowed = rows.filter(post=data["post"]), True
        if narrowed or data.get("attributed") == "true":
            queryset = queryset.filter(pk__in=rows.values("order_id"))
        if data.get("attributed") == "false":
            queryset = queryset.exclude(pk__in=rows.values("order_id"))
        return queryset


# `from` is a Python keyword: the filter is declared as `from_` and published as `from`.
OrderFilter.base_filters = {
    ("from" if name == "from_" else name): value for name, value in OrderFilter.base_filters.items()
}


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # Feb 29
        return day.replace(year=day.year - 1, day=28)


def compared_models(workspace, params) -> tuple[str, str]:
    """`base` and `against`: two models the workspace keeps (400 naming the bad one). Defaults:
    the workspace's default model, against the first other model it keeps."""
    kept = workspace.attribution_models
    base = params.get("base") or workspace.default_attribution_model
    others = [m for m in kept if m != base]
    against = params.get("against") or (others[0] if others else base)
    errors = {
        name: f"Unknown or disabled model {value!r}; use one of {', '.join(kept)}."
        for name, value in (("base", base), ("against", against))
        if value not in kept
    }
    if errors:
        raise ValidationError(errors)
    return base, against
