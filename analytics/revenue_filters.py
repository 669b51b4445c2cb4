"""The orders filter (django-filter), scoped to the request's workspace: the one filter GET
/commerce/orders, the Orders page and its CSV all read, with one spelling of each parameter.

Dates are the workspace's days; `range` takes the report presets (7d, 30d, this-month, ...)
and `from`/`to` given beside it win. `status` is the one order status (commerce.OrderStatus).
`platform`, `campaign`, `post` and `attributed` look at the order's RevenueAttribution rows
under `model` (the workspace's default model when absent) that carry credit (weight > 0), so an
order "from a post" means the same here as on the dashboard.
"""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from analytics import revenue
from attribution.models import AttributionModel, RevenueAttribution
from commerce.models import CommerceOrder, OrderStatus, StoreConnection
from omnisocial.models import Campaign, Platform, Post
from omnisocial.tenancy import scoped_choices as _scoped
from omnisocial.tenancy import workspace_for


class OrderFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        preset = (self.data.get("range") or "").strip()
        if preset and not revenue.is_range(preset):
            self.add_error("range", revenue.range_error(preset))
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
    store = django_filters.ModelChoiceFilter(queryset=_scoped(StoreConnection))
    platform = django_filters.ChoiceFilter(choices=Platform.choices, method="_noop")
    # field_name only names the relation for the schema; filter_queryset applies these.
    campaign = django_filters.ModelChoiceFilter(
        field_name="attributions__campaign", queryset=_scoped(Campaign), method="_noop"
    )
    post = django_filters.ModelChoiceFilter(
        field_name="attributions__post", queryset=_scoped(Post), method="_noop"
    )
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
        day = min(max(day, revenue.EARLIEST_DAY), revenue.LATEST_DAY)
        day = day + timedelta(1) if after else day
        return datetime.combine(day, time.min, tzinfo=self.workspace.zone)

    def _from(self, queryset, name, value):
        return queryset.filter(created_at__gte=self._bound(value, after=False))

    def _to(self, queryset, name, value):
        return queryset.filter(created_at__lt=self._bound(value, after=True))

    def _range(self, queryset, name, value):
        data = self.form.cleaned_data
        if value == revenue.ALL_TIME or data.get("from") or data.get("to"):
            return queryset
        start, end = revenue.preset_range(value, timezone.localdate(timezone=self.workspace.zone))
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
