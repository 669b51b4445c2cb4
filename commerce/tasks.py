"""django-q2 entry points: they take ids, load rows and call one service."""

from commerce import services
from commerce.models import WebhookDelivery


def delivery_process(delivery_id: int) -> str:
    delivery = WebhookDelivery.objects.select_related("store__workspace").get(pk=delivery_id)
    return services.delivery_process(delivery=delivery).status
