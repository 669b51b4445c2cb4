"""Connecting a store and rotating its webhook secret."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from commerce.models import (
    StoreConnection,
    StorePlatform,
    custom_store_secret,
)
from omnisocial.models import Workspace


def _clean_domain(value: str) -> str:
    value = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    return value.strip("/")


@transaction.atomic
def store_connect(
    *,
    workspace: Workspace,
    platform: str,
    shop_domain: str,
    currency: str = "",
    webhook_secret: str = "",
    name: str = "",
) -> StoreConnection:
    """Connects a store. Custom stores get a generated Standard Webhooks secret.

    Shopify and WooCommerce sign with a secret the store owns (the app's client secret, the
    webhook's secret), which the user pastes here.
    """
    if platform not in StorePlatform.values:
        raise ValidationError({"platform": f"{platform!r} is not one of {StorePlatform.values}."})
    domain = _clean_domain(shop_domain)
    if not domain:
        raise ValidationError({"shop_domain": "The store's domain is required."})
    secret = webhook_secret.strip()
    if platform == StorePlatform.CUSTOM and not secret:
        secret = custom_store_secret()
    if not secret:
        raise ValidationError({"webhook_secret": "Paste the secret the store signs webhooks with."})
    store = StoreConnection(
        workspace=workspace,
        platform=platform,
        shop_domain=domain,
        currency=(currency or workspace.reporting_currency).upper(),
        webhook_secret=secret,
        name=name.strip(),
    )
    store.full_clean()
    store.save()
    return store


@transaction.atomic
def store_secret_rotate(
    *, store: StoreConnection, new_secret: str = "", grace: timedelta = timedelta(hours=1)
) -> StoreConnection:
    """Replaces the webhook secret; the previous one stays valid for `grace` (default one hour).

    The platforms overlap old and new secrets for a while (retries of earlier deliveries are
    signed with the old one), so cutting it at once would reject real orders.
    """
    store = StoreConnection.objects.select_for_update().get(pk=store.pk)
    secret = new_secret.strip()
    if not secret:
        if store.platform != StorePlatform.CUSTOM:
            raise ValidationError({"webhook_secret": "Paste the store's new secret."})
        secret = custom_store_secret()
    if grace < timedelta(0) or grace > timedelta(days=7):
        raise ValidationError({"grace": "The grace period is between 0 and 7 days."})
    store.previous_webhook_secret = store.webhook_secret
    store.previous_secret_expires_at = timezone.now() + grace
    store.webhook_secret = secret
    store.save(
        update_fields=["webhook_secret", "previous_webhook_secret", "previous_secret_expires_at"]
    )
    return store
