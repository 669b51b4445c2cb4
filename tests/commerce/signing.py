"""Signs test deliveries exactly as the platforms do, from the fixture bytes."""

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks.webhooks import Webhook

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def hmac_b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    store, body: bytes, *, topic="orders/create", event_id="evt-1", secret=None, shop_domain=None
) -> dict:
    return {
        "HTTP_X_SHOPIFY_HMAC_SHA256": hmac_b64(secret or store.webhook_secret, body),
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": shop_domain or store.shop_domain,
        "HTTP_X_SHOPIFY_EVENT_ID": event_id,
        "HTTP_X_SHOPIFY_WEBHOOK_ID": f"wh-{event_id}",
        "HTTP_X_SHOPIFY_TRIGGERED_AT": "2026-11-20T15:15:44.123Z",
        "HTTP_X_SHOPIFY_API_VERSION": "2025-10",
    }


def woocommerce_headers(store, body: bytes, *, topic="order.created", delivery="d-1") -> dict:
    return {
        "HTTP_X_WC_WEBHOOK_SIGNATURE": hmac_b64(store.webhook_secret, body),
        "HTTP_X_WC_WEBHOOK_TOPIC": topic,
        "HTTP_X_WC_WEBHOOK_SOURCE": f"https://{store.shop_domain}/",
        "HTTP_X_WC_WEBHOOK_RESOURCE": topic.split(".")[0],
        "HTTP_X_WC_WEBHOOK_EVENT": topic.split(".")[1],
        "HTTP_X_WC_WEBHOOK_ID": "12",
        "HTTP_X_WC_WEBHOOK_DELIVERY_ID": delivery,
    }


def custom_headers(store, body: bytes, *, message_id="msg_1") -> dict:
    timestamp = int(time.time())
    signature = Webhook(store.webhook_secret).sign(
        msg_id=message_id,
        timestamp=datetime.fromtimestamp(timestamp, tz=UTC),
        data=body.decode(),
    )
    return {
        "HTTP_WEBHOOK_ID": message_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(timestamp),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }


def url(store) -> str:
    return f"/commerce/stores/{store.pk}/webhooks/{store.platform}"
