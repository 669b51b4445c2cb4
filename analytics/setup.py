"""The first-run checklist: the four steps between an empty workspace and its first attributed
order, each done when its evidence is stored (not when a page was visited)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from attribution.models import AttributionTouch, TrackedLink
from commerce.models import CommerceOrder, StoreConnection
from omnisocial.models import Workspace


@dataclass(frozen=True)
class Step:
    title: str
    detail: str
    url: str
    done: bool


def first_run_steps(workspace: Workspace) -> list[Step]:
    mine = {"workspace": OuterRef("pk")}
    done = (
        Workspace.objects.filter(pk=workspace.pk)
        .annotate(
            store=Exists(StoreConnection.objects.filter(**mine)),
            link=Exists(TrackedLink.objects.filter(**mine)),
            carried=Exists(
                CommerceOrder.objects.filter(**mine).filter(~Q(osc_click="") | ~Q(utm_content=""))
            ),
            credited=Exists(AttributionTouch.objects.filter(**mine)),
        )
        .values("store", "link", "carried", "credited")
        .get()
    )  # one query: the checklist sits on the Revenue page
    return [
        Step("Connect a store",
             "Its signed webhooks bring every order in.",
             reverse("commerce:store-list"), done["store"]),
        Step("Tag a post",
             "Its link to your store gets UTMs and a short tracked link.",
             reverse("post-create"), done["link"]),
        Step("Install the snippet",
             "It carries the click into checkout; done once an order arrives carrying one.",
             reverse("attribution:tracking"), done["carried"]),
        Step("See the first attributed order",
             "An order credited to a post, with its journey explained.",
             reverse("analytics:orders"), done["credited"]),
    ]  # fmt: skip


def setup_pending(workspace: Workspace) -> list[Step] | None:
    """The checklist while a step is still to do; None once all are done. A workspace that has
    done them all is remembered in the shared cache, so its pages stop asking."""
    key = f"setup-done:{workspace.pk}"
    if cache.get(key):
        return None
    steps = first_run_steps(workspace)
    if all(step.done for step in steps):
        cache.set(key, True, timeout=None)
        return None
    return steps
