"""Connecting a store (its address normalised per platform, its secrets checked for the
platform's shape), editing and disconnecting it, and rotating its webhook secret."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from commerce.models import (
    StoreConnection,
    StorePlatform,
    custom_store_secret,
)
from omnisocial import signals as core_signals
from omnisocial.models import Workspace

SHOPIFY_SUFFIX = ".myshopify.com"
SHOPIFY_HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
WHERE_SHOPIFY_DOMAIN = (
    "Shopify admin › Settings › Domains lists it (it ends in .myshopify.com; your own domain "
    "such as shop.example is not it)."
)


def _no_space(value: str, field: str, what: str) -> str:
    value = (value or "").strip()
    if any(ch.isspace() for ch in value):
        raise ValidationError({field: f"{what} has no spaces."})
    return value


def shopify_domain(value: str) -> str:
    """`<handle>.myshopify.com` from the handle, the myshopify domain, or an admin URL
    (`https://admin.shopify.com/store/<handle>/...` or `https://<handle>.myshopify.com/admin`).
    Shopify signs every delivery with exactly that domain (X-Shopify-Shop-Domain)."""
    raw = _no_space(value, "shop_domain", "A Shopify shop domain").lower()
    if not raw:
        raise ValidationError({"shop_domain": "The shop's myshopify domain is required."})
    if "/" not in raw and "." not in raw and ":" not in raw:
        handle = raw
    else:
        try:
            parts = urlsplit(raw if "://" in raw else f"https://{raw}")
            host = parts.hostname or ""
        except ValueError:
            host, parts = "", None
        if host == "admin.shopify.com":
            segments = [p for p in parts.path.split("/") if p]
            handle = segments[1] if len(segments) >= 2 and segments[0] == "store" else ""
        elif host.endswith(SHOPIFY_SUFFIX):
            handle = host.removesuffix(SHOPIFY_SUFFIX)
        else:
            raise ValidationError(
                {"shop_domain": f"{value.strip()!r} is not a Shopify shop: {WHERE_SHOPIFY_DOMAIN}"}
            )
    if not SHOPIFY_HANDLE.match(handle):
        raise ValidationError(
            {
                "shop_domain": f"{handle!r} is not a shop handle (letters, digits and hyphens): "
                f"{WHERE_SHOPIFY_DOMAIN}"
            }  # fmt: skip
        )
    return handle + SHOPIFY_SUFFIX


def woocommerce_site(value: str) -> tuple[str, str]:
    """(host, site URL) of a WooCommerce store from its URL: https (plain http only while
    OUTBOUND_ALLOW_PRIVATE is on, for local tests), no credentials, query or fragment. The host
    is what its deliveries name (X-WC-Webhook-Source); the URL is where its REST API lives."""
    raw = _no_space(value, "shop_domain", "A store URL")
    if not raw:
        raise ValidationError(
            {"shop_domain": "The store's URL is required (https://shop.example)."}
        )
    if "://" not in raw:
        raw = f"https://{raw}"
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ValidationError({"shop_domain": f"{value.strip()!r} is not a URL."}) from exc
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and settings.OUTBOUND_ALLOW_PRIVATE):
        raise ValidationError({"shop_domain": "The store's URL must start with https://."})
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        raise ValidationError(
            {"shop_domain": "Give the store's address only, e.g. https://shop.example."}
        )
    if "." not in host and not settings.OUTBOUND_ALLOW_PRIVATE:
        raise ValidationError({"shop_domain": f"{host!r} is not a public domain."})
    netloc = host + (f":{parts.port}" if parts.port else "")
    return host.removeprefix("www."), f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def custom_domain(value: str) -> str:
    raw = _no_space(value, "shop_domain", "A store domain").lower()
    for prefix in ("https://", "http://"):
        raw = raw.removeprefix(prefix)
    raw = raw.strip("/")
    if not raw:
        raise ValidationError({"shop_domain": "The store's domain is required."})
    return raw


SECRET_MIN = 12


def secret_check(platform: str, secret: str) -> str:
    """A pasted webhook secret, checked for its platform's shape: Shopify signs with the app's
    client secret (32 hex characters, `shpss_` before them in recent apps), WooCommerce with the
    webhook's secret (WooCommerce generates 40-odd characters); never spaces, and never shorter
    than SECRET_MIN (a secret that short was typed, not copied)."""
    secret = _no_space(secret, "webhook_secret", "A webhook secret")
    if not secret:
        raise ValidationError({"webhook_secret": "Paste the secret the store signs webhooks with."})
    where = {
        StorePlatform.SHOPIFY: "the Shopify app's client secret (Shopify admin › Settings › Apps "
        "› Develop apps › your app › API credentials)",
        StorePlatform.WOOCOMMERCE: "the webhook's secret (WooCommerce › Settings › Advanced › "
        "Webhooks)",
    }.get(platform, "the store's signing secret")
    if len(secret) < SECRET_MIN:
        raise ValidationError(
            {"webhook_secret": f"That is too short for a signing secret: paste {where}."}
        )
    return secret


def credentials_check(platform: str, api_key: str, api_secret: str) -> tuple[str, str]:
    """The store API's credentials, checked for shape: Shopify's Admin API access token
    (`shpat_…`), WooCommerce's consumer key and secret (`ck_…`, `cs_…`). Both empty: none."""
    api_key = _no_space(api_key, "api_key", "An API credential")
    api_secret = _no_space(api_secret, "api_secret", "An API credential")
    if not api_key and not api_secret:
        return "", ""
    if platform == StorePlatform.SHOPIFY:
        if not (api_key.startswith("shp") and len(api_key) >= 20):
            raise ValidationError(
                {
                    "api_key": "A Shopify Admin API access token starts with shpat_ (your app › "
                    "API credentials › Admin API access token)."
                }  # fmt: skip
            )
        return api_key, ""
    if platform == StorePlatform.WOOCOMMERCE:
        if not (api_key.startswith("ck_") and len(api_key) >= 10):
            raise ValidationError({"api_key": "A WooCommerce consumer key starts with ck_."})
        if not (api_secret.startswith("cs_") and len(api_secret) >= 10):
            raise ValidationError({"api_secret": "A WooCommerce consumer secret starts with cs_."})
        return api_key, api_secret
    raise ValidationError({"api_key": "A custom store sends its orders by webhook only."})


def store_address(platform: str, shop_domain: str) -> tuple[str, str]:
    """(shop_domain, store_url) as stored for a platform, from what the owner typed."""
    if platform == StorePlatform.SHOPIFY:
        domain = shopify_domain(shop_domain)
        return domain, f"https://{domain}"
    if platform == StorePlatform.WOOCOMMERCE:
        return woocommerce_site(shop_domain)
    return custom_domain(shop_domain), ""


class StoreTaken(ValidationError):
    """The shop is already connected to this workspace: `store` is that connection."""

    def __init__(self, store: StoreConnection):
        super().__init__(
            {"shop_domain": f"{store.shop_domain} is already connected as {store}."}, code="taken"
        )
        self.store = store


@transaction.atomic
def store_connect(
    *,
    workspace: Workspace,
    platform: str,
    shop_domain: str,
    currency: str = "",
    webhook_secret: str = "",
    name: str = "",
    api_key: str = "",
    api_secret: str = "",
) -> StoreConnection:
    """Connects a store, its address normalised and its secrets checked for the platform
    (`store_address`, `secret_check`, `credentials_check`). Custom stores get a generated
    Standard Webhooks secret. Connecting a shop the workspace already has raises StoreTaken.

    Shopify and WooCommerce sign with a secret the store owns (the app's client secret, the
    webhook's secret), which the user pastes here.
    """
    if platform not in StorePlatform.values:
        raise ValidationError({"platform": f"{platform!r} is not one of {StorePlatform.values}."})
    domain, store_url = store_address(platform, shop_domain)
    if platform == StorePlatform.CUSTOM and not webhook_secret.strip():
        secret = custom_store_secret()
    else:
        secret = secret_check(platform, webhook_secret)
    api_key, api_secret = credentials_check(platform, api_key, api_secret)
    taken = workspace.stores.filter(platform=platform, shop_domain=domain).first()
    if taken is not None:
        raise StoreTaken(taken)
    store = StoreConnection(
        workspace=workspace,
        platform=platform,
        shop_domain=domain,
        store_url=store_url,
        currency=(currency or workspace.reporting_currency).strip().upper(),
        webhook_secret=secret,
        name=name.strip(),
        api_key=api_key,
        api_secret=api_secret,
    )
    store.full_clean()
    store.save()
    return store


@transaction.atomic
def store_update(
    *,
    store: StoreConnection,
    name: str | None = None,
    currency: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
) -> list[str]:
    """Changes what an owner may change after connecting: the name, the currency while the
    store has no orders (its orders' amounts are in it), the API credentials (both given
    together; empty strings remove them). The secret changes by rotation (`store_secret_rotate`).
    Returns the fields changed."""
    store = StoreConnection.objects.select_for_update().get(pk=store.pk)
    changed = []
    if name is not None and name.strip() != store.name:
        store.name = name.strip()
        changed.append("name")
    if currency is not None and currency.strip().upper() != store.currency:
        if store.orders.exists():
            raise ValidationError(
                {"currency": "The store has orders in its currency: it can no longer change."}
            )
        store.currency = currency.strip().upper()
        changed.append("currency")
    if api_key is not None:
        key, secret = credentials_check(store.platform, api_key, api_secret or "")
        if (key, secret) != (store.api_key, store.api_secret):
            store.api_key, store.api_secret, store.api_error = key, secret, ""
            changed += ["api_key", "api_secret", "api_error"]
    if changed:
        store.full_clean()
        store.save(update_fields=changed)
    return changed


def store_disconnect(*, store: StoreConnection) -> dict[str, int]:
    """Disconnects a store: the store, its inbox and its orders (with their lines, refunds and
    attribution rows) are deleted; clicks and journeys' clicks stay, and the workspace's
    rollups are rebuilt once committed, so its figures drop the store's orders everywhere at
    once. Returns what was deleted, by name."""
    workspace_ids = {store.workspace_id}
    with transaction.atomic():
        counts = {"orders": store.orders.count(), "deliveries": store.deliveries.count()}
        store.delete()
        transaction.on_commit(
            lambda: core_signals.workspace_rows_deleted.send(
                sender=StoreConnection, workspace_ids=workspace_ids
            )
        )
    return counts


@transaction.atomic
def store_secret_rotate(
    *, store: StoreConnection, new_secret: str = "", grace: timedelta = timedelta(hours=1)
) -> StoreConnection:
    """Replaces the webhook secret; the previous one stays valid for `grace` (default one hour).

    The platforms overlap old and new secrets for a while (retries of earlier deliveries are
    signed with the old one), so cutting it at once would reject real orders.
    """
    store = StoreConnection.objects.select_for_update().get(pk=store.pk)
    if new_secret.strip() or store.platform != StorePlatform.CUSTOM:
        secret = secret_check(store.platform, new_secret)
    else:
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
