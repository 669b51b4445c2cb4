"""Reads of the commerce app: store lists, UTM health, the inbox, coupons by code."""

import statistics
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet, Value
from django.db.models.functions import Lower
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from commerce.models import CommerceOrder, Coupon, StoreConnection, WebhookDelivery
from omnisocial.models import Workspace

HEALTH_WINDOW = timedelta(days=7)
# A store is "quiet" after this many of its usual gaps between deliveries, and never sooner
# than the floor: a small shop's orders come hours apart.
QUIET_GAP_FACTOR = 4
QUIET_GAP_FLOOR = timedelta(hours=6)

SIGNAL_Q = (
    ~Q(utm_source="")
    | ~Q(utm_campaign="")
    | ~Q(utm_content="")
    | ~Q(osc_click="")
    | ~Q(fbclid="")
    | ~Q(gclid="")
    | ~Q(ttclid="")
    | ~Q(coupon_codes=[])
)


# The webhook endpoint's store, cached per process: the lookup was a query on every delivery.
# Briefly, and safely so: a rotated secret keeps the previous one valid for its grace period,
# and a delivery the cached row rejects (signature or sending shop) is checked again against a
# fresh read (`services.delivery_receive`), so a new secret is honoured at once. What the TTL
# does allow is a store deactivated, or a secret rotated with no grace, in another process to go
# on accepting for up to WEBHOOK_STORE_TTL seconds. Saving or deleting a store clears this
# process's copy at once.
WEBHOOK_STORE_TTL = 5.0  # seconds
_WEBHOOK_STORE_FIELDS = (
    "id", "workspace_id", "platform", "shop_domain", "webhook_secret", "previous_webhook_secret",
    "previous_secret_expires_at", "is_active",
)  # fmt: skip
_webhook_stores: dict[tuple[int, str], tuple[float, StoreConnection]] = {}
_webhook_stores_lock = threading.Lock()


def webhook_store(*, store_id: int, platform: str, fresh: bool = False) -> StoreConnection | None:
    """The active store a webhook URL names, or None; `fresh` skips the cache (and refills it)."""
    key = (store_id, platform)
    now = time.monotonic()
    if not fresh:
        hit = _webhook_stores.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    store = (
        StoreConnection.objects.filter(pk=store_id, platform=platform, is_active=True)
        .only(*_WEBHOOK_STORE_FIELDS)
        .first()
    )
    with _webhook_stores_lock:
        if store is None:
            _webhook_stores.pop(key, None)
        else:
            _webhook_stores[key] = (now + WEBHOOK_STORE_TTL, store)
    return store


def webhook_stores_forget(**kwargs) -> None:
    with _webhook_stores_lock:
        _webhook_stores.clear()


post_save.connect(webhook_stores_forget, sender=StoreConnection, dispatch_uid="webhook_stores")
post_delete.connect(webhook_stores_forget, sender=StoreConnection, dispatch_uid="webhook_stores")


def store_list(*, workspace: Workspace) -> QuerySet[StoreConnection]:
    return workspace.stores.annotate(order_count=Count("orders")).order_by("shop_domain")


def store_get(*, workspace: Workspace, store_id: int) -> StoreConnection:
    """The workspace's store; `StoreConnection.DoesNotExist` for another workspace's."""
    return workspace.stores.get(pk=store_id)


@dataclass
class StoreHealth:
    """Whether attribution can work for a store: orders arrive and carry signals."""

    orders_last_7_days: int
    orders_with_signal: int
    signal_share: float | None  # 0..1, None without orders
    last_order_at: datetime | None
    last_delivery_at: datetime | None
    usual_gap: timedelta | None
    warnings: list[str] = field(default_factory=list)


def store_health(*, store: StoreConnection, now: datetime | None = None) -> StoreHealth:
    now = now or timezone.now()
    recent = store.orders.filter(created_at__gte=now - HEALTH_WINDOW)
    counts = recent.aggregate(total=Count("pk"), signal=Count("pk", filter=SIGNAL_Q))
    last_order_at = store.orders.aggregate(last=Max("recorded_at"))["last"]
    last_delivery_at, usual_gap = _delivery_rhythm(store)
    total, with_signal = counts["total"], counts["signal"]
    return StoreHealth(
        orders_last_7_days=total,
        orders_with_signal=with_signal,
        signal_share=(with_signal / total) if total else None,
        last_order_at=last_order_at,
        last_delivery_at=last_delivery_at,
        usual_gap=usual_gap,
        warnings=_warnings(
            store,
            now,
            bool(total),
            bool(with_signal),
            last_delivery_at,
            usual_gap,
            last_order_at=last_order_at,
        ),  # fmt: skip
    )


def store_warnings(*, store: StoreConnection, now: datetime | None = None) -> list[str]:
    """`store_health(...).warnings` without counting the week's orders: a banner needs only to
    know whether any order, and any order with a signal, arrived (two index probes)."""
    now = now or timezone.now()
    recent = store.orders.filter(created_at__gte=now - HEALTH_WINDOW)
    has_orders = recent.exists()
    has_signal = has_orders and recent.filter(SIGNAL_Q).exists()
    last_delivery_at, usual_gap = _delivery_rhythm(store)
    last_order_at = None
    if last_delivery_at is None:
        last_order_at = (
            store.orders.order_by("-recorded_at").values_list("recorded_at", flat=True).first()
        )
    return _warnings(
        store, now, has_orders, has_signal, last_delivery_at, usual_gap,
        last_order_at=last_order_at,
    )  # fmt: skip


def _delivery_rhythm(store: StoreConnection) -> tuple[datetime | None, timedelta | None]:
    """The last verified delivery and the usual gap between the last 50."""
    arrivals = list(
        store.deliveries.filter(verified=True)
        .order_by("-received_at")
        .values_list("received_at", flat=True)[:50]
    )
    gaps = [a - b for a, b in zip(arrivals, arrivals[1:], strict=False)]
    return (arrivals[0] if arrivals else None), (statistics.median(gaps) if gaps else None)


def _warnings(
    store, now, has_orders, has_signal, last_delivery_at, usual_gap, *, last_order_at=None
) -> list[str]:
    """The store's health in sentences. Without any webhook delivery, orders that reached the
    store another way (an import, the demo) still show it works: it is quiet only once they
    stop arriving too."""
    warnings = []
    if last_delivery_at is None and last_order_at is not None:
        last_delivery_at = last_order_at
    if has_orders and not has_signal:
        warnings.append(
            "Orders arrive but none carries a UTM, click id or coupon: check that the tracking "
            "snippet is installed and that UTMs reach checkout."
        )
    if last_delivery_at is not None:
        quiet_after = max(QUIET_GAP_FLOOR, (usual_gap or timedelta(0)) * QUIET_GAP_FACTOR)
        if now - last_delivery_at > quiet_after:
            warnings.append(
                f"No delivery for {_humanise(now - last_delivery_at)}, longer than this store's "
                "usual gap: the store may have disabled the webhook after failed deliveries."
            )
    elif store.is_active:
        warnings.append("No delivery received yet: add the webhook URL to the store.")
    return warnings


def _humanise(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} hours"


def store_deliveries(*, store: StoreConnection, limit: int = 50) -> QuerySet[WebhookDelivery]:
    return store.deliveries.defer("raw_body").order_by("-received_at", "-id")[:limit]


def store_orders(*, store: StoreConnection, limit: int = 50) -> QuerySet[CommerceOrder]:
    return store.orders.order_by("-created_at")[:limit]


def coupon_by_code(*, workspace: Workspace, code: str) -> Coupon | None:
    """The workspace's coupon with `code` in any case, or None. Compared by the database's
    LOWER, as the unique constraint compares, so what this finds is what would collide."""
    return (
        Coupon.objects.alias(key=Lower("code"))
        .filter(workspace=workspace, key=Lower(Value(code.strip())))
        .first()
    )
