"""A test delivery: a small event signed with the store's secret and posted over HTTP to the
store's own webhook URL, exactly as the platform signs its deliveries. It proves the URL answers
from the network (the proxy, TLS, the route) and that the stored secret verifies; the inbox keeps
it as a verified, ignored delivery of topic `omnisocial/test` (`omnisocial.test` for WooCommerce
and custom stores), which no parser turns into an order.

It does not prove the store itself sends: that is the platform's own test (the store page says
where to find it).

The URL is built from PUBLIC_BASE_URL only, never from the request's Host header (which would let
a user aim the server at any port or host); redirects are never followed; the far end's body is
never read into a page; a store gets COMMERCE_PROBE_RATE tests; and the worker sends it, with a
short timeout, so no web worker waits on a slow URL.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task
from standardwebhooks.webhooks import Webhook

from commerce.models import StoreConnection, StorePlatform, StoreProbe, WebhookDelivery
from commerce.platforms import hmac_b64
from omnisocial import outbound, ratelimit

SHOPIFY_TOPIC = "omnisocial/test"
DOTTED_TOPIC = "omnisocial.test"


@dataclass(frozen=True)
class ProbeResult:
    status_code: int | None  # None: no answer
    error: str
    delivery: WebhookDelivery | None  # the inbox row, when it was stored


def _signed(store: StoreConnection, delivery_id: str) -> tuple[bytes, dict[str, str]]:
    sent_at = timezone.now().astimezone(UTC)
    event = {"test": True, "sentAt": sent_at.isoformat(), "note": "OmniSocial test delivery"}
    headers = {"Content-Type": "application/json", "User-Agent": "OmniSocial-test-delivery"}
    if store.platform == StorePlatform.CUSTOM:
        body = json.dumps({"type": DOTTED_TOPIC, "timestamp": sent_at.isoformat(),
                           "data": event}).encode()  # fmt: skip
        signature = Webhook(store.webhook_secret).sign(
            msg_id=delivery_id, timestamp=sent_at, data=body.decode()
        )
        headers |= {"webhook-id": delivery_id, "webhook-signature": signature,
                    "webhook-timestamp": str(int(sent_at.timestamp()))}  # fmt: skip
        return body, headers
    body = json.dumps(event).encode()
    digest = hmac_b64(store.webhook_secret, body).decode()
    if store.platform == StorePlatform.SHOPIFY:
        headers |= {
            "X-Shopify-Hmac-Sha256": digest, "X-Shopify-Topic": SHOPIFY_TOPIC,
            "X-Shopify-Shop-Domain": store.shop_domain, "X-Shopify-Event-Id": delivery_id,
            "X-Shopify-Webhook-Id": delivery_id,
            "X-Shopify-Triggered-At": sent_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }  # fmt: skip
    else:  # WooCommerce
        headers |= {
            "X-WC-Webhook-Signature": digest, "X-WC-Webhook-Topic": DOTTED_TOPIC,
            "X-WC-Webhook-Source": f"{store.store_url or 'https://' + store.shop_domain}/",
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }  # fmt: skip
    return body, headers


def webhook_path(store: StoreConnection) -> str:
    return reverse("commerce:webhook", kwargs={"store_id": store.pk, "platform": store.platform})


def public_webhook_url(store: StoreConnection) -> str | None:
    """The store's webhook URL at PUBLIC_BASE_URL, or None while that setting is empty."""
    base = settings.PUBLIC_BASE_URL
    return f"{base}{webhook_path(store)}" if base else None


def probe_send(*, store: StoreConnection, url: str) -> ProbeResult:
    """Posts a signed test event to `url` (the store's webhook URL) and reads its verdict back
    from the inbox. Never follows a redirect and never reads the answer's body. Never raises
    for a network failure: the error says what happened."""
    delivery_id = f"test-{uuid.uuid4().hex[:16]}"
    body, headers = _signed(store, delivery_id)
    status, error = None, ""
    try:
        response = outbound.request(
            "POST", url, content=body, headers=headers, retries=0,
            timeout=settings.COMMERCE_PROBE_TIMEOUT,
            allow_private=True,  # PUBLIC_BASE_URL is the operator's, and may be loopback
        )  # fmt: skip
        status = response.status_code
    except outbound.OutboundError as exc:
        error = str(exc)
    delivery = WebhookDelivery.objects.filter(store=store, delivery_id=delivery_id).first()
    return ProbeResult(status, error, delivery)


def verdict(result: ProbeResult, url: str) -> tuple[str, str]:
    """(outcome, sentence) of a test delivery, in the product's own words."""
    delivery, status = result.delivery, result.status_code
    if delivery is not None and delivery.verified and status == 200:
        return StoreProbe.Outcome.WORKS, (
            "The webhook URL answered 200 and the delivery was verified with the store's "
            "secret: it works. It is in the inbox below (ignored: a test creates no order)."
        )
    if delivery is not None:
        why = delivery.error or "the delivery was not accepted"
        return StoreProbe.Outcome.FAILED, f"The webhook URL answered {status}: {why}."
    if status is None:
        reason = result.error
    elif 300 <= status < 400:
        reason = (
            f"it answered {status}, a redirect, which was not followed (a store counts a "
            "redirect as delivered and drops the order)"
        )
    else:
        reason = f"it answered {status} and nothing reached this store's inbox"
    return StoreProbe.Outcome.FAILED, (
        f"The test delivery to {url} failed: {reason}. PUBLIC_BASE_URL must be the address "
        "that reaches this app from the internet (the proxy, TLS, ALLOWED_HOSTS)."
    )


# A test still pending after this long is taken as lost (its worker died): a new one may start.
PENDING_FOR = timedelta(minutes=2)


def probe_request(*, store: StoreConnection) -> StoreProbe:
    """Queues a test delivery for the worker. Refused with a reason when PUBLIC_BASE_URL is
    not set, while one is still on its way, or beyond the store's COMMERCE_PROBE_RATE."""
    if public_webhook_url(store) is None:
        raise ValidationError(
            "Set PUBLIC_BASE_URL (the app's public address, docs/operations.md) to send a test "
            "delivery: the store's webhook URL is built from it."
        )
    since = timezone.now() - PENDING_FOR
    if store.probes.filter(outcome=StoreProbe.Outcome.PENDING, requested_at__gte=since).exists():
        raise ValidationError("A test delivery is already on its way: its verdict shows here.")
    wait = ratelimit.hit("store-probe", str(store.pk), settings.COMMERCE_PROBE_RATE)
    if wait:
        raise ValidationError(
            f"Too many test deliveries for this store: try again in {wait // 60 + 1} min."
        )
    probe = StoreProbe.objects.create(store=store)
    transaction.on_commit(
        lambda: async_task("commerce.tasks.store_probe_run", probe.pk, group="store-probe")
    )
    return probe


def probe_run(*, probe: StoreProbe) -> StoreProbe:
    """Sends the test delivery (the worker's part) and records its verdict."""
    url = public_webhook_url(probe.store)
    if url is None:
        outcome, sentence, result = StoreProbe.Outcome.FAILED, "PUBLIC_BASE_URL is not set.", None
    else:
        result = probe_send(store=probe.store, url=url)
        outcome, sentence = verdict(result, url)
    probe.outcome, probe.verdict = outcome, sentence[:400]
    probe.status_code = result.status_code if result else None
    probe.delivery_id = result.delivery.delivery_id if result and result.delivery else ""
    probe.finished_at = timezone.now()
    probe.save(update_fields=["outcome", "verdict", "status_code", "delivery_id", "finished_at"])
    return probe
