"""factory-boy factories. Posts go through the post service, the path real posts take."""

from datetime import UTC, datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from omnisocial import services
from omnisocial.models import Campaign, Membership, Post, PostMetrics, Workspace


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")
    reporting_currency = "USD"
    time_zone = "UTC"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.django.Password("correct horse battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.OWNER


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")


class PostFactory(factory.Factory):
    """Builds posts through `services.post_save`."""

    class Meta:
        model = Post

    workspace = factory.SubFactory(WorkspaceFactory)
    platform = "instagram"
    caption = factory.Sequence(lambda n: f"Post number {n}")
    link_url = ""
    external_id = factory.Sequence(lambda n: f"media-{n}")
    reference = ""
    content_type = Post.ContentType.PRODUCT
    published_at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    campaign = None
    boosted_spend = Decimal("0.00")

    @classmethod
    def _create(cls, model_class, workspace, **kwargs):
        return services.post_save(workspace=workspace, **kwargs)

    @classmethod
    def _build(cls, model_class, **kwargs):
        return model_class(**kwargs)


class PostMetricsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PostMetrics

    post = factory.SubFactory(PostFactory)
    day = datetime(2026, 11, 1, tzinfo=UTC).date()
    impressions = 1000
    reach = 700
    engagements = 50
    link_clicks = 10


class AllowedDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "attribution.AllowedDomain"

    workspace = factory.SubFactory(WorkspaceFactory)
    domain = "shop.example"


# Commerce ----------------------------------------------------------------------------------------

from commerce.models import Coupon, ExchangeRate, StoreConnection  # noqa: E402


class StoreConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreConnection

    workspace = factory.SubFactory(WorkspaceFactory)
    platform = "shopify"
    name = "Demo Boutique"
    shop_domain = "demo-boutique.myshopify.com"
    currency = "USD"
    webhook_secret = "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"


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeRate

    day = datetime(2026, 11, 20, tzinfo=UTC).date()
    from_currency = "EUR"
    to_currency = "USD"
    rate = Decimal("1.0800000000")


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    workspace = factory.SubFactory(WorkspaceFactory)
    code = factory.Sequence(lambda n: f"code{n}")


# Analytics ---------------------------------------------------------------------------------------

from attribution.models import MODEL_COLUMNS, DailyRevenue, DailyRevenueCell  # noqa: E402


class DailyRevenueFactory(factory.django.DjangoModelFactory):
    """A rollup row written directly. KPI and outlier checks only read `DailyRevenue`, so their
    tests lay the rollups they need instead of running orders through the attribution engine.
    DailyRevenue is a view: the row is written as a cell holding the one model's figures."""

    class Meta:
        model = DailyRevenue

    workspace = factory.SubFactory(WorkspaceFactory)
    attribution_model = "last-touch"
    day = datetime(2026, 11, 1, tzinfo=UTC).date()
    platform = "instagram"
    campaign = None
    post = None
    revenue = Decimal("100.00")
    orders = 1
    units = Decimal("1.00")

    @classmethod
    def _create(cls, model_class, *, attribution_model, revenue, orders, units, **keys):
        suffix = MODEL_COLUMNS[attribution_model]
        cell = DailyRevenueCell.objects.create(
            **keys, **{f"revenue_{suffix}": revenue, f"orders_{suffix}": orders,
                       f"units_{suffix}": units},
        )  # fmt: skip
        branch = list(MODEL_COLUMNS).index(attribution_model) + 1  # the view's id: cell * 8 + n
        return DailyRevenue.objects.get(pk=cell.pk * 8 + branch)
