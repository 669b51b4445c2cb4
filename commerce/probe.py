"""A test delivery: a small event signed with the store's secret and posted over HTTP to the
store's own webhook URL, exactly as the platform signs its deliveries. It proves the URL answers
from the network (the proxy, TLS, the route) and that the stored secret verifies; the inbox keeps
it as a verified, ignored delivery of topic `omnisocial/test` (`omnisocial.test` for WooCommerce
and custom stores), which no parser turns into an order.

It does not prove the store itself sends: that is the platform's own test (the store page says
where to find it).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC

from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from commerce.models import StoreConnection, StorePlatform, WebhookDelivery
from commerce.platforms import hmac_b64

TIMEOUT = 5.0  # seconds
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
            "X-WC-Webhook-Source": f"https://{store.shop_domain}/",
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }  # fmt: skip
    return body, headers


def probe_send(*, store: StoreConnection, url: str) -> ProbeResult:
    """Posts a signed test event to `url` (the store's webhook URL) and reads its verdict back
    from the inbox. Never raises for a network failure: the error says what happened."""
    delivery_id = f"test-{uuid.uuid4().hex[:16]}"
    body, headers = _signed(store, delivery_id)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    status, error = None, ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - our URL
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, exc.read(300).decode("utf-8", "replace").strip()
    except (urllib.error.URLError, OSError) as exc:
        error = str(getattr(exc, "reason", exc))
    delivery = WebhookDelivery.objects.filter(store=store, delivery_id=delivery_id).first()
    return ProbeResult(status, error, delivery)
